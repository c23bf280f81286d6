"""The L-layer network: forward pass, cost, backpropagation and the gradient-descent update.

The seeds' equations (000, 002, 003, 004), written once against the array API standard.
The functions here take samples first, as scikit-learn does: ``X`` is ``(m, n_0)`` and ``Y``
``(m, n_L)``; layer ``l`` has ``W_l`` of shape ``(n_l, n_{l-1})`` (as in the seeds and
``torch.nn.Linear``) and ``b_l`` of shape ``(n_l,)``.  Inside, the layers' arrays are laid
out features-first, as in the course (``A_0 = Xᵀ``, ``(n_0, m)``)::

    Z_l = W_l @ A_{l-1} + b_l             A_l = g_l(Z_l)            A_0 = Xᵀ
    dZ_L = dJ/dZ_L                        (loss.gradient: (A_L − Y)/m)
    dW_l = dZ_l @ A_{l-1}ᵀ + (λ/m)·W_l    db_l = Σ_i dZ_l
    dZ_{l-1} = (W_lᵀ @ dZ_l) ∘ g'_{l-1}(Z_{l-1})

Features-first is how NumPy broadcasts a bias over few units fastest and how XLA runs
most of these steps faster (JAX against samples-first: the planar run 0.73× in float32,
float64 steps 0.67–0.81×; README's Speed section has the rest); the losses keep their
samples-first ``(m, k)`` interface (they are handed ``Z_Lᵀ``, a view).  How a product's
result is laid out in memory is the library's business (:func:`_matmul`: samples-first in
memory on torch), not the equations'.

Everything here is a pure function of its arguments: parameters are never mutated, an
update returns new ones (JAX arrays are immutable).  No backend is imported; the namespace
comes from the arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._namespace import Workspace, array_namespace, in_blocks, samples_first, sums_by_product
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


def _matmul(
    A: Array, B: Array, xp: Any, workspace: Workspace | None = None, key: Any = None
) -> Array:
    """``A @ B`` for a result of shape ``(n, m)`` (features first, samples along the last
    axis): computed as ``(Bᵀ @ Aᵀ)ᵀ`` where the library runs such arrays faster laid out
    samples-first in memory (torch: see :func:`portnet._namespace.samples_first`); written
    into ``workspace``'s array for ``key`` if one is given (the same numbers)."""
    flip = samples_first(xp)
    if flip:
        A, B = B.T, A.T
    P = A @ B if workspace is None else workspace.product(A, B, key=key)
    return P.T if flip else P


def _forward(
    params: Params, X: Array, net: Network, workspace: Workspace | None = None
) -> tuple[Array, list[tuple[Array, Array]]]:
    """``A_L``, samples-first ``(m, n_L)`` as the loss reads it, and, per layer, its input
    ``A_{l-1}`` and pre-activation ``Z_l``, features-first ``(n_l, m)``; ``X`` is ``(m, n_0)``.
    With a ``workspace``, every ``Z_l`` is written into its array there."""
    xp = array_namespace(X)
    A = X.T  # (n_0, m)
    cache = []
    last = len(params) - 1
    for l, (W, b) in enumerate(params):
        # (n_l, n_{l-1}) @ (n_{l-1}, m) + (n_l, 1) -> (n_l, m)
        Z = add_into(_matmul(W, A, xp, workspace, ("Z", l)), b[:, None])
        cache.append((A, Z))
        # a hidden Z is read again only by backprop, through its activation: activate may
        # write A into Z's memory (tanh, ReLU; Z then holds A); the output's Z is the loss's
        # input, and the output activation (softmax: over classes) sees it samples-first
        A = net.loss.output.forward(Z.T) if l == last else net.activation.activate(Z)
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
    return net.loss.value(cache[-1][1].T, Y) + _l2_cost(params, X.shape[0], net.l2)


def cost_and_gradients(
    params: Params,
    X: Array,
    Y: Array,
    net: Network,
    *,
    with_cost: bool = True,
    workspace: Workspace | None = None,
) -> tuple[Array | None, Params]:
    """Backpropagation: the cost and its gradient with respect to every ``W_l`` and ``b_l``.

    ``workspace`` (a training run's :class:`portnet._namespace.Workspace`, or None): the
    layers' ``(n, m)`` products are written into its arrays, reused by the next step
    (the same numbers); nothing returned is one of them.

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
    A, cache = _forward(params, X, net, workspace)
    Z = cache[-1][1].T  # (m, n_L): the loss's samples-first view
    J = net.loss.value(Z, Y) + _l2_cost(params, m, net.l2) if with_cost else None
    dZ = net.loss.gradient(Z, A, Y).T  # (n_L, m)
    # db = Σ_i dZ_i, as dZ·1 (a matrix-vector product) where that is the faster way
    ones = xp.ones_like(dZ[0, :]) if sums_by_product(xp) else None  # (m,); Dask: dZ's chunks
    grads = []
    for l in range(len(params) - 1, -1, -1):
        W = params[l].W  # (n_l, n_{l-1})
        A_prev = cache[l][0]  # (n_{l-1}, m)
        dW = dZ @ A_prev.T  # (n_l, m) @ (m, n_{l-1}) -> (n_l, n_{l-1})
        if net.l2:
            dW = dW + (net.l2 / m) * W
        db = xp.sum(dZ, axis=1) if ones is None else dZ @ ones  # (n_l, m) @ (m,) -> (n_l,)
        grads.append(Layer(dW, db))
        if l:
            Z_prev = cache[l - 1][1]  # (n_{l-1}, m); A_prev = g(Z_prev), maybe in its memory
            # dZ_{l-1} = dA ∘ g'(Z_prev), dA = W_lᵀ @ dZ: (n_{l-1}, m). A_prev (a hidden
            # activation: l ≥ 1) is read for the last time here, so backprop may write into it.
            # With a single unit (n_l = 1) dA is an outer product, which BLAS runs as a matrix
            # product of inner dimension 1, far below its speed: it is handed over as its two
            # factors, (n_{l-1}, 1) and (1, m), and need not be made at all.
            # On large batches the activation's passes run block by block (in_blocks: NumPy).
            if W.shape[0] == 1:
                dZ = in_blocks(net.activation.backprop_outer, W.T, dZ, Z_prev, A_prev, into=3)
            else:
                dA = _matmul(W.T, dZ, xp, workspace, ("dA", l))
                dZ = in_blocks(net.activation.backprop, dA, Z_prev, A_prev, into=0)
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
