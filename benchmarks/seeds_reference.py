"""The seeds' hand-written NumPy training loop: the reference every benchmark figure is divided by.

Written as the course notes write it (features-first: ``X`` is ``(n_x, m)``, ``b`` is
``(n, 1)``; ``np.dot``, ``np.power``, the cost from ``np.log`` of the probabilities,
``W2ᵀ·dZ2`` as a matrix product), so that "faster than the hand-written loop" means faster
than what a reader of the course would write:

- one hidden tanh layer: seed 004's ``forward_propagation``, ``compute_cost``,
  ``backward_propagation``, ``update_parameters``;
- several hidden ReLU layers: seed 003's L-layer loop (``relu`` hidden layers, sigmoid output).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def step_shallow(parameters, X, Y, learning_rate):
    """One iteration of seed 004's ``nn_model`` loop; returns (parameters, cost)."""
    m = X.shape[1]
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
    # forward_propagation
    Z1 = np.dot(W1, X) + b1
    A1 = np.tanh(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = sigmoid(Z2)
    # compute_cost
    logprobs = np.multiply(np.log(A2), Y) + np.multiply(np.log(1 - A2), (1 - Y))
    cost = -(1.0 / m) * np.sum(logprobs)
    # backward_propagation
    dZ2 = A2 - Y
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    # update_parameters
    parameters = {
        "W1": W1 - learning_rate * dW1,
        "b1": b1 - learning_rate * db1,
        "W2": W2 - learning_rate * dW2,
        "b2": b2 - learning_rate * db2,
    }
    return parameters, cost


def step_deep(param_w, param_b, X, Y, learning_rate):
    """One iteration of seed 003's L-layer loop (ReLU hidden layers, sigmoid output, no L2)."""
    L = len(param_w) - 1  # param_w[0] is unused, as in the seed
    m = X.shape[1]
    activations = [X] + [None] * L
    prev_activations = [None] * (L + 1)
    for l in range(1, L + 1):
        prev_activations[l] = np.dot(param_w[l], activations[l - 1]) + param_b[l]
        if l < L:
            activations[l] = np.maximum(0, prev_activations[l])
        else:
            activations[l] = sigmoid(prev_activations[l])
    cost = (
        -1 / m * (np.dot(np.log(activations[L]), Y.T) + np.dot(np.log(1 - activations[L]), 1 - Y.T))
    )
    dA = np.divide(1 - Y, 1 - activations[L]) - np.divide(Y, activations[L])
    param_w, param_b = list(param_w), list(param_b)
    for l in reversed(range(1, L + 1)):
        if l == L:
            dz = dA * activations[l] * (1 - activations[l])
        else:
            dz = dA.copy()
            dz[prev_activations[l] <= 0] = 0
        dw = 1 / m * np.dot(dz, activations[l - 1].T)
        db = 1 / m * np.sum(dz, axis=1, keepdims=True)
        dA = np.dot(param_w[l].T, dz)
        param_w[l] = param_w[l] - learning_rate * dw
        param_b[l] = param_b[l] - learning_rate * db
    return param_w, param_b, float(np.squeeze(cost))


class SeedsLoop:
    """The reference as a benchmark contender: parameters from samples-first ``(W, b)`` pairs."""

    name = "seeds-numpy"

    def __init__(self, X, y, params, dtype, learning_rate):
        self.X = np.ascontiguousarray(X.T, dtype=dtype)  # (n_x, m), as in the course
        self.Y = y[None, :].astype(dtype)  # (1, m)
        self.lr = learning_rate
        self.deep = len(params) > 2
        if self.deep:
            self.w = [None] + [W.astype(dtype) for W, _ in params]
            self.b = [None] + [b[:, None].astype(dtype) for _, b in params]
        else:
            (W1, b1), (W2, b2) = params
            self.p = {
                "W1": W1.astype(dtype),
                "b1": b1[:, None].astype(dtype),
                "W2": W2.astype(dtype),
                "b2": b2[:, None].astype(dtype),
            }

    def run(self, steps):
        # The course's cost takes log(A) of probabilities that saturate to 0 or 1 on some
        # data; NumPy warns (and the cost is inf or nan) but the step is unchanged: keep
        # the benchmark's output free of those warnings.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self._run(steps)

    def _run(self, steps):
        for _ in range(steps):
            if self.deep:
                self.w, self.b, _ = step_deep(self.w, self.b, self.X, self.Y, self.lr)
            else:
                self.p, _ = step_shallow(self.p, self.X, self.Y, self.lr)
