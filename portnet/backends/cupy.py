"""CuPy: its CUDA devices, the compute type of its float32 products, and its own
:class:`portnet.ops.Ops` (NumPy's, without blocks or a workspace).

CuPy is imported where it is used, not with this module: what can be checked without a GPU
(the compute type's switch, through a stand-in) is, on machines without CuPy too.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._trees import tree_leaves
from ._adapter import Adapter
from ._table import TABLE
from .numpy import NumpyOps

Array = Any

__all__ = ["ADAPTER", "CupyAdapter", "CupyOps"]


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


class CupyAdapter(Adapter):
    """CuPy: every array on a CUDA device."""

    def parse_device(self, xp: Any, device: str | int) -> Any:
        import cupy

        return cupy.cuda.Device(int(str(device).rpartition(":")[2] or 0))

    def gpu_status(self) -> str | None:
        import cupy

        if cupy.is_available():
            return None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, insufficient driver, ...
            return f"cupy.is_available() is False: {exc}"
        return f"cupy.is_available() is False ({count} CUDA devices)"

    def on_gpu(self, device: Any) -> bool:
        return True

    def precision(self, device: Any, precision: str) -> contextlib.AbstractContextManager[None]:
        """The compute type of CuPy's float32 products (``cupy._core._routines_linalg``'s
        ``get_compute_type``/``set_compute_type``, what ``CUPY_TF32`` sets at start)."""
        linalg = importlib.import_module("cupy._core._routines_linalg")
        # its cpdef enum (cupy/_core/_routines_linalg.pxd): DEFAULT = 1, TF32 = 7
        if precision == "highest":
            want = getattr(linalg, "COMPUTE_TYPE_DEFAULT", 1)
        else:
            want = getattr(linalg, "COMPUTE_TYPE_TF32", 7)
        return compute_type(linalg.get_compute_type, linalg.set_compute_type, np.float32, want)

    def to_numpy(self, x: Array) -> np.ndarray:
        return x.get()

    def wait(self, tree: Any) -> None:
        for device in {leaf.device for leaf in tree_leaves(tree) if leaf is not None}:
            device.synchronize()

    def ops(self, xp: Any, *, run: bool = False) -> CupyOps:
        return CupyOps(xp)


@contextlib.contextmanager
def compute_type(
    get: Callable[[Any], int], put: Callable[[Any, int], None], dtype: Any, want: int
) -> Iterator[None]:
    """CuPy's compute type for ``dtype``'s products set to ``want`` inside, put back after."""
    before = get(dtype)
    if before == want:
        yield
        return
    put(dtype, want)
    try:
        yield
    finally:
        put(dtype, before)


ADAPTER = CupyAdapter(TABLE["cupy"])
