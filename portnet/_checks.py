"""Option checks: one validator per kind of value, each error saying what was expected and
what arrived."""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["InvalidOptionError", "choice", "integer", "real"]


class InvalidOptionError(ValueError, TypeError):
    """An option of the wrong type or out of its range.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's ``InvalidParameterError``):
    code that catches either catches it.
    """


def integer(name: str, value: Any, *, minimum: int = 1) -> int:
    """``value`` as an int, which must be an integer (not a bool: Python's, NumPy's, a 0-d
    integer array) of at least ``minimum``."""
    try:
        number = None if isinstance(value, (bool, np.bool_)) else operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise InvalidOptionError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def real(
    name: str,
    value: Any,
    *,
    minimum: float = 0.0,
    above: bool = False,
    below: float = math.inf,
) -> float:
    """``value`` as a float, a finite real number (not a bool) ``>= minimum`` (``> minimum``
    with ``above``) and ``< below``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not (ok and (value > minimum if above else value >= minimum) and value < below):
        bounds = f"{'>' if above else '>='} {minimum:g}"
        bounds += "" if below == math.inf else f" and < {below:g}"
        raise InvalidOptionError(f"{name} must be a finite number {bounds}, got {value!r}")
    return float(value)


def choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value``, which must be one of ``choices``."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise InvalidOptionError(f"{name} must be one of {choices}, got {value!r}")
    return value
