"""Reading data sets from files, for the ``portnet`` command (and anyone else).

Layouts (one sample per row, samples first as everywhere in portnet; suffixes in any case):

- ``.csv``/``.tsv``: text read by pandas (the ``cli`` extra: ``pip install 'portnet[cli]'``);
  the separator is a comma, semicolon or tab, whichever splits the first row into the most
  cells (then a semicolon- or tab-separated file with decimal commas, ``1,5``, reads them as
  decimals).  UTF-8, with or without a byte-order mark, or UTF-16 with one.  The label is the
  **last column** unless ``label=`` names another (a header name, or a 0-based index,
  negative from the end).  A first row with no number in it is a header; a header whose
  first cells are empty (or ``Unnamed: 0``) over distinct integers starts with the index
  ``DataFrame.to_csv`` writes, which is dropped (indices in ``label=`` count the columns
  after it).  Features are numbers (``True``/``False`` read as 1/0); labels are numbers or
  text.  A cell is missing only when empty (``NA`` is text, ``nan`` not a number): a missing
  or non-finite feature or label is an error, as is a row of another width; rows that are
  entirely empty are skipped.
- ``.npy``: a 2-D numeric array; the label is its last column unless ``label=`` says which.
- ``.npz``: arrays ``X`` ``(m, n)`` and ``y`` ``(m,)`` or ``(m, k)`` (``y`` optional for
  prediction).

``weights=`` names the column of each sample's weight (as ``label=`` names one; by default
there is none), left out of the features like the label column; without ``label=`` the
label is then the last column but it.  Its cells are finite numbers >= 0 (an empty,
negative or infinite one is an error naming its row; a ``.npy``'s and an ``.npz``'s values
:func:`portnet.train` checks).  In an ``.npz``, ``weights=`` names an array instead (e.g.
``sample_weight``).

With ``n_features`` given (prediction: the model's input width), a ``.csv``/``.npy`` with
exactly that many columns (besides a ``weights=`` column) has no label column, and one
with one more has one.

Errors are ``ValueError("cannot read PATH: ...")``; they name a text file's rows by line
number as an editor shows it (1-based, the header line counted) and its columns by header
name, or by 0-based index (as ``label=`` counts) in a file without a header.  A file that
is not UTF-8 is refused, naming the line and byte offset of the first byte that is not.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["SUFFIXES", "Table", "read", "read_table"]

SUFFIXES = (".csv", ".tsv", ".npy", ".npz")
SEPARATORS = ("\t", ";", ",")
_SAMPLE = 1 << 16  # bytes read to find the separator and header
_DECIMAL_COMMA = re.compile(r"\s*[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?\s*")
_UNNAMED = re.compile(r"(Unnamed: \d+)?")

#: says where cell ``(i, j)`` is: data row ``i`` (0-based), column ``j`` of the table read
_Where = Callable[[int, int], str]
#: which columns are what: ``label``, ``weights`` (by name or index) and ``n_features``
_Columns = tuple[str | int | None, str | int | None, int | None]


class Table(NamedTuple):
    """A data file's samples: ``X`` ``(m, n)`` float64 (an ``.npz``'s as stored), ``y`` (None
    if the file has no labels), the feature columns' header names (None without one) and
    the samples' weights (None without ``weights=``; float64, an ``.npz``'s as stored)."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: tuple[str, ...] | None
    sample_weight: np.ndarray | None = None


class _Layout(NamedTuple):
    """How a text file is laid out: what pandas needs to read it, and the header."""

    encoding: str
    sep: str
    decimal: str
    header: list[str] | None
    skip: int  # lines up to and including the header


def read(
    path: str | os.PathLike[str],
    *,
    label: str | int | None = None,
    n_features: int | None = None,
    weights: str | int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)`` from a ``.csv``, ``.tsv``, ``.npy`` or ``.npz`` file (``y`` None if it has
    none): :func:`read_table` without the column names and the weights.

    Raises ``ValueError`` saying what was expected and what the file holds, and
    ``ImportError`` for a text file without pandas.
    """
    table = read_table(path, label=label, n_features=n_features, weights=weights)
    return table.X, table.y


def read_table(
    path: str | os.PathLike[str],
    *,
    label: str | int | None = None,
    n_features: int | None = None,
    weights: str | int | None = None,
) -> Table:
    """``Table(X, y, feature_names, sample_weight)`` from a ``.csv``, ``.tsv``, ``.npy`` or
    ``.npz`` file.

    ``label``, ``n_features`` and ``weights`` as in the module's description.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"cannot read {path}: expected a {', '.join(SUFFIXES)} file, got {path.suffix!r}"
        )
    if not path.is_file():
        raise ValueError(f"cannot read {path}: no such file")
    if suffix == ".npz":
        X, y, arrays = _npz(path)
        return Table(X, y, None, None if weights is None else _named(path, arrays, weights))
    columns = (label, weights, n_features)
    if suffix == ".npy":
        return _split(path, list(_npy(path).T), None, columns, None)
    return _text(path, columns)


def _npy(path: Path) -> np.ndarray:
    try:
        table = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"cannot read {path}: not a NumPy .npy array ({exc})") from exc
    if table.ndim != 2 or table.dtype.kind not in "iuf":
        raise ValueError(
            f"cannot read {path}: expected a 2-D numeric array (features, then the label "
            f"column), got shape {table.shape} and dtype {table.dtype}"
        )
    return table


def _npz(path: Path) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    with open(path, "rb") as f:  # an unreadable file: its OSError (permission), as it is
        try:
            with np.load(f, allow_pickle=False) as archive:
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
    return X, y, arrays


def _named(path: Path, arrays: dict[str, np.ndarray], weights: str | int) -> np.ndarray:
    """An ``.npz``'s weights: the array named ``weights`` (its shape and values are checked
    where it is used, as a ``sample_weight``)."""
    if str(weights) not in arrays:
        raise ValueError(
            f"cannot read {path}: no array {str(weights)!r} for the weights; it holds "
            f"{sorted(arrays)}"
        )
    return arrays[str(weights)]


# -- text files --------------------------------------------------------------------------


def _pandas(path: Path) -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            f"cannot read {path}: reading {path.suffix} files needs pandas: "
            "pip install 'portnet[cli]'"
        ) from exc
    return pandas


def _text(path: Path, columns: _Columns) -> Table:
    pd = _pandas(path)
    layout = _layout(path)
    frame = _frame(pd, path, layout)
    header, width = layout.header, frame.shape[1]
    if header is not None and len(header) != width:
        raise _width_error(path, layout) or AssertionError(path)
    empty = frame.isna().all(axis=1).to_numpy()
    if empty.any():  # rows of empty cells only (",,,"): skipped
        frame = frame[~empty]
    cells = [frame[j].to_numpy() for j in frame.columns]
    rows = frame.index  # the data rows they came from (0-based, blank lines not counted)
    if header is not None:
        while cells and _UNNAMED.fullmatch(header[0].strip()) and _is_index(cells[0]):
            header, cells = header[1:], cells[1:]

    def where(i: int, j: int) -> str:
        line, cells = _record(path, layout, int(rows[i]))
        if len(cells) != width:  # a short row: pandas filled it with empty cells
            raise _width_error(path, layout) or AssertionError(path)
        name = f"column {j} (counting from 0)" if header is None else f"column {header[j]!r}"
        return f"row {line}, {name}"

    return _split(path, cells, header, columns, where)


def _is_index(column: np.ndarray) -> bool:
    """Whether a column is an index as ``DataFrame.to_csv`` writes it: distinct integers."""
    return column.dtype.kind in "iu" and len(np.unique(column)) == len(column)


def _layout(path: Path) -> _Layout:
    """The encoding (a BOM's), separator, decimal mark and header, from the file's start."""
    with open(path, "rb") as f:
        start = f.read(_SAMPLE)
        whole = not f.read(1)
    encoding = "utf-16" if start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(start, final=whole)
    except UnicodeDecodeError:
        raise _not_utf8(path, encoding) from None
    if not whole:  # the last line may be cut short
        text = text[: text.rfind("\n") + 1] or text
    lines = text.splitlines(keepends=True)
    default = "\t" if path.suffix.lower() == ".tsv" else ","
    firsts = {sep: next(_records(path, lines, sep), (0, [])) for sep in SEPARATORS}
    sep = max((default, *SEPARATORS), key=lambda s: len(firsts[s][1]))
    line, first = firsts[sep]
    if not first:
        raise ValueError(f"cannot read {path}: the file holds no rows")
    cells = [cell for _, row in _records(path, lines, sep) for cell in row]
    decimal = "," if sep != "," and any(map(_DECIMAL_COMMA.fullmatch, cells)) else "."
    if any(_number(cell, decimal) for cell in first):
        return _Layout(encoding, sep, decimal, None, 0)
    return _Layout(encoding, sep, decimal, [cell.strip() for cell in first], line)


def _records(path: Path, lines: Any, sep: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each record pandas reads (blank lines skipped)."""
    reader = csv.reader(lines, delimiter=sep)
    try:
        for cells in reader:
            if cells and (len(cells) > 1 or cells[0].strip()):
                yield reader.line_num, cells
    except csv.Error as exc:  # a cell of over 128 KiB (pandas reads it: only on error paths)
        raise ValueError(f"cannot read {path}: row {reader.line_num}: {exc}") from None


def _record(path: Path, layout: _Layout, row: int) -> tuple[int, list[str]]:
    """Line number and cells of data row ``row`` (0-based, the header not counted)."""
    with open(path, encoding=layout.encoding, newline="") as f:
        for k, found in enumerate(_records(path, f, layout.sep)):
            if k == row + (layout.header is not None):
                return found
    raise AssertionError(f"{path} has no data row {row}")  # pandas read it


def _number(cell: str, decimal: str = ".") -> bool:
    try:
        float(cell.replace(decimal, ".") if decimal != "." else cell)
    except ValueError:
        return False
    return True


def _frame(pd: Any, path: Path, layout: _Layout) -> Any:
    """The file's data rows as pandas reads them, its errors said with the file's name."""
    # pandas 2 parses decimals exactly only when asked; pandas 3 always does, and deprecates asking
    exact = {"float_precision": "round_trip"} if pd.__version__.startswith("2.") else {}
    try:
        with warnings.catch_warnings():  # a column of numbers and text is refused below
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(
                path,
                sep=layout.sep,
                decimal=layout.decimal,
                header=None,
                skiprows=layout.skip,
                encoding=layout.encoding,
                keep_default_na=False,
                na_values=[""],
                **exact,
            )
    except UnicodeDecodeError:
        raise _not_utf8(path, layout.encoding) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"cannot read {path}: the file holds a header but no samples") from None
    except pd.errors.ParserError as exc:  # rows of other widths, a quote left open
        said = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
        raise _width_error(path, layout) or ValueError(f"cannot read {path}: {said}") from None


def _width_error(path: Path, layout: _Layout) -> ValueError | None:
    """The first row whose width is not the first row's (None if there is none)."""
    with open(path, encoding=layout.encoding, newline="") as f:
        records = _records(path, f, layout.sep)
        width = len(next(records)[1])
        for line, cells in records:
            if len(cells) != width:
                has = f"row {line} has {len(cells)} columns, the first has {width}"
                return ValueError(f"cannot read {path}: {has}")
    return None


def _not_utf8(path: Path, encoding: str) -> ValueError:
    """Where the first byte that is not ``encoding`` text is: line and byte offset."""
    codec = "utf-16" if encoding == "utf-16" else "utf-8"  # utf-8-sig shifts positions
    decoder, offset, line = codecs.getincrementaldecoder(codec)(), 0, 1
    with open(path, "rb") as f:
        while True:
            chunk, pending = f.read(_SAMPLE), len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                break
            if not chunk:
                return ValueError(f"cannot read {path}: not {codec.upper()} text")
            offset, line = offset + len(chunk), line + chunk.count(b"\n")
        f.seek(at)
        byte = f.read(1)[0]
    line += chunk.count(b"\n", 0, max(at - offset, 0))
    return ValueError(
        f"cannot read {path}: not {codec.upper()} text: row {line} holds byte 0x{byte:02x} "
        f"({chr(byte)!r} in Latin-1) at byte offset {at} of the file; save it as UTF-8 "
        "(Latin-1 and other 8-bit encodings are not read)"
    )


# -- columns to X and y ------------------------------------------------------------------


def _split(
    path: Path,
    columns: list[np.ndarray],
    header: list[str] | None,
    which: _Columns,
    where: _Where | None,
) -> Table:
    label, weights, n_features = which
    width = len(columns)
    skip = None if weights is None else _column_index(path, weights, header, width, "weights")
    rest = width - (skip is not None)  # the label and the features
    if n_features is not None and rest == n_features and label is None:
        index = None  # prediction data without a label column
    elif n_features is not None and rest != n_features + 1:
        besides = "" if skip is None else ", besides the weights column"
        raise ValueError(
            f"cannot read {path}: the model takes {n_features} features, so the file must "
            f"have {n_features} columns (or {n_features + 1} with a label){besides}, it has "
            f"{width}"
        )
    else:
        index = _label_index(path, label, header, width, skip)
    kept = [j for j in range(width) if j not in (index, skip)]
    if not kept:
        raise ValueError(f"cannot read {path}: no feature columns besides the label")
    X = np.empty((len(columns[0]), len(kept)))
    for k, j in enumerate(kept):
        X[:, k] = _feature(path, columns[j], j, where)
    names = None if header is None else tuple(header[j] for j in kept)
    w = None if skip is None else _weights(path, columns[skip], skip, where)
    if index is None:
        return Table(X, None, names, w)
    if where is None:  # a .npy's numeric column
        y = columns[index]
    else:
        y = _labels(path, columns[index], lambda i: f"{where(i, index)} (the label)")
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return Table(X, y, names, w)


def _feature(path: Path, column: np.ndarray, j: int, where: _Where | None) -> np.ndarray:
    """A feature column as float64; a text file's empty, text or non-finite cell refused."""
    if where is None:  # a .npy's numeric column
        return column
    if column.dtype.kind in "iufb":
        values = column.astype(np.float64, copy=False)
        bad = ~np.isfinite(values)
        if not bad.any():
            return values
        i = int(np.argmax(bad))
        problem = "is empty" if np.isnan(values[i]) else f"holds {values[i]}, not a finite number"
        raise ValueError(
            f"cannot read {path}: feature columns must be numbers: {where(i, j)} {problem}"
        )
    for i, cell in enumerate(column):
        problem = _not_a_number(cell)
        if problem:
            raise ValueError(
                f"cannot read {path}: feature columns must be numbers: {where(i, j)} {problem}"
            )
    return column.astype(np.float64)  # numbers as text in a column of mixed chunks


def _weights(path: Path, column: np.ndarray, j: int, where: _Where | None) -> np.ndarray:
    """The weights column as float64: a text file's empty, text, negative or infinite cell
    refused, naming its row (a ``.npy``'s values are checked by :func:`portnet.train`)."""
    if where is None:  # a .npy's column
        return column.astype(np.float64)
    if column.dtype.kind in "iub":
        problems = []
    elif column.dtype.kind == "f":  # NaN: an empty cell (pandas reads "nan" as text)
        empty = np.flatnonzero(np.isnan(column))
        problems = [(int(empty[0]), "is empty")] if empty.size else []
    else:  # text: numbers as text ("nan", "inf" too), or not
        problems = [
            (i, "is empty" if _empty(cell) else f"holds {cell.strip()!r}")
            for i, cell in enumerate(column)
            if _empty(cell) or (isinstance(cell, str) and not _number(cell))
        ][:1]
    for i, problem in problems:
        raise ValueError(
            f"cannot read {path}: the weights column must hold numbers: {where(i, j)} {problem}"
        )
    w = column.astype(np.float64)
    for i in np.flatnonzero(~(np.isfinite(w) & (w >= 0)))[:1]:  # named by row, not index
        raise ValueError(
            f"cannot read {path}: the weights column must hold finite numbers >= 0: "
            f"{where(int(i), j)} holds {w[i]:g}"
        )
    return w


def _empty(cell: Any) -> bool:
    """Whether a cell pandas read is empty: NaN (``na_values=[""]``) or blank text."""
    if isinstance(cell, str):
        return not cell.strip()
    return isinstance(cell, float) and math.isnan(cell)


def _not_a_number(cell: Any) -> str:
    """What is wrong with a cell as a number ("" if nothing): empty, text or not finite."""
    if _empty(cell):
        return "is empty"
    if isinstance(cell, str):
        try:
            value = float(cell)
        except ValueError:
            return f"holds {cell.strip()!r}"
        return "" if math.isfinite(value) else f"holds {cell.strip()!r}, not a finite number"
    if isinstance(cell, (bool, np.bool_)):
        return ""
    return "" if math.isfinite(cell) else f"holds {cell}, not a finite number"


def _labels(path: Path, column: np.ndarray, where: Callable[[int], str]) -> np.ndarray:
    """A text file's label column: numbers if every cell is one, else text (stripped)."""
    if column.dtype.kind == "b":
        return column.astype(str)
    if column.dtype.kind in "iuf":
        bad = ~np.isfinite(column.astype(np.float64, copy=False))
        if bad.any():
            raise _label_error(path, column[int(np.argmax(bad))], where(int(np.argmax(bad))))
        return column
    for i, cell in enumerate(column):
        if _empty(cell):
            raise _label_error(path, cell, where(i))
    text = np.array([str(cell).strip() for cell in column])
    if not all(_number(cell) for cell in text):
        return text
    for i, cell in enumerate(text):
        if _not_a_number(cell):
            raise _label_error(path, cell, where(i))
    return text.astype(np.float64)


def _label_error(path: Path, cell: Any, where: str) -> ValueError:
    problem = _not_a_number(cell)
    why = "every sample needs a label" if problem == "is empty" else "labels are text or finite"
    return ValueError(f"cannot read {path}: {where} {problem}: {why}")


def _label_index(
    path: Path, label: str | int | None, header: list[str] | None, width: int, skip: int | None
) -> int:
    """The label column: ``label``'s, or the last one but the weights column ``skip``."""
    if label is None:
        return width - 1 if skip != width - 1 else width - 2
    index = _column_index(path, label, header, width, "label")
    if index == skip:
        raise ValueError(
            f"cannot read {path}: the label column {label!r} is the weights column too; "
            "give them different columns"
        )
    return index


def _column_index(
    path: Path, key: str | int, header: list[str] | None, width: int, what: str
) -> int:
    """The index of the ``what`` column ``key``: a header name, or a 0-based index
    (negative from the end)."""
    if isinstance(key, str) and not key.lstrip("-").isdigit():
        if header is None or key not in header:
            named = "column" if what == "label" else f"{what} column"
            raise ValueError(
                f"cannot read {path}: no {named} named {key!r}; "
                + (f"the header has {header}" if header else "the file has no header row")
            )
        return header.index(key)
    index = int(key)
    if not -width <= index < width:
        raise ValueError(
            f"cannot read {path}: {what} column {index} is out of range for {width} columns"
        )
    return index % width
