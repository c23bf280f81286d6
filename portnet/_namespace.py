"""``array_namespace`` with its answer remembered per array type.

``array_api_compat.array_namespace`` inspects its arguments afresh on every call (tens of
microseconds); inside a training step it is called for every activation and loss, which
made it a visible share of a small network's step.  An array's namespace depends only on
its type, so the answer is cached by type.

Beside it, the places where the math asks how a library runs best (still no backend
imported): :func:`samples_first`, :func:`sums_by_product`, :func:`clips_by_maximum`,
:func:`into`, :func:`in_blocks`, :func:`tanh_of` and :class:`Workspace`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import array_api_compat

__all__ = [
    "Workspace",
    "array_namespace",
    "block_bytes",
    "clips_by_maximum",
    "in_blocks",
    "into",
    "reuses_arrays",
    "samples_first",
    "sums_by_product",
    "tanh_of",
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


@functools.cache
def sums_by_product(xp: Any) -> bool:
    """Whether ``xp`` sums an ``(n, m)`` matrix over its samples (the last axis) faster as
    ``A·1`` than as ``sum(A, axis=1)``.

    True for NumPy, CuPy and Dask (its chunks are NumPy's): the product is one BLAS
    matrix-vector call, faster than their sum over the sample axis, above all for narrow
    layers (few units: short inner loops).  False for JAX, whose compiler fuses a sum into
    the elementwise operations that produce ``A`` and runs a product as a separate kernel
    (the planar net's compiled step, float32: ~13 → ~11 µs), and for torch, whose arrays
    are samples-first in memory (:func:`samples_first`): summing over the first axis in
    memory is its fast case, and its matrix-vector product of such an array is slow
    (float32 (256, 8192): sum 0.28 ms, product 1.7; (128, 10 000) 0.14 against 0.23;
    (256, 200 000) 27 against 47).
    """
    return not (array_api_compat.is_jax_namespace(xp) or array_api_compat.is_torch_namespace(xp))


@functools.cache
def clips_by_maximum(xp: Any) -> bool:
    """Whether ``xp`` bounds an array by a Python scalar ``c`` faster as ``maximum(x, c)``
    (``minimum``) than as ``clip(x, min=c)`` (``max=c``): the same numbers.

    The difference is in array-api-compat's wrappers: its ``clip`` is ~12 µs of Python a
    call for NumPy (``maximum``: ~1), assignments through boolean masks for CuPy (a masked
    read's size has to come from the device) and ``maximum`` then a cast for Dask; for
    torch, ``maximum`` and ``minimum`` turn the Python scalar into a tensor on every call
    (~20 µs, against ~4 for ``clip``, which torch runs as one ``clamp``; the planar net's
    (400, 1) ``minimum``: 5.8 µs, ``clip`` 2.2).
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


#: bytes of one block of the result in :func:`in_blocks` on NumPy: with the few other arrays
#: an elementwise chain reads, a block stays in cache for all of the chain's passes (256 KiB
#: blocks ran as fast on one machine, with 4× the calls of Python; 0.25, 0.5 and 4 MiB all
#: slower on another: tanh's backward chain on (1024, 8192) float32, 8.3 ms in 1 MiB blocks
#: against 9.1–9.9, whole 13.9)
BLOCK_BYTES = 1024 * 1024
#: the same for torch, which spreads each call over its threads at a few µs of dispatch a
#: call: the same chain 6.4 ms in 4 MiB blocks, 7.9 in 1 MiB, 13.3 in 256 KiB, whole 10.8;
#: (256, 200 000) float32 38 ms, 46 in 1 MiB blocks, whole 78
TORCH_BLOCK_BYTES = 4 * 1024 * 1024
#: results up to this size are computed whole: blocks gained nothing measurable below it,
#: and up to 16 MiB (the deep net's (256, 8192) float64) a few per cent were lost to the
#: calls of Python per block (torch: (256, 8192) float32 1.9 ms in 4 MiB blocks, 1.7 whole)
WHOLE_BYTES = 16 * 1024 * 1024


def block_bytes(x: Any) -> int | None:
    """Bytes of the blocks in which :func:`in_blocks` runs a chain of elementwise operations
    over arrays like ``x``, or None where the chain runs whole: in blocks, each block's
    passes read and write a cache, not memory.

    :data:`BLOCK_BYTES` for NumPy and :data:`TORCH_BLOCK_BYTES` for torch on the CPU, whose
    every call is one pass over the whole array (torch's spread over its threads).  None
    elsewhere: XLA fuses the chain itself, a GPU (CuPy, torch on CUDA) has caches of its
    own and each block would be one more kernel launch; array-api-strict is the conformance
    check, and Dask splits work into its chunks.
    """
    xp = array_namespace(x)
    if array_api_compat.is_numpy_namespace(xp):
        return BLOCK_BYTES
    if array_api_compat.is_torch_namespace(xp) and x.device.type == "cpu":
        return TORCH_BLOCK_BYTES
    return None


def in_blocks(f: Any, *args: Any, into: int) -> Any:
    """``f(*args)`` for ``f`` elementwise over its ``(n, m)`` result, computed block by
    block where the library runs each call as a pass over memory (:func:`block_bytes`)
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
    block = block_bytes(full)
    if block is None or full.ndim != 2:
        return f(*args)
    n, m = full.shape
    size = full.dtype.itemsize
    if n * m * size <= WHOLE_BYTES:
        return f(*args)
    xp = array_namespace(full)
    if samples_first(xp):  # (n, m) laid out as (m, n) in memory: blocks of whole columns
        cols = max(1, block // (n * size))
        rows = n if n * size <= block else max(1, block // size)
    else:  # row-major: blocks of whole rows, a row in pieces if it is larger than a block
        rows = max(1, block // (m * size))
        cols = m if m * size <= block else max(1, block // size)
    out = full  # where blocks not written in place go: a new array if the first is not
    for i in range(0, n, rows):
        for k in range(0, m, cols):
            part = [_block(a, n, m, i, rows, k, cols) for a in args]
            r = f(*part)
            if r is part[into] and out is full:
                continue  # written in place
            if i == 0 and k == 0:
                out = _empty_like_layout(xp, n, m, r, full)
            out[i : i + rows, k : k + cols] = r
    return out


#: arrays of at least this many bytes get :func:`tanh_of`'s ``expm1`` form on torch's CPU:
#: below it, its five calls cost more than they save (float32, 16 KiB: 10 µs against torch's
#: tanh 6; 64 KiB: 17 against 19; float64, 128 KiB: 26 against 34)
TANH_BY_EXPM1_BYTES = 64 * 1024


def tanh_of(x: Any, *, writable: bool) -> Any:
    """``tanh(x)``, written into ``x`` where ``writable`` allows it (as :func:`into`).

    The library's own ``tanh``, except on torch's CPU, whose ``tanh`` is slow: one element
    a nanosecond on two threads (a (1024, 8192) float32 array: 9.3–11 ms, against 1.8 for
    its ``sigmoid`` and 3.8 for its ``expm1``; float64 17 ms; with AVX-512 and with AVX2).
    There, for arrays of :data:`TANH_BY_EXPM1_BYTES` and more, it is computed as

        tanh(x) = expm1(2x) / (expm1(2x) + 2),   x first bounded above by c = 2 − ln(ε)/2,

    block by block (:func:`in_blocks`): 5.9 ms for that array in float32, 11.9 in float64.
    No cancellation anywhere: for small ``|x|`` ``expm1(2x) ≈ 2x`` keeps its digits (where
    ``2σ(2x) − 1`` would lose them), for negative ``x`` the denominator is in [1, 2], and
    above ``c`` tanh rounds to 1 while ``expm1(2c)`` is still finite (float32: c ≈ 9.97,
    float64 ≈ 20.0).  Within 2.5 ulp of tanh in both dtypes, 0.46 on average (torch's own
    tanh: 0.51 and 0.75, NumPy's 1.4 and 1.2), over 8 M normal samples × 3, half of them
    × 10⁻³; ±0, ±∞ and NaN as tanh.  Arrays autograd tracks keep torch's ``tanh`` (the
    form is written in place).
    """
    xp = array_namespace(x)
    if (
        not array_api_compat.is_torch_namespace(xp)
        or x.device.type != "cpu"
        or getattr(x, "requires_grad", False)
        or x.dtype.itemsize * math.prod(x.shape) < TANH_BY_EXPM1_BYTES
    ):
        return into(xp.tanh, x, writable=writable)
    if not writable:
        x = xp.asarray(x, copy=True)
    return in_blocks(_tanh_by_expm1, x, into=0)


def _tanh_by_expm1(x: Any) -> Any:
    """tanh(x) written into ``x``, a torch CPU array nobody else reads (see :func:`tanh_of`)."""
    xp = array_namespace(x)
    xp.clip(x, max=2 - math.log(xp.finfo(x.dtype).eps) / 2, out=x)
    x *= 2
    xp.expm1(x, out=x)  # e = expm1(2x), in [-1, expm1(2c)]
    x /= x + 2  # e / (e + 2)
    return x


def _empty_like_layout(xp: Any, n: int, m: int, block: Any, full: Any) -> Any:
    """A new ``(n, m)`` array on ``block``'s device, laid out in memory as ``block`` (the
    first block's result) is, or as ``full`` where a block with a single row or column
    does not tell: column-major where the first axis is the one contiguous in memory
    (torch's samples-first arrays), else row-major.  ``f`` on the whole arrays would have
    laid out its result so, and what reads it next (``dZ·1``, ``dZ·Xᵀ``) sums in an order
    that depends on the layout: the same layout, the same numbers."""
    like = block if min(block.shape) > 1 else full
    stride = getattr(like, "stride", None)  # torch: in elements, NumPy: .strides in bytes
    strides = stride() if callable(stride) else getattr(like, "strides", None)
    device = array_api_compat.device(block)
    if strides is not None and min(like.shape) > 1 and strides[0] < strides[1]:
        return xp.empty((m, n), dtype=block.dtype, device=device).T
    return xp.empty((n, m), dtype=block.dtype, device=device)


def _block(a: Any, n: int, m: int, i: int, rows: int, k: int, cols: int) -> Any:
    """Rows ``i:i+rows`` and columns ``k:k+cols`` of ``a`` where it has them (not where it
    broadcasts: a dimension of 1 when the result's is larger)."""
    if getattr(a, "ndim", 0) != 2:
        return a
    r = slice(i, i + rows) if a.shape[0] == n else slice(None)
    c = slice(k, k + cols) if a.shape[1] == m else slice(None)
    return a[r, c]


class Workspace:
    """Arrays that a training run reuses from one step to the next for results of the same
    shape, instead of making them afresh every step.

    NumPy and torch on the CPU take a large array (32 MiB and more, glibc's largest ``mmap``
    threshold: a (8192, 1024) float32 layer) straight from the operating system and give it
    back when it is freed, so a step that makes one pays every time for new pages, zeroed by
    the kernel (torch: a page fault per 4 KiB, 8 192 for that layer; NumPy: 2 MiB pages).
    A workspace keeps one array per ``(key, shape, dtype)`` for as long as the run holds it.
    Only for results read within one step (the forward pass's pre-activations, which
    backpropagation reads in the same step): the next step writes over them.
    """

    def __init__(self, *, matmul: Any = None) -> None:
        """``matmul``: the ``matmul(a, b, out=)`` that products of one dtype are written
        with (None: the namespace's); :meth:`portnet._backend.Backend.workspace` hands over
        the library's own where array-api-compat's wrapper costs a visible share of a
        small step."""
        self._arrays: dict[tuple[Any, ...], Any] = {}
        self._matmul = matmul

    def product(self, a: Any, b: Any, *, key: Any) -> Any:
        """``a @ b`` (2-D arrays), written into this workspace's array for ``key`` and the
        result's shape: the very numbers of ``a @ b`` (the same BLAS call).  Arrays of two
        dtypes get a new array (the namespace's ``matmul`` promotes them)."""
        xp = array_namespace(a)
        if a.dtype != b.dtype:
            return xp.matmul(a, b)
        shape = (a.shape[0], b.shape[1])
        slot = (key, shape, a.dtype)
        out = self._arrays.get(slot)
        if out is None:
            out = xp.empty(shape, dtype=a.dtype, device=array_api_compat.device(a))
            self._arrays[slot] = out
        return (self._matmul or xp.matmul)(a, b, out=out)


@functools.cache
def reuses_arrays(xp: Any) -> bool:
    """Whether a training run on ``xp`` keeps a :class:`Workspace`: NumPy and torch, whose
    ``matmul`` writes into an existing array (``out=``) and whose large arrays come from
    the operating system afresh.  Not CuPy (its memory pool already reuses device memory),
    JAX (immutable arrays), array-api-strict (the standard has no ``out=``) or Dask."""
    return array_api_compat.is_numpy_namespace(xp) or array_api_compat.is_torch_namespace(xp)
