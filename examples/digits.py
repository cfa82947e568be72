"""Handwritten digits (8×8 pixels, ships with scikit-learn): softmax + cross-entropy, Adam.

Run: python examples/digits.py
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import chainrule as cr

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.2, random_state=0)

net = cr.mlp([64, 128, 10], hidden="relu", output="softmax", seed=0)
net.fit(X_train, y_train, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=1e-3),
        epochs=40, batch_size=32, seed=0, verbose=2)

predicted = net.predict(X_test).argmax(axis=1)
print(f"held-out accuracy {np.mean(predicted == y_test):.4f}")
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_test, predicted), 1)
print("confusion matrix (rows: true digit, columns: predicted)")
print(confusion)
