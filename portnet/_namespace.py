"""``array_namespace`` with its answer remembered per array type.

``array_api_compat.array_namespace`` inspects its arguments afresh on every call (tens of
microseconds); inside a training step it is called for every activation and loss, which
made it a visible share of a small network's step.  An array's namespace depends only on
its type, so the answer is cached by type.

Beside it, the places where the math asks how a library runs best (still no backend
imported): :func:`samples_first`, :func:`sums_by_product`, :func:`clips_by_maximum` and
:func:`into`.
"""

from __future__ import annotations

import functools
from typing import Any

import array_api_compat

__all__ = ["array_namespace", "clips_by_maximum", "into", "samples_first", "sums_by_product"]

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
