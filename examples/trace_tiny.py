"""The chain-rule ledger of a tiny network whose every number can be checked by hand.

2 inputs -> Dense(2, 2) -> ReLU -> Dense(2, 1) -> output, one sample, MSE.
docs/backprop.md walks through this printout.
Run: python examples/trace_tiny.py [ledger.html]
"""
import sys

import numpy as np

import chainrule as cr

net = cr.Sequential([cr.Dense(2, 2), cr.ReLU(), cr.Dense(2, 1), cr.Identity()], dtype=np.float64)
net[0].W = [[1.0, -1.0], [0.5, 1.0]]
net[0].b = [0.0, -2.0]
net[2].W = [[1.0], [3.0]]
net[2].b = [0.5]

X = np.array([[1.0, 2.0]])
y = np.array([1.5])
print(net.trace(X, y, cr.MSE()))

# the fused pair: a sigmoid output with binary cross-entropy starts at dZ = (A − Y)/m
logistic = cr.Sequential([cr.Dense(2, 1), cr.Sigmoid()], dtype=np.float64)
logistic[0].W = [[0.0], [0.0]]
print()
print(logistic.trace(X, [1], cr.BinaryCrossEntropy()))

if len(sys.argv) > 1:
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write(net.trace(X, y, cr.MSE()).to_html())
