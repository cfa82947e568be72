"""Optimizers (one update rule each, in NumPy, with an optional compiled twin),
learning-rate schedules and gradient clipping."""
