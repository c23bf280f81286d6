"""Reading data sets from files, for the ``portnet`` command (and anyone else).

Layouts (one sample per row, samples first as everywhere in portnet):

- ``.csv``: comma-separated; features are numbers; the label is the **last column** unless
  ``label=`` names another (a header name, or a 0-based index, negative from the end).  A
  first row with no number in it is a header.  Labels may be numbers or text.
- ``.npy``: a 2-D numeric array; the label is its last column unless ``label=`` says which.
- ``.npz``: arrays ``X`` ``(m, n)`` and ``y`` ``(m,)`` or ``(m, k)`` (``y`` optional for
  prediction).

With ``n_features`` given (prediction: the model's input width), a ``.csv``/``.npy`` with
exactly that many columns has no label column, and one with one more has one.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

__all__ = ["read"]

SUFFIXES = (".csv", ".npy", ".npz")


def read(
    path: str | os.PathLike[str],
    *,
    label: str | int | None = None,
    n_features: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)`` from a ``.csv``, ``.npy`` or ``.npz`` file (``y`` None if it has none).

    Raises ``ValueError`` saying what was expected and what the file holds.
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ValueError(
            f"cannot read {path}: expected a {', '.join(SUFFIXES)} file, got {path.suffix!r}"
        )
    if not path.is_file():
        raise ValueError(f"cannot read {path}: no such file")
    if path.suffix == ".npz":
        return _npz(path)
    if path.suffix == ".npy":
        try:
            table = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"cannot read {path}: not a NumPy .npy array ({exc})") from exc
        if table.ndim != 2 or table.dtype.kind not in "iuf":
            raise ValueError(
                f"cannot read {path}: expected a 2-D numeric array (features, then the label "
                f"column), got shape {table.shape} and dtype {table.dtype}"
            )
        header = None
        columns = table.T
    else:
        header, columns = _csv(path)
    return _split(path, columns, header, label, n_features)


def _npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {path}: not a NumPy .npz archive ({exc})") from exc
    if "X" not in arrays:
        raise ValueError(f"cannot read {path}: expected arrays 'X' and 'y', found {sorted(arrays)}")
    X, y = arrays["X"], arrays.get("y")
    if X.ndim != 2:
        raise ValueError(f"cannot read {path}: 'X' must be 2-D (samples, features), got {X.shape}")
    if y is not None and (y.ndim not in (1, 2) or y.shape[0] != X.shape[0]):
        raise ValueError(
            f"cannot read {path}: 'y' must have {X.shape[0]} rows like 'X', got shape {y.shape}"
        )
    return X, y


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv(path: Path) -> tuple[list[str] | None, list[np.ndarray]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"cannot read {path}: the file holds no rows")
    header = None
    if not any(map(_number, rows[0])):
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    width = len(header) if header is not None else len(rows[0]) if rows else 0
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"cannot read {path}: row {i + 1 + (header is not None)} has {len(row)} "
                f"columns, the first has {width}"
            )
    if not rows:
        raise ValueError(f"cannot read {path}: the file holds a header but no samples")
    columns = [np.array([row[j].strip() for row in rows]) for j in range(width)]
    return header, columns


def _split(
    path: Path,
    columns: list[np.ndarray] | np.ndarray,
    header: list[str] | None,
    label: str | int | None,
    n_features: int | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    width = len(columns)
    if n_features is not None and width == n_features and label is None:
        index = None  # prediction data without a label column
    elif n_features is not None and width != n_features + 1:
        raise ValueError(
            f"cannot read {path}: the model takes {n_features} features, so the file must "
            f"have {n_features} columns (or {n_features + 1} with a label), it has {width}"
        )
    else:
        index = _label_index(path, label, header, width)
    features = [c for j, c in enumerate(columns) if j != index]
    if not features:
        raise ValueError(f"cannot read {path}: no feature columns besides the label")
    try:
        X = np.stack([np.asarray(c, dtype=np.float64) for c in features], axis=1)
    except ValueError as exc:
        raise ValueError(f"cannot read {path}: feature columns must be numbers ({exc})") from exc
    if index is None:
        return X, None
    y = np.asarray(columns[index])
    if y.dtype.kind in "US" and all(_number(v) for v in y):
        y = y.astype(np.float64)
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return X, y


def _label_index(path: Path, label: str | int | None, header: list[str] | None, width: int) -> int:
    if label is None:
        return width - 1
    if isinstance(label, str) and not label.lstrip("-").isdigit():
        if header is None or label not in header:
            raise ValueError(
                f"cannot read {path}: no column named {label!r}; "
                + (f"the header has {header}" if header else "the file has no header row")
            )
        return header.index(label)
    index = int(label)
    if not -width <= index < width:
        raise ValueError(
            f"cannot read {path}: label column {index} is out of range for {width} columns"
        )
    return index % width
