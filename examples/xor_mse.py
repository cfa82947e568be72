"""XOR again, trained on mean squared error instead of cross-entropy.

It still learns, but slower: with MSE the output gradient keeps the factor
σ'(Z) = A(1 − A) ≤ 1/4 that sigmoid + cross-entropy cancels. Compare the losses.
Run: python examples/xor_mse.py
"""
import numpy as np

import chainrule as cr

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0])

for loss in (cr.MSE(), cr.BinaryCrossEntropy()):
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", init="normal", seed=0)
    net.fit(X, y, loss=loss, optimizer=cr.SGD(lr=0.1), epochs=10_000, batch_size=None, verbose=0)
    print(f"{loss!r:22} outputs {np.round(net.predict(X)[:, 0], 3)}")
