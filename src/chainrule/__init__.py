"""chainrule: neural networks whose forward and backward passes are written out
layer by layer in NumPy, and checked against PyTorch.

    import chainrule as cr
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=10_000, batch_size=None)
"""
from . import _moved
from ._version import __version__

_moved.install()  # chainrule.io, chainrule.training, ... : the paths before the packages
from . import engine  # cr.engine.set_engine("numpy"); numba is imported only when used
from .engine import set_engine, show_config
from .files.model import load, load_with_extras, save
from .network.sequential import Sequential, mlp
from .nn.activations import ELU, GELU, Exp, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .nn.dropout import Dropout
from .nn.layers import CategoryEmbedding, Dense, Embedding, Layer
from .nn.losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss, Poisson
from .nn.normalization import BatchNorm, LayerNorm
from .nn.periodic import PeriodicEmbedding
from .optim import schedules
from .optim.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from .train import callbacks  # cr.callbacks.GradientMonitor
from .train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
)
from .train.checkpoint import ModelCheckpoint
from .train.divergence import DivergenceError
from .train.monitor import GradientMonitor, TrainingHealthWarning

__all__ = [
    "ELU",
    "GELU",
    "MAE",
    "MSE",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "BatchNorm",
    "BinaryCrossEntropy",
    "CSVLogger",
    "Callback",
    "CategoryEmbedding",
    "CrossEntropy",
    "Dense",
    "DiagnosisReport",
    "DivergenceError",
    "Dropout",
    "EarlyStopping",
    "Embedding",
    "Exp",
    "GradientCheckReport",
    "GradientMonitor",
    "History",
    "Huber",
    "Identity",
    "LambdaCallback",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "LearningRateScheduler",
    "Loss",
    "ModelCheckpoint",
    "Optimizer",
    "PeriodicEmbedding",
    "Poisson",
    "RMSprop",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Step",
    "Tanh",
    "Trace",
    "TrainingHealthWarning",
    "callbacks",
    "diagnose",
    "engine",
    "from_torch",
    "gradient_check",
    "load",
    "load_with_extras",
    "mlp",
    "plot",
    "save",
    "schedules",
    "set_engine",
    "show_config",
    "to_onnx",
    "to_torch",
]


#: Imported on first use (PEP 562), so that a command that needs none of them (``chainrule
#: predict``, ``--version``) does not pay for them: name -> (module, attribute; None for the module).
LAZY = {
    "explain": (".explain", None),                     # the package, as before it was lazy
    "plot": (".explain.plot", None),                   # cr.plot.history(...)
    "diagnose": (".explain.diagnose", "diagnose"),     # cr.diagnose is the function
    "DiagnosisReport": (".explain.diagnose", "DiagnosisReport"),
    "gradient_check": (".explain.gradcheck", "gradient_check"),
    "GradientCheckReport": (".explain.gradcheck", "GradientCheckReport"),
    "Step": (".explain.trace", "Step"),                # the function is net.trace
    "Trace": (".explain.trace", "Trace"),
    "from_torch": (".files.interchange", "from_torch"),
    "to_torch": (".files.interchange", "to_torch"),
    "to_onnx": (".files.interchange", "to_onnx"),
}


def __getattr__(name):
    """The names of :data:`LAZY` on first use; ``cr.io``, ``cr.training``, ``cr.trace``, ...:
    the modules by their old names."""
    if name in LAZY:
        import importlib
        module, attribute = LAZY[name]
        value = importlib.import_module(module, __name__)
        value = value if attribute is None else getattr(value, attribute)
        globals()[name] = value  # once: later lookups don't come here
        return value
    if name in _moved.MOVED:
        return _moved.module(name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
