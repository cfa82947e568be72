"""The math of chainrule: layers, activations, losses, normalization, dropout,
initial weights and penalties.

Everything here is NumPy and nothing else (a test says so): each layer's
``forward`` and ``backward`` are the textbook equations, a few lines each.
Buffer reuse, flat parameter storage, compiled kernels and training loops
live above this package, in the network, the engine and the training code.
"""
from .activations import (
                          ELU,
                          GELU,
                          Activation,
                          Exp,
                          Identity,
                          LeakyReLU,
                          ReLU,
                          Sigmoid,
                          Softmax,
                          Softplus,
                          Tanh,
)
from .dropout import Dropout
from .layers import CategoryEmbedding, Dense, Embedding, Layer
from .losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss, Poisson
from .normalization import BatchNorm, LayerNorm
from .periodic import PeriodicEmbedding
