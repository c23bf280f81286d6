"""The L-layer network: forward pass, cost, backpropagation and the gradient-descent update.

The seeds' equations (000, 002, 003, 004), written once against the array API standard and
laid out samples-first: ``X`` is ``(m, n_0)``, layer ``l`` has ``W_l`` of shape
``(n_l, n_{l-1})`` (as in the seeds and ``torch.nn.Linear``) and ``b_l`` of shape ``(n_l,)``::

    Z_l = A_{l-1} @ W_lᵀ + b_l            A_l = g_l(Z_l)            A_0 = X
    dZ_L = dJ/dZ_L                        (loss.gradient: (A_L − Y)/m)
    dW_l = dZ_lᵀ @ A_{l-1} + (λ/m)·W_l    db_l = Σ_i dZ_l
    dZ_{l-1} = (dZ_l @ W_l) ∘ g'_{l-1}(Z_{l-1})

Everything here is a pure function of its arguments: parameters are never mutated, an
update returns new ones (JAX arrays are immutable).  No backend is imported; the namespace
comes from the arrays.  How a product's ``(m, n)`` result is laid out in memory is the
library's business (:func:`_matmul`: features-first on NumPy), not the equations'.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._namespace import array_namespace, features_first, sums_by_product
from .activations import Activation, add_into
from .losses import Loss

Array = Any

__all__ = [
    "Layer",
    "Network",
    "Params",
    "combine",
    "cost",
    "cost_and_gradients",
    "gradient_descent_step",
    "output",
]


class Layer(NamedTuple):
    """Parameters of one dense layer."""

    W: Array  # (n_out, n_in)
    b: Array  # (n_out,)


Params = tuple[Layer, ...]


class Network(NamedTuple):
    """What the math needs besides the parameters (static under ``jax.jit``).

    Parameters
    ----------
    activation : Activation
        Activation of every hidden layer.
    loss : Loss
        The loss, which also fixes the output activation.
    l2 : float
        L2 regularisation strength λ: the cost gains ``λ/(2m)·Σ_l ‖W_l‖²``.
    """

    activation: Activation
    loss: Loss
    l2: float = 0.0


def _matmul(A: Array, B: Array, xp: Any) -> Array:
    """``A @ B`` for ``A`` of shape ``(m, k)`` (samples first) and ``B`` ``(k, n)``: computed
    as ``(Bᵀ @ Aᵀ)ᵀ`` where the library runs ``(m, n)`` arrays faster laid out features-first
    in memory (NumPy: see :func:`portnet._namespace.features_first`)."""
    return (B.T @ A.T).T if features_first(xp) else A @ B


def _forward(params: Params, X: Array, net: Network) -> tuple[Array, list[tuple[Array, Array]]]:
    """Return ``A_L`` and, per layer, its input ``A_{l-1}`` and pre-activation ``Z_l``."""
    xp = array_namespace(X)
    A = X  # (m, n_0)
    cache = []
    last = len(params) - 1
    for l, (W, b) in enumerate(params):
        Z = add_into(_matmul(A, W.T, xp), b)  # (m, n_{l-1}) @ (n_{l-1}, n_l) + (n_l,) -> (m, n_l)
        cache.append((A, Z))
        # a hidden Z is read again only by backprop, through its activation: activate may
        # write A into Z's memory (tanh, ReLU; Z then holds A); the output's Z is the loss's input
        A = net.loss.output.forward(Z) if l == last else net.activation.activate(Z)  # (m, n_l)
    return A, cache


def output(params: Params, X: Array, net: Network) -> Array:
    """The network's output ``A_L``, shape ``(m, n_L)`` (probabilities for cross-entropy)."""
    return _forward(params, X, net)[0]


def _l2_cost(params: Params, m: int, l2: float) -> Array | float:
    if not l2:
        return 0.0
    xp = array_namespace(params[0].W)
    return l2 / (2 * m) * sum(xp.sum(W * W) for W, _ in params)


def cost(params: Params, X: Array, Y: Array, net: Network) -> Array:
    """The cost ``J`` (0-d array): the loss averaged over samples plus the L2 term.

    ``X`` is ``(m, n_0)`` and ``Y`` is ``(m, n_L)``.
    """
    _, cache = _forward(params, X, net)
    return net.loss.value(cache[-1][1], Y) + _l2_cost(params, X.shape[0], net.l2)


def cost_and_gradients(
    params: Params, X: Array, Y: Array, net: Network, *, with_cost: bool = True
) -> tuple[Array | None, Params]:
    """Backpropagation: the cost and its gradient with respect to every ``W_l`` and ``b_l``.

    Returns
    -------
    cost : Array or None
        0-d, as :func:`cost`; None with ``with_cost=False`` (the gradient does not need
        the cost's value, so steps whose cost nobody reads skip it).
    grads : tuple of Layer
        ``grads[l].W`` has the shape of ``params[l].W``, ``grads[l].b`` that of ``params[l].b``.
    """
    xp = array_namespace(X, *params[0])
    m = X.shape[0]
    A, cache = _forward(params, X, net)
    Z = cache[-1][1]
    J = net.loss.value(Z, Y) + _l2_cost(params, m, net.l2) if with_cost else None
    dZ = net.loss.gradient(Z, A, Y)  # (m, n_L)
    # db = Σ_i dZ_i, as 1ᵀ·dZ (a matrix-vector product) where that is the faster way
    ones = xp.ones_like(dZ[:, 0]) if sums_by_product(xp) else None  # (m,); Dask: dZ's chunks
    grads = []
    for l in range(len(params) - 1, -1, -1):
        W = params[l].W  # (n_l, n_{l-1})
        A_prev = cache[l][0]  # (m, n_{l-1})
        dW = dZ.T @ A_prev  # (n_l, m) @ (m, n_{l-1}) -> (n_l, n_{l-1})
        if net.l2:
            dW = dW + (net.l2 / m) * W
        db = xp.sum(dZ, axis=0) if ones is None else ones @ dZ  # (m,) @ (m, n_l) -> (n_l,)
        grads.append(Layer(dW, db))
        if l:
            Z_prev = cache[l - 1][1]  # (m, n_{l-1}); A_prev = g(Z_prev), maybe in its memory
            # dZ_{l-1} = dA ∘ g'(Z_prev), dA = dZ @ W: (m, n_{l-1}). A_prev (a hidden
            # activation: l ≥ 1) is read for the last time here, so backprop may write into it.
            # With a single unit (n_l = 1) dA is an outer product, which BLAS runs as a matrix
            # product of inner dimension 1, far below its speed: it is handed over as its two
            # factors, (m, 1) and (1, n_{l-1}), and need not be made at all.
            if W.shape[0] == 1:
                dZ = net.activation.backprop_outer(dZ, W, Z_prev, A_prev)
            else:
                dZ = net.activation.backprop(_matmul(dZ, W, xp), Z_prev, A_prev)
    return J, tuple(reversed(grads))


def combine(
    parts: list[tuple[Array | None, Params]], *, sizes: list[int], params: Params, net: Network
) -> tuple[Array | None, Params]:
    """The cost and gradients of a batch from those of its parts (data parallelism).

    ``parts[c]`` is :func:`cost_and_gradients` of the ``sizes[c]`` samples of part ``c``
    with ``l2=0``.  The loss is a mean over samples, so the batch's cost and gradients are
    the parts' weighted by ``m_c/m``; the L2 term, which does not depend on the samples, is
    added once, as in :func:`cost_and_gradients`.
    """
    m = sum(sizes)
    J, grads = None, None
    for (J_c, g_c), m_c in zip(parts, sizes, strict=True):
        w = m_c / m
        if J_c is not None:
            J = w * J_c if J is None else J + w * J_c
        scaled = tuple(Layer(w * g.W, w * g.b) for g in g_c)
        grads = (
            scaled
            if grads is None
            else tuple(Layer(a.W + s.W, a.b + s.b) for a, s in zip(grads, scaled, strict=True))
        )
    if net.l2:
        grads = tuple(
            Layer(g.W + (net.l2 / m) * p.W, g.b) for g, p in zip(grads, params, strict=True)
        )
        if J is not None:
            J = J + _l2_cost(params, m, net.l2)
    return J, grads


def gradient_descent_step(
    params: Params, X: Array, Y: Array, net: Network, learning_rate: float
) -> tuple[Params, Array]:
    """One full-batch gradient-descent step (seed 004's ``update_parameters``).

    Returns the new parameters and the cost at the *old* parameters (computed by the
    forward pass anyway), as a 0-d array: reading it is left to the caller.
    """
    J, grads = cost_and_gradients(params, X, Y, net)
    new = tuple(
        Layer(p.W - learning_rate * g.W, p.b - learning_rate * g.b)
        for p, g in zip(params, grads, strict=True)
    )
    return new, J
