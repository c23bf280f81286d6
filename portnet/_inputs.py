"""The data the entry points take, made arrays and checked in one place for training and
predictions.

:func:`as_data` turns what a user hands over as ``X`` or ``y`` into an array: an array
library's own stays as it is (a torch tensor detached from autograd), anything else becomes
NumPy: lists (ragged ones refused, naming the data), pandas objects (nullable numeric and
boolean columns as numbers, a missing value NaN), masked arrays (refused when a value is
masked: the mask would be lost).  :func:`check_real` refuses ``X`` of complex numbers, text
or objects; :func:`check_finite` and :func:`finite` refuse NaN and infinity.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import array_api_compat as aac
import numpy as np

from ._backend import Backend, _float_name, _is_array, to_numpy

Array = Any

__all__ = ["as_data", "check_finite", "check_real", "finite"]


def as_data(x: Any, what: str) -> Any:
    """``x`` (``what``: "X" or "y") as an array: an array library's own as it is (torch:
    detached, so that nothing portnet computes from it carries gradients), else NumPy;
    labels ``y`` of Python objects (text) checked for missing ones."""
    x = _array(x, what)
    if what == "y" and isinstance(x, np.ndarray) and x.dtype.kind == "O":
        _check_no_missing(x)
    return x


def _array(x: Any, what: str) -> Any:
    """:func:`as_data`'s array, before the labels' check."""
    if isinstance(x, np.ma.MaskedArray):
        return _unmasked(x, what)
    if _is_array(x):
        if getattr(x, "requires_grad", False):  # torch: the data, not a node of a graph
            x = x.detach()
        return np.asarray(x) if isinstance(x, np.ndarray) else x  # a NumPy subclass: plain
    pandas = sys.modules.get("pandas")  # never imported here: loaded if x is one of its
    if pandas is not None and isinstance(
        x, (pandas.DataFrame, pandas.Series, pandas.Index, pandas.api.extensions.ExtensionArray)
    ):
        return _from_pandas(pandas, x, what)
    if type(x).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{what} is a sparse {type(x).__name__}; portnet takes dense arrays: pass "
            f"{what}.toarray()"
        )
    try:
        return np.asarray(x)
    except ValueError as exc:
        lengths = _row_lengths(x)
        if lengths is None:
            raise
        raise ValueError(
            f"{what} must be a rectangular array (its rows of one length), but its rows have "
            f"different lengths: {', '.join(map(str, lengths))}"
        ) from exc


def _check_no_missing(y: np.ndarray) -> None:
    """Labels of Python objects (text) with None, NaN or ``pd.NA`` among them: an error."""
    missing = int(np.count_nonzero(np.frompyfunc(_is_missing, 1, 1)(y).astype(bool)))
    if missing:
        raise ValueError(
            f"y has {missing} missing label{'s' if missing > 1 else ''} (None, NaN or pd.NA): "
            "drop those samples, or give them a label"
        )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN (float's, NumPy's)
    except (TypeError, ValueError):  # pd.NA: neither equal nor unequal to itself
        return type(value).__name__ in ("NAType", "NaTType")


def _unmasked(x: np.ma.MaskedArray, what: str) -> np.ndarray:
    """A masked array's values, if none is masked; else an error (portnet has no mask)."""
    masked = int(np.ma.count_masked(x))
    if masked:
        raise ValueError(
            f"{what} is a masked array with {masked} masked value{'s' if masked > 1 else ''}, "
            f"which portnet would read as numbers: fill them first ({what}.filled(value)), or "
            "drop those samples from X and y"
        )
    return np.asarray(x.data)


def _row_lengths(x: Any) -> list[int] | None:
    """The distinct lengths of the rows of a ragged sequence (None: not a sequence of rows)."""
    try:
        lengths = sorted({len(row) if hasattr(row, "__len__") else 1 for row in x})
    except TypeError:  # not a sequence of rows
        return None
    return lengths if len(lengths) > 1 else None


def _from_pandas(pandas: Any, x: Any, what: str) -> np.ndarray:
    """A pandas object's values as NumPy: numeric and boolean columns (nullable ones too:
    ``Float64``, ``Int64``, ``boolean``) as numbers of their common dtype, floats where a
    value is missing (``pd.NA`` as NaN); other columns (text, categories) as pandas gives
    them, which ``X`` may not hold (an error naming the column)."""
    if not isinstance(x, (pandas.DataFrame, pandas.Series)):
        x = pandas.Series(x)
    frame = x.to_frame() if isinstance(x, pandas.Series) else x
    dtypes = []
    for name, column in frame.items():
        dtype = _numeric_dtype(column)
        if dtype is None:
            if what == "X":
                raise TypeError(
                    f"X must hold real numbers, got dtype {column.dtype} in column {name!r}"
                )
            return x.to_numpy()
        dtypes.append(dtype)
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if dtype.kind == "f":
        return x.to_numpy(dtype=dtype, na_value=np.nan)
    return x.to_numpy(dtype=dtype)


def _numeric_dtype(column: Any) -> np.dtype | None:
    """The NumPy dtype of a pandas column of real numbers or booleans (float64 for a
    nullable integer or boolean column with a missing value), or None for any other."""
    dtype = column.dtype
    numpy_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
    if not isinstance(numpy_dtype, np.dtype) or numpy_dtype.kind not in "biuf":
        return None
    if numpy_dtype.kind != "f" and not isinstance(dtype, np.dtype) and column.hasnans:
        return np.dtype(np.float64)
    return numpy_dtype


def check_real(X: Array) -> None:
    """``X`` (an array, :func:`as_data`'s) of complex numbers, text or objects: an error
    (never a silent cast)."""
    if aac.is_numpy_array(X):
        ok = X.dtype.kind in "biuf"
    else:
        ok = aac.array_namespace(X).isdtype(X.dtype, ("bool", "integral", "real floating"))
    if not ok:
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")


def check_finite(be: Backend, xp: Any, a: Array, what: str, *, source: Any = None) -> None:
    """NaN or infinity in the data: an error saying how many (one host read if there is
    none: counting them, a cast and a sum over the whole array, is left to the error).
    ``source``: ``a`` before its cast to the run's dtype; finite there, the error says that
    the cast overflowed."""
    _refuse_not_finite(a, xp=xp, what=what, read=be.read, source=source)


def finite(be: Backend, a: Array, what: str, *, source: Any = None) -> Array:
    """``a`` (an array of ``be``), checked as :func:`check_finite` does: at once (one host
    read), or on Dask lazily, chunk by chunk as it is computed (predictions stay lazy, and
    the data is read once)."""
    check = functools.partial(_refuse_not_finite, what=what, read=be.read, source=source)
    return be.adapter.finite(a, check)


def _refuse_not_finite(
    a: Array,
    where: str = "",
    *,
    what: str,
    read: Callable[[Array], float],
    xp: Any = None,
    source: Any = None,
) -> None:
    xp = aac.array_namespace(a) if xp is None else xp
    finite = xp.isfinite(a)
    if read(xp.all(finite)) == 1.0:
        return
    if source is not None:
        _refuse_overflow(source, a.dtype, what)
    bad = int(read(xp.sum(xp.astype(~finite, xp.int32))))
    raise ValueError(
        f"{what} must be finite, but it holds {bad} NaN or infinite value"
        f"{'s' if bad > 1 else ''}{where}"
    )


def _refuse_overflow(source: Any, dtype: Any, what: str) -> None:
    """``source`` finite but too large for ``dtype`` (its cast made infinities): an error
    saying so (an error's path: one copy of ``source`` to the host)."""
    host = np.asarray(to_numpy(source))
    if host.dtype.kind not in "biuf" or not np.all(np.isfinite(host)):
        return
    name = _float_name(dtype)
    largest = float(np.max(np.abs(host)))
    raise ValueError(
        f"{what} holds values too large for {name} (largest |{what}| {largest:.3g}; {name} "
        f"holds up to {float(np.finfo(name).max):.3g}): scale {what} (e.g. standardise it), "
        "or use dtype='float64'"
    )
