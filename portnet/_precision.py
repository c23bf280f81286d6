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
import os
from typing import Any

__all__ = ["DEFAULT", "PRECISIONS", "check_precision", "on_gpu", "placed_precision", "scope"]

#: the modes ``precision=`` takes, in order of exactness
PRECISIONS = ("highest", "tf32")
DEFAULT = "highest"


def check_precision(precision: Any, be: Any, dtype: Any = None) -> str:
    """``precision`` checked against backend ``be`` (and the run's ``dtype``); a clear
    error if the mode is unknown or ``be`` cannot honour it."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision == "highest":
        if on_gpu(be) and os.environ.get("NVIDIA_TF32_OVERRIDE", "").strip() == "1":
            raise RuntimeError(
                "precision='highest' asks for IEEE float32 products, but "
                "NVIDIA_TF32_OVERRIDE=1 is set, which makes the CUDA libraries use TF32 "
                "whatever portnet asks: unset it, or pass precision='tf32'"
            )
        return precision
    if not on_gpu(be):  # every GPU library has TF32 products
        where = f"backend {be.name!r} on device {be.device!r}"
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


def placed_precision(asked: str | None, own: str, be: Any, dtype: Any) -> str:
    """The precision of a model placed on ``be`` (moved, loaded): ``asked`` if given
    (checked), else its ``own`` where ``be`` can honour it, else "highest"."""
    if asked is not None:
        return check_precision(asked, be, dtype)
    try:
        return check_precision(own, be, dtype)
    except ValueError:
        return DEFAULT


def on_gpu(be: Any) -> bool:
    """Whether backend ``be`` computes on a CUDA GPU (CuPy; JAX or torch on a GPU device)."""
    return be.adapter.on_gpu(be.device)


def scope(be: Any, precision: str) -> contextlib.AbstractContextManager[None]:
    """Inside: float32 products on ``be`` in mode ``precision`` (checked by
    :func:`check_precision`); after: the library's switches as they were (each library's
    switch is its adapter's: :mod:`portnet.backends`)."""
    return be.adapter.precision(be.device, precision)
