"""chainrule: neural networks whose forward and backward passes are written out
layer by layer in NumPy, and checked against PyTorch.

    import chainrule as cr
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=10_000, batch_size=None)
"""
from ._version import __version__
from .nn.activations import ELU, GELU, Exp, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from . import schedules
from .callbacks import (Callback, CSVLogger, EarlyStopping, History, LambdaCallback,
                        LearningRateScheduler)
from .checkpoint import ModelCheckpoint
from .nn.dropout import Dropout
from .io import load, load_with_extras, save
from .gradcheck import GradientCheckReport, gradient_check
from .diagnose import DiagnosisReport, diagnose  # cr.diagnose is the function
from .nn.layers import Dense, Layer
from .nn.losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss
from .interchange import from_torch, to_onnx, to_torch
from .network import Sequential, mlp
from .nn.normalization import BatchNorm, LayerNorm
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from .divergence import DivergenceError
from .trace import Step, Trace  # the function is net.trace (cr.trace stays the module)
from .monitor import GradientMonitor, TrainingHealthWarning
from . import callbacks, plot  # cr.callbacks.GradientMonitor, cr.plot.history(...)
from . import engine  # cr.engine.set_engine("numpy"); numba is imported only when used
from .engine import set_engine, show_config

__all__ = [
    "Layer", "Dense", "Dropout", "BatchNorm", "LayerNorm",
    "Identity", "Exp", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
    "Loss", "MSE", "MAE", "Huber", "BinaryCrossEntropy", "CrossEntropy",
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "Sequential", "mlp", "History", "Callback", "LambdaCallback", "DivergenceError",
    "EarlyStopping", "LearningRateScheduler", "CSVLogger", "ModelCheckpoint", "schedules",
    "gradient_check", "GradientCheckReport", "diagnose", "DiagnosisReport",
    "to_torch", "from_torch", "to_onnx",
    "save", "load", "load_with_extras",
    "Trace", "Step", "GradientMonitor", "TrainingHealthWarning", "callbacks", "plot",
    "engine", "set_engine", "show_config",
]
