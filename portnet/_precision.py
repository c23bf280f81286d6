"""How float32 matrix products are computed: one policy for every backend.

``precision="highest"`` (the default): full IEEE float32 products everywhere.  Libraries
differ in what they do unasked: JAX runs float32 products on Ampere and later GPUs in
TF32 (10-bit mantissa inputs) unless told otherwise (jax-ml/jax#12008); torch and CuPy
default to full float32, but a user (or another library in the process) may have switched
them (``torch.backends.cuda.matmul.fp32_precision = "tf32"``, ``CUPY_TF32=1``).
``precision="tf32"``: TF32 products on a CUDA GPU, through each library's own switch.

The switch is scoped (:func:`scope`): it holds for portnet's own computations (training,
predictions) and is put back as it was afterwards; nothing is flipped globally.

- JAX: ``jax.default_matmul_precision("highest" | "tensorfloat32")``, a context of the
  calling thread, read when a computation is traced (the compiled step is cached per mode).
- torch on CUDA: ``torch.backends.cuda.matmul.fp32_precision`` (``"ieee"`` | ``"tf32"``;
  torch < 2.9: ``allow_tf32``); torch on the CPU: ``torch.backends.mkldnn.matmul`` set to
  ``"ieee"`` where it asks for less.  Each is set only where it differs, then put back.
- CuPy: the compute type of its float32 products (``cupy._core._routines_linalg``'s
  ``get_compute_type``/``set_compute_type``, what ``CUPY_TF32`` sets at start).
- NumPy, array-api-strict, Dask: their products are IEEE float32 (BLAS); "tf32" is
  refused, saying why.

``NVIDIA_TF32_OVERRIDE=1`` in the environment makes the CUDA libraries use TF32 whatever
their switches say; "highest" on a GPU then refuses to run, saying so.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["DEFAULT", "PRECISIONS", "check_precision", "on_gpu", "scope"]

#: the modes ``precision=`` takes, in order of exactness
PRECISIONS = ("highest", "tf32")
DEFAULT = "highest"
#: backends whose products can run in TF32 (on a CUDA device)
_TF32 = ("cupy", "jax", "torch")


def check_precision(precision: Any, be: Any, dtype: Any = None) -> str:
    """``precision`` checked against backend ``be`` (and the run's ``dtype``); a clear
    error if the mode is unknown or ``be`` cannot honour it."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    name = be.name
    if precision == "highest":
        if on_gpu(be) and os.environ.get("NVIDIA_TF32_OVERRIDE", "").strip() == "1":
            raise RuntimeError(
                "precision='highest' asks for IEEE float32 products, but "
                "NVIDIA_TF32_OVERRIDE=1 is set, which makes the CUDA libraries use TF32 "
                "whatever portnet asks: unset it, or pass precision='tf32'"
            )
        return precision
    if name not in _TF32 or not on_gpu(be):
        where = f"backend {name!r} on device {be.device!r}"
        raise ValueError(
            f"precision='tf32' needs a CUDA GPU (CuPy, or JAX or torch on a GPU device); "
            f"{where} computes float32 products in IEEE float32 only: pass "
            "precision='highest' (the default)"
        )
    if dtype is not None and "float64" in str(getattr(dtype, "name", dtype)):
        raise ValueError(
            "precision='tf32' is a mode of float32 matrix products; this run is float64 "
            "(pass dtype='float32', or precision='highest')"
        )
    return precision


def on_gpu(be: Any) -> bool:
    """Whether backend ``be`` computes on a CUDA GPU (CuPy; JAX or torch on a GPU device)."""
    if be.name == "cupy":
        return True
    if be.name == "jax":
        return getattr(be.device, "platform", "cpu") in ("gpu", "cuda")
    if be.name == "torch":
        return getattr(be.device, "type", "cpu") == "cuda"
    return False


@contextlib.contextmanager
def scope(be: Any, precision: str) -> Iterator[None]:
    """Inside: float32 products on ``be`` in mode ``precision`` (checked by
    :func:`check_precision`); after: the library's switches as they were."""
    enter = _SCOPES.get(be.name)
    if enter is None:
        yield
        return
    with enter(be, precision):
        yield


@contextlib.contextmanager
def _jax(be: Any, precision: str) -> Iterator[None]:
    import jax

    with jax.default_matmul_precision("highest" if precision == "highest" else "tensorfloat32"):
        yield


def _torch(be: Any, precision: str) -> contextlib.AbstractContextManager[None]:
    import torch

    if getattr(be.device, "type", "cpu") == "cuda":
        matmul = torch.backends.cuda.matmul
        if hasattr(matmul, "fp32_precision"):  # torch >= 2.9
            ieee = precision == "highest"  # "none": torch's default, inherited: IEEE
            keep = ("none", "ieee") if ieee else ("tf32",)
            return _switched(matmul, "fp32_precision", "ieee" if ieee else "tf32", keep=keep)
        return _switched(matmul, "allow_tf32", precision == "tf32", keep=(precision == "tf32",))
    mkldnn = getattr(getattr(torch.backends, "mkldnn", None), "matmul", None)
    if mkldnn is None or not hasattr(mkldnn, "fp32_precision"):
        return contextlib.nullcontext()
    return _switched(mkldnn, "fp32_precision", "ieee", keep=("none", "ieee"))


@contextlib.contextmanager
def _switched(owner: Any, attribute: str, want: Any, *, keep: tuple[Any, ...]) -> Iterator[None]:
    """``owner.attribute = want`` inside, unless it reads one of ``keep`` (already so: then
    nothing is touched); put back after."""
    before = getattr(owner, attribute)
    if before in keep:
        yield
        return
    setattr(owner, attribute, want)
    try:
        yield
    finally:
        setattr(owner, attribute, before)


def _cupy(be: Any, precision: str) -> contextlib.AbstractContextManager[None]:
    import numpy as np

    linalg = importlib.import_module("cupy._core._routines_linalg")
    # its cpdef enum (cupy/_core/_routines_linalg.pxd): DEFAULT = 1, TF32 = 7
    if precision == "highest":
        want = getattr(linalg, "COMPUTE_TYPE_DEFAULT", 1)
    else:
        want = getattr(linalg, "COMPUTE_TYPE_TF32", 7)
    return _compute_type(linalg.get_compute_type, linalg.set_compute_type, np.float32, want)


@contextlib.contextmanager
def _compute_type(
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


_SCOPES: dict[str, Callable[[Any, str], contextlib.AbstractContextManager[None]]] = {
    "jax": _jax,
    "torch": _torch,
    "cupy": _cupy,
}
