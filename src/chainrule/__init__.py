"""chainrule: neural networks whose forward and backward passes are written out
layer by layer in NumPy, and checked against PyTorch.

    import chainrule as cr
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=10_000, batch_size=None)
"""
from .activations import ELU, GELU, Exp, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .callbacks import Callback, History, LambdaCallback
from .io import load, load_with_extras, save
from .gradcheck import GradientCheckReport, gradient_check
from .layers import Dense, Dropout, Layer
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, Loss
from .interchange import from_torch, to_onnx, to_torch
from .network import Sequential, mlp
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from .training import DivergenceError

__version__ = "0.1.0"

__all__ = [
    "Layer", "Dense", "Dropout",
    "Identity", "Exp", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
    "Loss", "MSE", "BinaryCrossEntropy", "CrossEntropy",
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "Sequential", "mlp", "History", "Callback", "LambdaCallback", "DivergenceError",
    "gradient_check", "GradientCheckReport",
    "to_torch", "from_torch", "to_onnx",
    "save", "load", "load_with_extras",
]
