"""Training: the loop (``fit``, ``evaluate``, the one step), batches and
sampling, callbacks and their hooks, checkpoints, the gradient-health monitor,
divergence, metrics."""
