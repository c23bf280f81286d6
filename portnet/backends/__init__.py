"""How portnet runs on each array library: one table, one adapter module per library.

:data:`TABLE` (``_table.py``) lists the libraries; ``portnet/backends/<adapter>.py`` holds
what is particular to each (:class:`portnet.backends._adapter.Adapter`: devices, placement,
compilation, batching, precision switches, and its :class:`portnet.ops.Ops`).  NumPy, CuPy
and torch have an Ops of their own (in place, in blocks, into a run's workspace); JAX,
array-api-strict and Dask run the plain one (XLA fuses and lays out by itself; the standard
has no ``out=``; Dask's chunks run with their own library's Ops).
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import array_api_compat as aac

from ._adapter import Adapter
from ._table import BACKENDS, TABLE, Entry

__all__ = ["BACKENDS", "TABLE", "Adapter", "Entry", "adapter", "name_of", "ops_for", "require"]


def require(name: str) -> Any:
    """Import the library behind backend ``name``; ImportError naming the extra if missing."""
    entry = TABLE[name]
    try:
        return importlib.import_module(entry.module)
    except ImportError as exc:
        raise ImportError(
            f"backend {name!r} needs {entry.module!r}, which is not installed: "
            f"pip install 'portnet[{entry.extra}]'"
        ) from exc


def adapter(name: str | None) -> Adapter:
    """The adapter of backend ``name`` (its library imported: ImportError naming the extra if
    missing, asked every time: a library can go missing, as tests make it); the standard's
    for None (a namespace portnet does not know)."""
    if name is None:
        return _STANDARD
    require(name)
    return _module(TABLE[name].adapter).ADAPTER


_STANDARD = Adapter()


@functools.cache
def _module(adapter: str) -> Any:
    return importlib.import_module(f"{__name__}.{adapter}")


def name_of(xp: Any) -> str | None:
    """The table's name of namespace ``xp``, or None for a namespace portnet does not know."""
    if not hasattr(xp, "__name__"):
        return None
    for entry in TABLE.values():
        if getattr(aac, f"is_{entry.compat}_namespace")(xp):
            return entry.name
    return None


def ops_for(xp: Any, *, run: bool = False) -> Any:
    """The :class:`portnet.ops.Ops` of namespace ``xp`` (``run=True``: a training run's own)."""
    return adapter(name_of(xp)).ops(xp, run=run)
