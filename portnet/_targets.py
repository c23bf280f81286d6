"""Targets: what ``y`` is, which loss fits it, and labels in and out.

``y`` arrives as labels (any values: 0/1, {-1, 1}, strings, class numbers), one-hot rows,
multi-label 0/1 indicator rows, or real targets.  Training needs a float matrix ``Y`` of
shape ``(m, n_outputs)``; predictions go back to the original label values.  Labels given on
the host (NumPy, lists, strings) are encoded on the host; labels given as arrays of the
training backend are encoded there, on their device, with array-API functions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import array_api_compat as aac
import numpy as np

from ._backend import Backend, _is_array, to_numpy
from ._inputs import check_finite
from .losses import (
    LOSSES,
    Loss,
    binary_crossentropy,
    categorical_crossentropy,
    get_loss,
    poisson,
    squared_error,
)

Array = Any

__all__ = ["Targets", "check_finite", "decode", "encode", "inspect_targets", "score"]

_HOST = aac.array_namespace(np.empty(0))  # array-api-compat's NumPy


@dataclass(frozen=True)
class Targets:
    """How ``y`` maps to the network's outputs.

    Attributes
    ----------
    kind : {"continuous", "binary", "multiclass", "onehot", "multilabel"}
    classes : array or None
        The label values (sorted), on the host (NumPy, any dtype) or in the training
        backend; for "onehot"/"multilabel" the column numbers ``0..k-1``; None for regression.
    y_ndim : int
        1 for ``y`` of shape ``(m,)``, 2 for ``(m, k)``.
    """

    kind: str
    classes: Any
    y_ndim: int

    @property
    def is_classifier(self) -> bool:
        return self.kind != "continuous"


def _on(be: Backend, y: Any) -> tuple[Any, Array]:
    """(namespace, y) where ``y`` is worked on: the backend for its own arrays, else the host.

    Dask's labels are inspected on the host (one computation of ``y``): their classes are
    needed as values there, and ``y`` has one number per sample, not ``X``'s many.
    """
    if _is_array(y) and aac.array_namespace(y) is be.xp and be.name != "dask":
        return be.xp, y
    return _HOST, to_numpy(y)


def _host_classes(y: np.ndarray) -> np.ndarray:
    """The sorted distinct labels of host ``y``; labels of types that do not sort together
    (text and numbers): an error naming the types."""
    try:
        return _HOST.unique_values(y)
    except TypeError as exc:
        types = sorted({type(v).__name__ for v in y.ravel()})
        raise ValueError(
            f"y mixes labels of types that cannot be ordered ({', '.join(types)}): give "
            "labels of one type"
        ) from exc


def _check_shape(y: Array, m: int) -> None:
    if y.ndim not in (1, 2) or y.shape[0] != m:
        raise ValueError(
            f"y must have shape (m,) or (m, k) with m = {m} (the rows of X), "
            f"got shape {tuple(y.shape)}"
        )


def _is_text(y: Array) -> bool:
    return isinstance(y, np.ndarray) and y.dtype.kind in "OUS"


def _integral(xp: Any, be: Backend, y: Array) -> bool:
    """Whether ``y`` holds labels rather than real values (bool, int, text, whole floats)."""
    if _is_text(y) or xp.isdtype(y.dtype, ("bool", "integral")):
        return True
    if not xp.isdtype(y.dtype, "real floating"):
        raise ValueError(f"y must be real numbers or labels, got dtype {y.dtype}")
    return be.read(xp.all(y == xp.round(y))) == 1.0


def inspect_targets(be: Backend, y: Any, m: int, loss: str | Loss) -> tuple[Loss, Targets]:
    """Choose the loss for ``y`` (``loss="auto"``) or check that ``y`` fits ``loss``."""
    xp, y = _on(be, y)
    _check_shape(y, m)
    if not _is_text(y):
        if not xp.isdtype(y.dtype, ("bool", "integral", "real floating")):
            raise ValueError(f"y must be real numbers or labels, got dtype {y.dtype}")
        if xp.isdtype(y.dtype, "real floating"):
            check_finite(be, xp, y, "y")
    chosen = None if isinstance(loss, str) and loss == "auto" else get_loss(loss)
    if chosen is not None and LOSSES.get(chosen.name) != chosen:  # the user's own loss
        return chosen, inspect_targets(be, y, m, _like(chosen))[1]
    if chosen is not None and chosen.name in ("squared_error", "poisson"):
        if _is_text(y):
            raise ValueError(f"loss {chosen.name!r} needs numeric y, got dtype {y.dtype}")
        if chosen.name == "poisson" and be.read(xp.min(y)) < 0:
            raise ValueError(
                f"loss 'poisson' needs y >= 0 (counts, rates), got a smallest y of "
                f"{be.read(xp.min(y)):g}"
            )
        return chosen, Targets("continuous", None, y.ndim)
    if y.ndim == 2:
        return _inspect_2d(xp, be, y, chosen)
    if not _integral(xp, be, y):
        if chosen is not None:
            raise ValueError(
                f"loss {chosen.name!r} needs class labels, but y has non-integer values; "
                "use loss='squared_error' for regression"
            )
        return squared_error, Targets("continuous", None, 1)
    classes = _host_classes(y) if xp is _HOST else be.unique_values(y)
    n = classes.shape[0]
    if n < 2:
        raise ValueError(f"y has a single class ({_show(classes)}); a classifier needs at least 2")
    if chosen is binary_crossentropy and n > 2:
        raise ValueError(
            f"loss 'binary_crossentropy' needs 2 classes, but y has {n} "
            f"({_show(classes)}); use loss='categorical_crossentropy' (or 'auto')"
        )
    if chosen is categorical_crossentropy or (chosen is None and n > 2):
        return categorical_crossentropy, Targets("multiclass", classes, 1)
    return binary_crossentropy, Targets("binary", classes, 1)


def _like(loss: Loss) -> Loss:
    """The built-in loss whose targets a loss of the user's own takes: by its output
    (identity: real targets; sigmoid: 0/1 labels; softmax: classes)."""
    for known in (squared_error, binary_crossentropy, categorical_crossentropy, poisson):
        if loss.output == known.output:
            return known
    raise ValueError(
        f"loss {loss.name!r} has output {loss.output.name!r}; a loss of your own needs the "
        "output of a built-in one (identity, sigmoid, softmax or exp) for portnet to read y"
    )


def _inspect_2d(xp: Any, be: Backend, y: Array, chosen: Loss | None) -> tuple[Loss, Targets]:
    if _is_text(y):
        raise ValueError("2-D y must be numeric: one-hot or 0/1 indicator rows, or real targets")
    zero_one = be.read(xp.all((y == 0) | (y == 1))) == 1.0
    columns = _HOST.arange(y.shape[1])
    if zero_one:
        ones = xp.sum(xp.astype(y == 1, xp.int32), axis=1)  # (m,)
        one_hot = be.read(xp.all(ones == 1)) == 1.0
        if chosen is categorical_crossentropy or (chosen is None and one_hot and y.shape[1] > 1):
            if not one_hot:
                raise ValueError(
                    "loss 'categorical_crossentropy' with 2-D y needs one-hot rows "
                    "(each row a single 1); y has rows that are not"
                )
            return categorical_crossentropy, Targets("onehot", columns, 2)
        return binary_crossentropy, Targets("multilabel", columns, 2)
    if chosen is not None:
        raise ValueError(
            f"loss {chosen.name!r} with 2-D y needs 0/1 indicator or one-hot rows; "
            "use loss='squared_error' for regression"
        )
    return squared_error, Targets("continuous", None, 2)


def _show(classes: Array) -> str:
    values = to_numpy(classes).tolist() if not _is_text(classes) else classes.tolist()
    return ", ".join(map(repr, values[:10])) + (", ..." if len(values) > 10 else "")


def encode(be: Backend, y: Any, targets: Targets, dtype: Any, m: int) -> Array:
    """``y`` as the float matrix ``Y`` (m, n_outputs) the loss takes, on ``be``'s device.

    Labels must be among ``targets.classes``; an unknown label is an error.
    """
    xp, y = _on(be, y)
    _check_shape(y, m)
    if targets.kind == "continuous":
        if _is_text(y):
            raise ValueError(f"a regression model needs numeric y, got dtype {y.dtype}")
        Y = be.asarray(y, dtype, what="y")
        return Y[:, None] if Y.ndim == 1 else Y
    if targets.y_ndim != y.ndim:
        raise ValueError(
            f"y must be {'1-D labels' if targets.y_ndim == 1 else '2-D rows'} for this model, "
            f"got shape {tuple(y.shape)}"
        )
    if targets.kind in ("onehot", "multilabel"):
        if y.shape[1] != targets.classes.shape[0]:
            raise ValueError(f"y must have {targets.classes.shape[0]} columns, got {y.shape[1]}")
        return be.asarray(y, dtype, what="y")
    classes = targets.classes if xp is _HOST else be.asarray(targets.classes)
    if xp is not _HOST and classes.dtype != y.dtype:
        classes = xp.astype(classes, y.dtype)  # class values are whole numbers: exact
    index = xp.searchsorted(classes, y)
    clipped = xp.clip(index, 0, classes.shape[0] - 1)
    if be.read(xp.all(xp.take(classes, clipped) == y)) != 1.0:
        unknown = to_numpy(y)[~np.isin(to_numpy(y), to_numpy(classes))]
        raise ValueError(
            f"y has labels the model was not trained on: {_show(_HOST.unique_values(unknown))}; "
            f"known: {_show(classes)}"
        )
    if targets.kind == "binary":
        hot = clipped[:, None] == 1  # (m, 1)
    else:
        hot = clipped[:, None] == xp.arange(classes.shape[0], device=aac.device(clipped))
    return be.asarray(hot, dtype, what="y")


def decode(be: Backend, A: Array, targets: Targets) -> Array:
    """Predictions from the network output ``A`` (m, n_outputs): labels, or the regression output.

    Labels are the original values, in ``be``'s namespace and device when they are numbers;
    text labels come back as a NumPy array.
    """
    xp = be.xp
    integral = xp.__array_namespace_info__().default_dtypes(device=be.device)["integral"]
    if targets.kind == "continuous":
        return A[:, 0] if targets.y_ndim == 1 else A
    if targets.kind == "multilabel":
        return xp.astype(A > 0.5, integral)
    index = xp.astype(A[:, 0] > 0.5, integral) if targets.kind == "binary" else xp.argmax(A, axis=1)
    if targets.kind == "onehot":
        return xp.astype(index[:, None] == xp.arange(A.shape[1], device=be.device), integral)
    if _is_text(targets.classes):
        return targets.classes[to_numpy(index)]
    return xp.take(be.asarray(targets.classes), index)


def score(xp: Any, A: Array, Y: Array, kind: str, w: Array | None = None) -> Array:
    """The score (0-d) of outputs ``A`` against targets ``Y`` (both ``(m, n_L)``, as the loss
    takes them; ``w``: the samples' weights ``(m,)``): accuracy for a classifier (every
    output right at the threshold 0.5 for "binary" and "multilabel", the most probable class
    otherwise), R² averaged over the outputs for regression (1 for a constant output
    predicted exactly, 0 for one predicted otherwise), as scikit-learn's ``accuracy_score``
    and ``r2_score`` (with ``sample_weight``)."""
    if kind in ("binary", "multilabel"):
        right = xp.all((A > 0.5) == (Y > 0.5), axis=1)
    elif kind != "continuous":
        right = xp.argmax(A, axis=1) == xp.argmax(Y, axis=1)
    else:
        ss_res = _summed(xp, (Y - A) ** 2, w)  # Σ_i w_i (y_i − ŷ_i)²: (n_L,)
        ss_tot = _summed(xp, (Y - _averaged(xp, Y, w)) ** 2, w)
        safe = xp.where(ss_tot > 0, ss_tot, xp.ones_like(ss_tot))
        r2 = xp.where(ss_tot > 0, 1 - ss_res / safe, xp.astype(ss_res == 0, A.dtype))
        return xp.mean(r2)
    return _averaged(xp, xp.astype(right, A.dtype), w)


def _summed(xp: Any, v: Array, w: Array | None) -> Array:
    """``Σ_i v_i`` over samples, or ``Σ_i w_i·v_i``: ``(m, k) -> (k,)``."""
    return xp.sum(v if w is None else v * w[:, None], axis=0)


def _averaged(xp: Any, v: Array, w: Array | None) -> Array:
    """The mean over samples of ``v`` (``(m,)`` or ``(m, k)``), or its ``w``-weighted mean."""
    if w is None:
        return xp.mean(v, axis=0)
    return xp.sum(v * (w[:, None] if v.ndim == 2 else w), axis=0) / xp.sum(w)
