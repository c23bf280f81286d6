"""NumPy: full-batch data laid out column-major, and its own :class:`portnet.ops.Ops` (in
place, in blocks, into a run's workspace)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._adapter import Adapter
from ._inplace import InPlaceOps
from ._table import TABLE

Array = Any

__all__ = ["ADAPTER", "NumpyAdapter", "NumpyOps"]

#: bytes of one block of an elementwise chain on NumPy: with the few other arrays the chain
#: reads, a block stays in cache for all of its passes (docs/speed-notes.md)
BLOCK_BYTES = 1024 * 1024


class NumpyOps(InPlaceOps):
    """NumPy's operations (:class:`portnet.backends._inplace.InPlaceOps`), and:

    - chains of elementwise passes in blocks of :data:`BLOCK_BYTES` (every NumPy call is
      one pass over memory);
    - ``db = Σ_i dZ`` as the product ``dZ·1``, one BLAS call, faster than NumPy's sum over
      the last axis for narrow layers.  Not the plain sum's numbers: both are sums of the
      same terms in other orders, within ``m·ε·Σ|dZ|`` of each other.
    """

    def __init__(self, xp: Any, *, workspace: bool = False, lib: Any = np) -> None:
        super().__init__(xp, lib, workspace=workspace)

    def block_bytes(self, x: Array) -> int | None:
        return BLOCK_BYTES

    def sum_samples(self, dZ: Array) -> Array:
        return self.matmul(dZ, self._ones(dZ))  # (n, m) @ (m,) -> (n,)

    def _ones(self, dZ: Array) -> Array:
        """``(m,)`` ones like ``dZ``'s rows: kept by a run's Ops (never written)."""
        if self._arrays is None:
            return self.xp.ones_like(dZ[0, :])
        key = ("ones", dZ.shape[1], dZ.dtype)
        ones = self._arrays.get(key)
        if ones is None:
            ones = self._arrays[key] = self.xp.ones_like(dZ[0, :])
        return ones


class NumpyAdapter(Adapter):
    """NumPy, on the CPU."""

    def parse_device(self, xp: Any, device: str | int) -> Any:
        return "cpu" if device == "cpu" else super().parse_device(xp, device)

    def full_batch(self, arrays: tuple[Array, ...]) -> tuple[Array, ...]:
        """Column-major (``Xᵀ`` row-major, the course's ``(n, m)`` layout), one copy made
        before the first step where an array is not so already: the network multiplies by
        ``Xᵀ`` and by ``X``, and OpenBLAS runs that pair faster this way
        (docs/speed-notes.md).  Not for mini-batches: a gather of rows from a column-major
        array reads every column of every row apart."""
        return tuple(np.asfortranarray(a) if a.ndim == 2 else a for a in arrays)

    def ops(self, xp: Any, *, run: bool = False) -> NumpyOps:
        return NumpyOps(xp, workspace=run)


ADAPTER = NumpyAdapter(TABLE["numpy"])
