"""The L-layer network: forward pass, cost, backpropagation and the gradient-descent update.

The seeds' equations (000, 002, 003, 004), written once against the array API standard.
The functions here take samples first, as scikit-learn does: ``X`` is ``(m, n_0)`` and ``Y``
``(m, n_L)``; layer ``l`` has ``W_l`` of shape ``(n_l, n_{l-1})`` (as in the seeds and
``torch.nn.Linear``) and ``b_l`` of shape ``(n_l,)``.  Inside, the layers' arrays are laid
out features-first, as in the course (``A_0 = Xᵀ``, ``(n_0, m)``)::

    Z_l = W_l·A_{l-1} + b_l               A_l = g_l(Z_l)            A_0 = Xᵀ
    J = (1/m)·Σ_i L_i + (λ/2m)·Σ_l ‖W_l‖²
    dZ_L = dJ/dZ_L                        (loss.gradient: (A_L − Y)/m)
    dW_l = dZ_l·A_{l-1}ᵀ + (λ/m)·W_l      db_l = Σ_i dZ_l
    dZ_{l-1} = (W_lᵀ·dZ_l) ∘ g'_{l-1}(Z_{l-1})

With sample weights ``w`` (``(m,)``, ``w=``; scikit-learn's MLP) ``m`` becomes the batch's
total weight ``Σw`` throughout, and the weights enter at the output alone::

    J = (1/Σw)·Σ_i w_i·L_i + (λ/2Σw)·Σ_l ‖W_l‖²
    dZ_L = w ∘ (A_L − Y)/Σw               dW_l = dZ_l·A_{l-1}ᵀ + (λ/Σw)·W_l

(every ``w_i`` 1: the unweighted equations; ``w_i`` an integer: sample ``i`` counted
``w_i`` times; ``w_i = 0``: sample ``i`` left out).

Each operation is asked of an :class:`portnet.ops.Ops` (``ops=``; default: the plain
array-API one of ``X``'s namespace): how a library runs it fastest (in place, in blocks,
into reused memory, laid out samples-first) is its Ops' business, with the same numbers.
The losses keep their samples-first ``(m, k)`` interface (they are handed ``Z_Lᵀ``).

Everything here is a pure function of its arguments: parameters are never mutated, an
update returns new ones.  No backend is imported; the namespace comes from the arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._namespace import array_namespace
from .activations import Activation
from .losses import Loss
from .ops import Ops

Array = Any

__all__ = [
    "Layer",
    "Network",
    "Params",
    "combine",
    "cost",
    "cost_and_gradients",
    "forward",
    "gradient_descent_step",
    "output",
    "update_parameters",
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
        L2 regularisation strength λ: the cost gains ``λ/(2m)·Σ_l ‖W_l‖²`` (with sample
        weights ``λ/(2Σw)·Σ_l ‖W_l‖²``).
    """

    activation: Activation
    loss: Loss
    l2: float = 0.0


def forward(
    params: Params, X: Array, net: Network, ops: Ops | None = None
) -> tuple[Array, list[tuple[Array, Array]]]:
    """``A_L`` ``(m, n_L)``, samples first as the loss reads it, and per layer ``l`` the
    pair ``(A_{l-1}, Z_l)``, features first, that backpropagation reads."""
    ops = ops or Ops(array_namespace(X))
    A = ops.begin(X)  # A_0 = Xᵀ: (n_0, m)
    cache = []
    for l, (W, b) in enumerate(params, start=1):
        # Z_l = W_l·A_{l-1} + b_l: (n_l, n_{l-1}) @ (n_{l-1}, m) + (n_l, 1) -> (n_l, m)
        Z = ops.linear(W, A, b)
        cache.append((A, Z))
        if l < len(params):
            A = ops.activate(net.activation, Z)  # A_l = g(Z_l): (n_l, m)
    return ops.output(net.loss.output, Z), cache  # A_L = g_L(Z_L)ᵀ: (m, n_L)


def output(params: Params, X: Array, net: Network, *, ops: Ops | None = None) -> Array:
    """The network's output ``A_L``, shape ``(m, n_L)`` (probabilities for cross-entropy)."""
    return forward(params, X, net, ops)[0]


def _l2_cost(params: Params, m: int | Array, l2: float) -> Array | float:
    if not l2:
        return 0.0
    xp = array_namespace(params[0].W)
    return l2 / (2 * m) * sum(xp.sum(W * W) for W, _ in params)  # λ/(2m)·Σ_l ‖W_l‖²


def _samples(X: Array, w: Array | None) -> tuple[int | Array, dict[str, Array]]:
    """``m``: the batch's number of samples, or with weights ``w`` ``(m,)`` their total
    ``Σw`` (0-d); and the loss's keyword for the weights (none without: a loss of one's
    own may take no ``w``)."""
    if w is None:
        return X.shape[0], {}
    return array_namespace(w).sum(w), {"w": w}


def cost(
    params: Params,
    X: Array,
    Y: Array,
    net: Network,
    *,
    w: Array | None = None,
    ops: Ops | None = None,
) -> Array:
    """The cost ``J`` (0-d array): the loss averaged over samples plus the L2 term.

    ``X`` is ``(m, n_0)`` and ``Y`` is ``(m, n_L)``; ``w``: sample weights ``(m,)`` (the
    weighted average, ``m`` becoming ``Σw``: see the module docstring).
    """
    _, cache = forward(params, X, net, ops)
    Z_L = cache[-1][1]  # (n_L, m)
    m, weighted = _samples(X, w)  # m, or Σw
    return net.loss.value(Z_L.T, Y, **weighted) + _l2_cost(params, m, net.l2)


def cost_and_gradients(
    params: Params,
    X: Array,
    Y: Array,
    net: Network,
    *,
    w: Array | None = None,
    with_cost: bool = True,
    ops: Ops | None = None,
) -> tuple[Array | None, Params]:
    """Backpropagation: the cost and its gradient with respect to every ``W_l`` and ``b_l``
    (``w``: sample weights ``(m,)``, as for :func:`cost`).

    Returns
    -------
    cost : Array or None
        0-d, as :func:`cost`; None with ``with_cost=False`` (the gradient does not need
        the cost's value, so steps whose cost nobody reads skip it).
    grads : tuple of Layer
        ``grads[l].W`` has the shape of ``params[l].W``, ``grads[l].b`` that of ``params[l].b``.
    """
    ops = ops or Ops(array_namespace(X))
    m, weighted = _samples(X, w)  # m, or Σw
    A_L, cache = forward(params, X, net, ops)
    Z_L = cache[-1][1].T  # (m, n_L): the loss's samples-first view
    J = net.loss.value(Z_L, Y, **weighted) + _l2_cost(params, m, net.l2) if with_cost else None
    dZ = net.loss.gradient(Z_L, A_L, Y, **weighted).T  # (A_L − Y)/m, or w∘(A_L − Y)/Σw: (n_L, m)
    grads = []
    for l in range(len(params) - 1, -1, -1):
        W = params[l].W  # (n_l, n_{l-1})
        A_prev, _ = cache[l]  # A_{l-1}: (n_{l-1}, m)
        dW = dZ @ A_prev.T  # dW_l = dZ_l·A_{l-1}ᵀ: (n_l, m) @ (m, n_{l-1}) -> (n_l, n_{l-1})
        if net.l2:
            dW = dW + (net.l2 / m) * W  # + (λ/m)·W_l
        db = ops.sum_samples(dZ)  # db_l = Σ_i dZ_l: (n_l,)
        grads.append(Layer(dW, db))
        if l:
            Z_prev = cache[l - 1][1]  # Z_{l-1}: (n_{l-1}, m)
            dZ = ops.backprop(net.activation, W, dZ, Z_prev, A_prev)  # (W_lᵀ·dZ_l) ∘ g'(Z_{l-1})
    return J, tuple(reversed(grads))


def combine(
    parts: list[tuple[Array | None, Params]], *, sizes: list[int], params: Params, net: Network
) -> tuple[Array | None, Params]:
    """The cost and gradients of a batch from those of its parts (data parallelism).

    ``parts[c]`` is :func:`cost_and_gradients` of the ``sizes[c]`` samples of part ``c``
    with ``l2=0``.  The loss is a mean over samples, so the batch's cost and gradients are
    the parts' weighted by ``m_c/m``; the L2 term, which does not depend on the samples, is
    added once, as in :func:`cost_and_gradients`.  With sample weights, ``sizes[c]`` is
    part ``c``'s total weight ``Σw_c`` (its part a weighted mean), ``m`` the batch's ``Σw``.
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
    """One full-batch gradient-descent step (seed 004's loop body).

    Returns the new parameters and the cost at the *old* parameters (computed by the
    forward pass anyway), as a 0-d array: reading it is left to the caller.
    """
    J, grads = cost_and_gradients(params, X, Y, net)
    return update_parameters(params, grads, learning_rate), J


def update_parameters(params: Params, grads: Params, learning_rate: Any) -> Params:
    """``θ ← θ − α·dθ`` for every ``W_l`` and ``b_l`` (seed 004): new parameters."""
    return tuple(
        Layer(p.W - learning_rate * g.W, p.b - learning_rate * g.b)
        for p, g in zip(params, grads, strict=True)
    )
