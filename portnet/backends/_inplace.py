"""The plain operations' numbers with fewer allocations and passes over memory: the speed
layer shared by the libraries whose arrays can be written in place (NumPy, CuPy, torch).

:class:`InPlaceOps` gives the very numbers of :class:`portnet.ops.Ops` — each result is
made by the same operations in the same order, only written where it lands — except where
stated: a single unit's backpropagation (below), NumPy's and CuPy's sum over samples as a
product, torch's products and CPU tanh (their classes).  What it does:

- **writes in place** into arrays it made itself in the current pass (a product, a
  pre-activation, a hidden activation it computed) and into nothing else: never into the
  caller's ``X``, parameters or targets (read-only NumPy inputs work);
- runs portnet's own activations (:func:`portnet.activations.builtin`) through kernels
  that write their result into the pre-activation or the dead activation; any other
  activation through its ``forward`` and ``derivative``, the product ``dA ∘ g'`` written
  into ``dA``;
- never makes the outer product ``dA = Wᵀ·dZ`` of a single-unit layer (tanh, ReLU, leaky
  ReLU): ``(g'·dZ)·Wᵀ`` is written into the dead activation (within 4 ulp of the plain
  ``(Wᵀ·dZ)·g'``, bit for bit for ReLU);
- with ``workspace=True`` (a training run's Ops), writes each pass's products into arrays
  kept from one pass to the next (:meth:`InPlaceOps.begin` starts a pass): a large array
  made afresh each step costs fresh pages from the operating system every time;
- runs chains of elementwise passes block by block (:meth:`InPlaceOps.block_bytes`) where
  the library makes each call one pass over memory, so that a block's passes stay in cache.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import device as device_of

from ..activations import Activation, builtin
from ..ops import Ops

Array = Any

__all__ = ["InPlaceOps"]

#: the activations whose backpropagation through a single unit never makes the outer product
OUTER = ("tanh", "relu", "leaky_relu")
#: results up to this size are computed whole: blocks gained nothing measurable below it
#: (docs/speed-notes.md)
WHOLE_BYTES = 16 * 1024 * 1024


class InPlaceOps(Ops):
    """:class:`portnet.ops.Ops`' numbers, written in place (see the module docstring).

    Parameters
    ----------
    xp : namespace
        The array namespace (array-api-compat's wrapper of ``lib``).
    lib : module
        The library itself (``numpy``, ``cupy``, ``torch``): its functions that take ``out=``.
    workspace : bool
        Keep each pass's products in arrays reused by the next pass (a training run's Ops:
        one per run, used by one thread).
    """

    #: whether the library runs features-first ``(n, m)`` layers faster laid out in memory
    #: as the transpose of a row-major ``(m, n)`` array (``A @ B`` then made as ``(Bᵀ @ Aᵀ)ᵀ``)
    samples_first = False

    def __init__(self, xp: Any, lib: Any, *, workspace: bool = False) -> None:
        super().__init__(xp)
        self.lib = lib
        self.stateful = workspace
        self._arrays: dict[tuple[Any, ...], Array] | None = {} if workspace else None
        self._slot = 0

    # -- the library's spellings (overridden where a library spells them otherwise) --------------
    def block_bytes(self, x: Array) -> int | None:
        """Bytes of the blocks in which chains of elementwise passes over arrays like ``x``
        run, or None: whole (the default: a GPU's or a fusing compiler's arrays)."""
        return None

    def matmul(self, a: Array, b: Array, out: Array | None = None) -> Array:
        return self.lib.matmul(a, b, out=out)

    def tanh_(self, z: Array) -> Array:
        """``tanh(z)`` written into ``z``."""
        return self.lib.tanh(z, out=z)

    def relu_(self, z: Array) -> Array:
        """``max(z, 0)`` written into ``z``."""
        return self.lib.maximum(z, 0, out=z)

    def positive_(self, a: Array) -> Array:
        """``[a > 0]`` as 0 and 1 in ``a``'s dtype, written into ``a``."""
        return self.lib.greater(a, 0, out=a)

    def leaky_relu_(self, z: Array, slope: float) -> Array:
        """``max(z, slope·z)`` written into ``z``."""
        return self.lib.maximum(z, slope * z, out=z)

    # -- forward ---------------------------------------------------------------------------------
    def begin(self, X: Array) -> Array:
        self._slot = 0  # this pass's products go into the workspace's arrays from the first
        return X.T

    def linear(self, W: Array, A: Array, b: Array) -> Array:
        Z = self.product(W, A)  # W·A: (n, m), ours
        Z += b[:, None]
        return Z

    def activate(self, g: Activation, Z: Array) -> Array:
        kind = builtin(g)
        if kind == "tanh":
            return self.tanh_(Z)
        if kind == "relu":
            return self.relu_(Z)
        if kind == "leaky_relu":
            return self.leaky_relu_(Z, dict(g.options)["slope"])
        return g.forward(Z)  # sigmoid, identity and others' own: Z kept for their derivative

    # -- backward --------------------------------------------------------------------------------
    def backprop(self, g: Activation, W: Array, dZ: Array, Z: Array, A: Array) -> Array:
        if builtin(g) == "identity":
            return self.product(W.T, dZ)  # dA ∘ 1
        if W.shape[0] == 1 and builtin(g) in OUTER:  # dA = Wᵀ·dZ, an outer product: never made
            return self.in_blocks(self._backprop_outer(g), W.T, dZ, Z, A, into=3)
        dA = self.product(W.T, dZ)  # (k, m), ours
        return self.in_blocks(self._backprop(g), dA, Z, A, into=0)

    def _backprop(self, g: Activation) -> Any:
        """``(dA, Z, A) -> dA ∘ g'(Z)``, written into ``dA`` (and ``A``)."""
        derivative = self._derivative_(g)

        def run(dA: Array, Z: Array, A: Array) -> Array:
            dA *= derivative(Z, A)
            return dA

        return run

    def _backprop_outer(self, g: Activation) -> Any:
        """``(col, row, Z, A) -> (g'(Z)·row)·col`` for tanh, ReLU and leaky ReLU, in ``A``'s
        memory: the outer product ``col·row`` (a single unit's ``Wᵀ·dZ``) is never made.
        The plain ``(col·row)·g'`` multiplies the same three numbers in another order:
        within 4 ulp of it (bit for bit where ``g'`` is 0 or 1: ReLU)."""
        if builtin(g) == "tanh":

            def run(col: Array, row: Array, Z: Array, A: Array) -> Array:
                A *= A
                A -= 1  # a² − 1 = −(1 − a²) exactly
                A *= -row  # (1 − a²)·row, exactly: the signs' roundings mirror each other
                A *= col
                return A

            return run
        derivative = self._derivative_(g)

        def run(col: Array, row: Array, Z: Array, A: Array) -> Array:
            d = derivative(Z, A)
            d *= row
            d *= col
            return d

        return run

    def _derivative_(self, g: Activation) -> Any:
        """``(Z, A) -> g'(Z)``, written into ``A``'s memory for portnet's own activations
        (their derivative reads ``A`` alone), a new array for any other."""
        kind = builtin(g)
        if kind == "tanh":
            return _tanh_derivative_
        if kind == "relu":
            return lambda Z, A: self.positive_(A)
        if kind == "leaky_relu":
            slope = dict(g.options)["slope"]
            return lambda Z, A: _leaky_from_positive_(self.positive_(A), slope)
        return g.derivative

    # -- memory ----------------------------------------------------------------------------------
    def product(self, a: Array, b: Array) -> Array:
        """``a @ b``, ``(n, m)``, laid out as the library runs layers fastest, written into
        this pass's next workspace array where the Ops keeps a workspace: the very numbers
        of ``a @ b`` (the same library call)."""
        if self.samples_first:
            a, b = b.T, a.T
        if a.dtype != b.dtype:  # promoted: a new array (the library's matmul may not promote)
            P = self.xp.matmul(a, b)
            return P.T if self.samples_first else P
        out = None
        if self._arrays is not None:
            shape = (a.shape[0], b.shape[1])
            key = (self._slot, shape, a.dtype)
            self._slot += 1
            out = self._arrays.get(key)
            if out is None:
                out = self.xp.empty(shape, dtype=a.dtype, device=device_of(a))
                self._arrays[key] = out
        P = self.matmul(a, b, out=out)
        return P.T if self.samples_first else P

    def in_blocks(self, f: Any, *args: Array, into: int) -> Array:
        """``f(*args)`` for ``f`` elementwise over its ``(n, m)`` result, computed block by
        block where :meth:`block_bytes` says so and the result is large.

        ``args[into]`` has the result's shape; every other argument broadcasts against it
        (``(n, m)``, ``(n, 1)``, ``(1, m)``, a scalar) and is cut along with it.  ``f``
        writes each block's result into its block of ``args[into]`` (a temporary of this
        pass), which is then the result.  The very numbers of ``f(*args)``: each element's
        operations are the same.
        """
        full = args[into]
        block = self.block_bytes(full)
        if block is None or full.ndim != 2:
            return f(*args)
        n, m = full.shape
        size = full.dtype.itemsize
        if n * m * size <= WHOLE_BYTES:
            return f(*args)
        if self.samples_first:  # (n, m) laid out as (m, n) in memory: blocks of whole columns
            cols = max(1, block // (n * size))
            rows = n if n * size <= block else max(1, block // size)
        else:  # row-major: blocks of whole rows, a row in pieces if it is larger than a block
            rows = max(1, block // (m * size))
            cols = m if m * size <= block else max(1, block // size)
        for i in range(0, n, rows):
            for k in range(0, m, cols):
                part = [_block(a, n, m, i, rows, k, cols) for a in args]
                r = f(*part)
                if r is not part[into]:
                    part[into][...] = r
        return full


def _tanh_derivative_(Z: Array, A: Array) -> Array:
    """``1 − A²`` written into ``A``: the plain ``1 − a·a`` (negation is exact, and
    ``−a² + 1`` rounds as ``1 − a²``)."""
    A *= A
    A *= -1
    A += 1
    return A


def _leaky_from_positive_(mask: Array, slope: float) -> Array:
    """``[a > 0]·(1 − slope) + slope`` in ``mask``'s memory: the plain derivative's steps."""
    mask *= 1 - slope
    mask += slope
    return mask


def _block(a: Any, n: int, m: int, i: int, rows: int, k: int, cols: int) -> Any:
    """Rows ``i:i+rows`` and columns ``k:k+cols`` of ``a`` where it has them (not where it
    broadcasts: a dimension of 1 when the result's is larger)."""
    if getattr(a, "ndim", 0) != 2:
        return a
    r = slice(i, i + rows) if a.shape[0] == n else slice(None)
    c = slice(k, k + cols) if a.shape[1] == m else slice(None)
    return a[r, c]
