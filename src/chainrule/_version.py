"""The version, in one place: ``cr.__version__``, model files and ``--version`` read it."""
__version__ = "0.1.0"
