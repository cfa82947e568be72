"""chainrule: neural networks whose forward and backward passes are written out
layer by layer in NumPy, and checked against PyTorch.

    import chainrule as cr
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=10_000, batch_size=None)
"""
from ._version import __version__
from . import _moved

_moved.install()  # chainrule.io, chainrule.training, ... : the paths before the packages
from .nn.activations import ELU, GELU, Exp, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .optim import schedules
from .train.callbacks import (Callback, CSVLogger, EarlyStopping, History, LambdaCallback,
                        LearningRateScheduler)
from .train.checkpoint import ModelCheckpoint
from .nn.dropout import Dropout
from .files.model import load, load_with_extras, save
from .explain.gradcheck import GradientCheckReport, gradient_check
from .explain.diagnose import DiagnosisReport, diagnose  # cr.diagnose is the function
from .nn.layers import CategoryEmbedding, Dense, Embedding, Layer
from .nn.losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss, Poisson
from .files.interchange import from_torch, to_onnx, to_torch
from .network.sequential import Sequential, mlp
from .nn.normalization import BatchNorm, LayerNorm
from .optim.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from .train.divergence import DivergenceError
from .explain.trace import Step, Trace  # the function is net.trace (cr.trace stays the module)
from .train.monitor import GradientMonitor, TrainingHealthWarning
from .train import callbacks  # cr.callbacks.GradientMonitor
from .explain import plot  # cr.plot.history(...)
from . import engine  # cr.engine.set_engine("numpy"); numba is imported only when used
from .engine import set_engine, show_config

__all__ = [
    "Layer", "Dense", "Embedding", "CategoryEmbedding", "Dropout", "BatchNorm", "LayerNorm",
    "Identity", "Exp", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
    "Loss", "MSE", "MAE", "Huber", "BinaryCrossEntropy", "CrossEntropy", "Poisson",
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "Sequential", "mlp", "History", "Callback", "LambdaCallback", "DivergenceError",
    "EarlyStopping", "LearningRateScheduler", "CSVLogger", "ModelCheckpoint", "schedules",
    "gradient_check", "GradientCheckReport", "diagnose", "DiagnosisReport",
    "to_torch", "from_torch", "to_onnx",
    "save", "load", "load_with_extras",
    "Trace", "Step", "GradientMonitor", "TrainingHealthWarning", "callbacks", "plot",
    "engine", "set_engine", "show_config",
]


def __getattr__(name):
    """``cr.io``, ``cr.training``, ``cr.trace``, ...: the modules by their old names."""
    if name in _moved.MOVED:
        return _moved.module(name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
