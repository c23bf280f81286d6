"""``array_namespace`` with its answer remembered per array type.

``array_api_compat.array_namespace`` inspects its arguments afresh on every call (tens of
microseconds); inside a training step it is called for every activation and loss, which
made it a visible share of a small network's step.  An array's namespace depends only on
its type, so the answer is cached by type.

Beside it, the places where the math asks how a library runs best (still no backend
imported): :func:`samples_first`, :func:`sums_by_product`, :func:`clips_by_maximum`,
:func:`into` and :func:`in_blocks`.
"""

from __future__ import annotations

import functools
from typing import Any

import array_api_compat

__all__ = [
    "array_namespace",
    "blocks_elementwise",
    "clips_by_maximum",
    "in_blocks",
    "into",
    "samples_first",
    "sums_by_product",
]

_BY_TYPE: dict[type, Any] = {}


def array_namespace(*xs: Any) -> Any:
    """The array namespace shared by ``xs`` (as :func:`array_api_compat.array_namespace`)."""
    found = None
    for x in xs:
        xp = _BY_TYPE.get(type(x))
        if xp is None:
            xp = _BY_TYPE.setdefault(type(x), array_api_compat.array_namespace(x))
        if found is None:
            found = xp
        elif xp is not found:
            array_api_compat.array_namespace(*xs)  # raises the library's own error
    return found


@functools.cache
def samples_first(xp: Any) -> bool:
    """Whether ``xp`` runs a layer's ``(n, m)`` arrays (features first, as the network lays
    them out: see :mod:`portnet.network`) faster laid out samples-first in memory, as the
    transpose of a row-major ``(m, n)`` array: then ``A @ B`` is computed as ``(Bᵀ @ Aᵀ)ᵀ``,
    the same product.

    True for torch: its steps were 1.05–1.10× slower with row-major ``(n, m)`` arrays at
    784-128-1 and 784-1024-1.  False elsewhere: NumPy's elementwise loops run along the last
    axis in memory, so broadcasting a bias over a row-major ``(m, n)`` array with few units
    runs ``m`` loops of ``n`` elements (the planar net's ``Z += b``: 3.8 µs, against 1.5
    row-major ``(n, m)``); XLA picks its own layouts.
    """
    return array_api_compat.is_torch_namespace(xp)


def sums_by_product(xp: Any) -> bool:
    """Whether ``xp`` sums an ``(n, m)`` matrix over its samples (the last axis) faster as
    ``A·1`` than as ``sum(A, axis=1)``.

    True for libraries that run each call eagerly (NumPy, CuPy, torch, Dask chunks): the
    product is one BLAS matrix-vector call, faster than their sum over the sample axis,
    above all for narrow layers (few units: short inner loops).  False for JAX, whose
    compiler fuses a sum into the elementwise operations that produce ``A`` and runs a
    product as a separate kernel (the planar net's compiled step, float32: ~13 → ~11 µs).
    """
    return not array_api_compat.is_jax_namespace(xp)


@functools.cache
def clips_by_maximum(xp: Any) -> bool:
    """Whether ``xp`` bounds an array from below faster as ``maximum(x, c)`` than as
    ``clip(x, min=c)`` (the same numbers).

    The difference is in array-api-compat's wrappers: its ``clip`` is ~12 µs of Python a
    call for NumPy (``maximum``: ~1), assignments through boolean masks for CuPy (a masked
    read's size has to come from the device) and ``maximum`` then a cast for Dask; for
    torch, ``maximum`` turns the Python scalar into a tensor on every call (~20 µs, against
    ~4 for ``clip``, which torch runs as one ``clamp``).
    """
    return not array_api_compat.is_torch_namespace(xp)


def into(f: Any, x: Any, *, writable: bool) -> Any:
    """``f(x)`` for an elementwise function ``f`` of ``x``'s namespace, written into ``x``
    (``writable``: a fresh array nobody else reads) where the library's functions take an
    ``out=`` array (NumPy, CuPy, torch): no allocation, which for a large ``x`` is also no
    page faults (torch: one per 4 KiB page of a fresh array of 32 MiB or more). Elsewhere
    (JAX, array-api-strict, Dask; the standard has no ``out=``; torch under autograd) a new
    array."""
    # torch refuses out= on arrays autograd tracks (portnet's math under torch.autograd)
    if writable and _takes_out(array_namespace(x)) and not getattr(x, "requires_grad", False):
        return f(x, out=x)
    return f(x)


@functools.cache
def _takes_out(xp: Any) -> bool:
    return (
        array_api_compat.is_numpy_namespace(xp)
        or array_api_compat.is_cupy_namespace(xp)
        or array_api_compat.is_torch_namespace(xp)
    )


#: bytes of one block of the result in :func:`in_blocks`: with the few other arrays an
#: elementwise chain reads, a block stays in cache for all of the chain's passes (256 KiB
#: blocks ran as fast here, with 4× the calls of Python)
BLOCK_BYTES = 1024 * 1024
#: results up to this size are computed whole: blocks gained nothing measurable below it,
#: and up to 16 MiB (the deep net's (256, 8192) float64) a few per cent were lost to the
#: calls of Python per block
WHOLE_BYTES = 16 * 1024 * 1024


@functools.cache
def blocks_elementwise(xp: Any) -> bool:
    """Whether ``xp`` runs a chain of elementwise operations on a large array faster block
    by block (:func:`in_blocks`): each block's passes then read and write a cache, not
    memory.

    True for NumPy, whose every call is one pass over the whole array.  False elsewhere:
    XLA fuses the chain itself; torch spreads each operation over its threads, CuPy over a
    GPU; array-api-strict is the conformance check, and Dask splits work into its chunks.
    """
    return array_api_compat.is_numpy_namespace(xp)


def in_blocks(f: Any, *args: Any, into: int) -> Any:
    """``f(*args)`` for ``f`` elementwise over its ``(n, m)`` result, computed block by
    block where the library runs each call as a pass over memory (:func:`blocks_elementwise`)
    and the result is large.

    ``args[into]`` has the result's shape ``(n, m)``; every other argument broadcasts
    against it: ``(n, m)``, ``(n, 1)``, ``(1, m)``, 0-d or a Python scalar.  Each is cut into
    the block's rows and columns where it has them.  ``f`` may write its result into its
    argument ``into`` (a fresh array nobody else reads, as :func:`portnet.activations.Activation`'s
    methods do): then every block's result is already in place and ``args[into]`` is the
    result; otherwise the blocks' results are gathered into a new array.  The same numbers
    as ``f(*args)``, bit for bit (each element's operations are the same).
    """
    full = args[into]
    xp = array_namespace(full)
    if not blocks_elementwise(xp) or full.ndim != 2:
        return f(*args)
    n, m = full.shape
    row_bytes = m * full.dtype.itemsize
    if n * row_bytes <= WHOLE_BYTES:
        return f(*args)
    rows = max(1, BLOCK_BYTES // row_bytes)
    cols = m if row_bytes <= BLOCK_BYTES else max(1, BLOCK_BYTES // full.dtype.itemsize)
    out = full  # where blocks not written in place go: a new array if the first is not
    for i in range(0, n, rows):
        for k in range(0, m, cols):
            part = [_block(a, n, m, i, rows, k, cols) for a in args]
            r = f(*part)
            if r is part[into] and out is full:
                continue  # written in place
            if i == 0 and k == 0:
                out = xp.empty((n, m), dtype=r.dtype)
            out[i : i + rows, k : k + cols] = r
    return out


def _block(a: Any, n: int, m: int, i: int, rows: int, k: int, cols: int) -> Any:
    """Rows ``i:i+rows`` and columns ``k:k+cols`` of ``a`` where it has them (not where it
    broadcasts: a dimension of 1 when the result's is larger)."""
    if getattr(a, "ndim", 0) != 2:
        return a
    r = slice(i, i + rows) if a.shape[0] == n else slice(None)
    c = slice(k, k + cols) if a.shape[1] == m else slice(None)
    return a[r, c]
