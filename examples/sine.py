"""Fit y = 20 sin(2πx) with a 1-25-1 network: sigmoid hidden units, a linear output.

U[0, 1) initial weights, MSE, full-batch gradient descent, 4000 steps. The
learning rate 0.1 sits just below the stability limit of gradient descent
here (see chainrule/explain/demo_learning.py for why).
Run: python examples/sine.py [picture.png]
"""
import sys

import numpy as np

import chainrule as cr

x = np.arange(100).reshape(-1, 1) / 100
y = 20 * np.sin(2 * np.pi * x)

net = cr.Sequential([cr.Dense(1, 25, init="uniform", seed=0), cr.Sigmoid(),
                     cr.Dense(25, 1, init="uniform", seed=1)])
history = net.fit(x, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), epochs=4000, batch_size=None)
print(f"final MSE {history['loss'][-1]:.4f}")

if len(sys.argv) > 1:
    cr.plot.save(cr.plot.fit_1d(net, x, y, history=history), sys.argv[1])
