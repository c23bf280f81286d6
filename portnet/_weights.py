"""Sample and class weights: checked, and combined into one weight per sample.

``sample_weight`` (one non-negative number per sample) and ``class_weight`` ("balanced" or
``{label: weight}``, classifiers only) make the weights ``w`` the losses average with
(:mod:`portnet.losses`: ``m`` becomes ``Σw``).  They are checked and combined on the host,
in float64: a weight per sample is small beside ``X``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._backend import to_numpy
from ._checks import InvalidOptionError
from ._inputs import as_data

__all__ = ["check_class_weight", "check_sample_weight", "class_factors", "of_length"]


def check_sample_weight(sample_weight: Any) -> np.ndarray | None:
    """``sample_weight`` (None, or any array of one of portnet's libraries, a list, a pandas
    Series) as a new host float64 array: 1-D, real, finite, non-negative, not all zero."""
    if sample_weight is None:
        return None
    given = as_data(sample_weight, "sample_weight")
    w = np.asarray(to_numpy(given))
    if w.ndim != 1:
        raise InvalidOptionError(
            f"sample_weight must be 1-D (one weight per sample), got shape {tuple(w.shape)}"
        )
    if w.dtype.kind not in "biuf":
        raise InvalidOptionError(f"sample_weight must hold real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64)  # a copy: the caller's array is never written
    bad = ~np.isfinite(w)
    if bad.any():
        raise InvalidOptionError(
            f"sample_weight must be finite, but it holds {int(bad.sum())} NaN or infinite "
            f"value{'s' if bad.sum() > 1 else ''} (the first at index {int(np.argmax(bad))})"
        )
    negative = w < 0
    if negative.any():
        first = int(np.argmax(negative))
        raise InvalidOptionError(
            f"sample_weight must be non-negative, but it holds {int(negative.sum())} negative "
            f"value{'s' if negative.sum() > 1 else ''} (the first {w[first]:g} at index {first})"
        )
    if w.size and not w.any():
        raise InvalidOptionError(
            "sample_weight is zero for every sample: at least one weight must be positive"
        )
    return w


def of_length(w: np.ndarray, m: int) -> np.ndarray:
    """``w`` (:func:`check_sample_weight`'s), which must have ``m`` weights: one per sample."""
    if w.shape[0] != m:
        raise ValueError(
            f"sample_weight must have one weight per sample of X ({m}), got {w.shape[0]}"
        )
    return w


def check_class_weight(class_weight: Any) -> str | dict[Any, float] | None:
    """``class_weight``: None, "balanced", or a mapping ``{label: weight}`` of finite,
    non-negative weights (as a new dict of floats)."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise InvalidOptionError(
                f"unknown class_weight {class_weight!r}; expected 'balanced', a dict "
                "{label: weight} or None"
            )
        return class_weight
    if not isinstance(class_weight, Mapping):
        raise InvalidOptionError(
            "class_weight must be 'balanced', a dict {label: weight} or None, got "
            f"{type(class_weight).__name__} {class_weight!r}"
        )
    wrong = {k: v for k, v in class_weight.items() if not _weight(v)}
    if wrong:
        raise InvalidOptionError(
            f"class_weight's weights must be finite numbers >= 0, got {wrong!r}"
        )
    return {k: float(v) for k, v in class_weight.items()}


def _weight(value: Any) -> bool:
    real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    return real and math.isfinite(value) and value >= 0


def class_factors(
    class_weight: str | dict[Any, float],
    index: np.ndarray,
    classes: Any,
    sample_weight: np.ndarray | None,
) -> np.ndarray:
    """Each sample's class weight, ``(m,)`` float64: ``class_weight`` (checked) of the class
    ``classes[index[i]]`` of sample ``i``.

    "balanced" is scikit-learn's ``compute_class_weight``: ``n / (k·n_c)`` for the ``n_c``
    samples of class ``c`` among ``n``, ``k`` the classes present; with ``sample_weight``
    the weighted counts (``Σw / (k·Σ_{i∈c} w_i)``).  A dict gives its classes their
    weights and the others 1; a label that is not one of ``classes`` is an error.
    """
    labels = to_numpy(classes).tolist()
    if class_weight == "balanced":
        present = np.bincount(index, minlength=len(labels)) > 0
        counts = np.bincount(index, weights=sample_weight, minlength=len(labels))
        total, k = counts.sum(), int(present.sum())
        safe = np.where(counts > 0, counts, 1.0)
        per_class = np.where(counts > 0, total / (k * safe), 0.0)  # no weight: no samples
    else:
        unknown = [key for key in class_weight if not any(key == c for c in labels)]
        if unknown:
            shown = ", ".join(map(repr, labels[:10])) + (", ..." if len(labels) > 10 else "")
            raise ValueError(
                f"class_weight names labels that are not classes of y: {unknown!r}; the "
                f"classes are {shown}"
            )
        per_class = np.array([_given(class_weight, c) for c in labels], dtype=np.float64)
    return per_class[index]


def _given(class_weight: dict[Any, float], label: Any) -> float:
    for key, weight in class_weight.items():
        if key == label:
            return weight
    return 1.0
