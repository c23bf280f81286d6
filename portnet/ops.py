"""The operations the equations are written with, and how an array library runs them.

:mod:`portnet.network` writes the course's forward and backward passes once, calling the
handful of operations of an :class:`Ops` it is handed::

    A = ops.begin(X)                      A_0 = Xᵀ                     (n_0, m)
    Z = ops.linear(W, A, b)               Z_l = W_l·A_{l-1} + b_l      (n_l, m)
    A = ops.activate(g, Z)                A_l = g(Z_l)                 (n_l, m)
    A_L = ops.output(g, Z)                A_L = g(Z_Lᵀ), samples first (m, n_L)
    dZ = ops.backprop(g, W, dZ, Z, A)     dZ_{l-1} = (W_lᵀ·dZ_l) ∘ g'(Z_{l-1})
    db = ops.sum_samples(dZ)              db_l = Σ_i dZ_l[:, i]        (n_l,)

:class:`Ops` spells them in the plain array-API way: every backend can run it, it makes a
new array for every result and never writes into an argument.  A library whose arrays can
be written in place, or which runs some spelling faster, has an ``Ops`` of its own
(:mod:`portnet.backends`) that gives the same numbers (bit for bit, or within the ulps its
docstring states) with fewer allocations and passes over memory; its tests hold it to this
one.  A new backend needs no ``Ops`` of its own to be correct.
"""

from __future__ import annotations

from typing import Any

Array = Any

__all__ = ["Ops"]


class Ops:
    """The plain array-API operations of the equations, for namespace ``xp``.

    Stateless: two ``Ops`` of one class and namespace are equal (one ``jax.jit`` cache
    entry).  A subclass that keeps state (a training run's workspace) compares by identity.

    Parameters
    ----------
    xp : namespace
        The array namespace of the arrays it is handed.
    """

    #: whether this Ops keeps state between calls (then compared by identity)
    stateful = False

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __eq__(self, other: object) -> bool:
        if self.stateful:
            return self is other
        return type(other) is type(self) and other.xp is self.xp

    def __hash__(self) -> int:
        return id(self) if self.stateful else hash((type(self), id(self.xp)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self.xp, '__name__', self.xp)})"

    # -- forward ---------------------------------------------------------------------------------
    def begin(self, X: Array) -> Array:
        """``A_0 = Xᵀ``: ``(m, n_0) -> (n_0, m)``, the layers' features-first layout.

        Starts a pass over the layers: arrays an Ops made for the previous pass may be
        reused from here on (none here).
        """
        return X.T

    def linear(self, W: Array, A: Array, b: Array) -> Array:
        """``Z = W·A + b``: ``(n, k) @ (k, m) + (n, 1) -> (n, m)``, a new array."""
        return self.product(W, A) + b[:, None]

    def product(self, a: Array, b: Array) -> Array:
        """A layer's matrix product ``a @ b``, ``(n, k) @ (k, m) -> (n, m)``: what
        :meth:`linear` and :meth:`backprop` multiply with."""
        return a @ b

    def activate(self, g: Any, Z: Array) -> Array:
        """``A = g(Z)`` for a hidden layer, elementwise: ``(n, m) -> (n, m)``.

        ``Z`` is this pass's own (made by :meth:`linear`) and is read again only by
        :meth:`backprop`, which is handed it with ``A``: a faster Ops may write ``A`` into
        ``Z``'s memory where ``g``'s derivative reads ``A`` alone.
        """
        return g.forward(Z)

    def output(self, g: Any, Z: Array) -> Array:
        """``A_L = g(Z_Lᵀ)``: the output activation, samples first ``(m, n_L)`` as the loss
        reads it (softmax normalises each row).  ``Z`` is left as it is: the loss reads it."""
        return g.forward(Z.T)

    # -- backward --------------------------------------------------------------------------------
    def backprop(self, g: Any, W: Array, dZ: Array, Z: Array, A: Array) -> Array:
        """``dZ_prev = (Wᵀ·dZ) ∘ g'(Z)``: through layer ``W`` ``(n, k)`` and the activation
        ``g`` of the layer below (``Z``, ``A = g(Z)``: ``(k, m)``), ``(n, m) -> (k, m)``.

        ``Z`` and ``A`` are read here for the last time: a faster Ops may write into them.
        """
        dA = self.product(W.T, dZ)  # (k, n) @ (n, m) -> (k, m)
        return dA * g.derivative(Z, A)

    def sum_samples(self, dZ: Array) -> Array:
        """``db = Σ_i dZ[:, i]``: ``(n, m) -> (n,)``."""
        return self.xp.sum(dZ, axis=1)
