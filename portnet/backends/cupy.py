"""CuPy: its :class:`portnet.ops.Ops`, NumPy's without blocks or a workspace."""

from __future__ import annotations

from typing import Any

from .numpy import NumpyOps

Array = Any

__all__ = ["CupyOps"]


class CupyOps(NumpyOps):
    """NumPy's operations on the GPU (CuPy mirrors NumPy's ``out=``): in place, the sum
    over samples as a product; whole arrays (a GPU has caches of its own, and each block
    would be one more kernel launch), no workspace (CuPy's memory pool reuses device memory
    already)."""

    def __init__(self, xp: Any, *, workspace: bool = False) -> None:
        import cupy

        super().__init__(xp, workspace=False, lib=cupy)

    def block_bytes(self, x: Array) -> int | None:
        return None
