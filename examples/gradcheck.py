"""Is backpropagation right? Compare it with numerical derivatives, entry by entry.

A 784-50-10 network (sigmoid hidden, softmax output, cross-entropy) on three
random "images"; each of the ~42 000 derivatives costs two forward passes.
Run: python examples/gradcheck.py
"""
import numpy as np

import chainrule as cr

rng = np.random.default_rng(0)
net = cr.mlp([784, 50, 10], hidden="sigmoid", output="softmax", seed=0)
X, y = rng.random((3, 784)), rng.integers(0, 10, 3)

report = cr.gradient_check(net, cr.CrossEntropy(), X, y)
print(report)
