"""XOR: the smallest problem a straight line cannot solve, learned by a 2-4-1 sigmoid network.

Binary cross-entropy, full-batch gradient descent (lr 0.1), 10 000 steps.
Run: python examples/xor.py [picture.png]
"""
import sys

import numpy as np

import chainrule as cr

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0])

net = cr.Sequential([cr.Dense(2, 4, init="normal", seed=0), cr.Sigmoid(),
                     cr.Dense(4, 1, init="normal", seed=1), cr.Sigmoid()])
history = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1),
                  epochs=10_000, batch_size=None)

for x, target, p in zip(X, y, net.predict(X)[:, 0]):
    print(f"{x} -> {p:.3f}  (target {target})")

if len(sys.argv) > 1:
    cr.plot.save(cr.plot.decision_boundary(net, X, y, history=history), sys.argv[1])
