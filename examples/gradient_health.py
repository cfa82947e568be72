"""Training health: a 10-layer sigmoid stack with N(0, 1) weights, watched by GradientMonitor.

The monitor warns (in plain words, naming the layer) that the gradients vanish
on their way back; the gradient-flow picture shows the first layers' gradient
norms decades below the last one's.
Run: python examples/gradient_health.py [picture.png]
"""
import sys

import numpy as np

import chainrule as cr

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 8))
y = (X[:, 0] * X[:, 1] > 0).astype(int)

layers = []
for i in range(10):
    layers += [cr.Dense(8, 8, init="normal", seed=i), cr.Sigmoid()]
net = cr.Sequential(layers + [cr.Dense(8, 1, init="normal", seed=10), cr.Sigmoid()])

history = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=20, seed=0,
                  batch_size=32, verbose=0, callbacks=[cr.callbacks.GradientMonitor(every=5)])
for name, norms in history.gradients["grad_norm"].items():
    print(f"{name:18} last gradient norm {norms[-1]:.2e}")

if len(sys.argv) > 1:
    cr.plot.save(cr.plot.gradient_flow(history), sys.argv[1])
