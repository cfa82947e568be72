"""The network: ``Sequential`` (the layers in order, the forward and backward
walk), ``mlp`` (a network from layer sizes and names), the flat parameter
buffers it binds its layers to, and its modes (fitting, evaluating)."""
from .sequential import Sequential, mlp

__all__ = ["Sequential", "mlp"]
