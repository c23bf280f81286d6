"""Dask: data parallelism.  The data lives in row chunks (in memory, or a cluster's); a
step runs the equations on every chunk where it lives, with the chunk library's own Ops
(NumPy's, CuPy's), and sums the chunks' gradients (:func:`portnet.network.combine`); the
parameters are small and stay on the host; a mini-batch is a whole chunk."""

from __future__ import annotations

import functools
import os
import uuid
import weakref
from collections.abc import Callable
from typing import Any

import array_api_compat as aac
import dask
import dask.array as da
import dask.base
import dask.threaded
import numpy as np

from .. import network
from .._backend import _is_array, to_numpy
from .._trees import tree_map
from . import ops_for
from ._adapter import Adapter
from ._table import TABLE

Array = Any

__all__ = ["ADAPTER", "DaskAdapter"]


class DaskAdapter(Adapter):
    """Dask arrays, of NumPy chunks (``device="cpu"``) or of CuPy chunks on a GPU."""

    batches_are_chunks = True

    def parse_device(self, xp: Any, device: str | int) -> Any:
        return "cpu" if device == "cpu" else super().parse_device(xp, device)

    def place(self, host: np.ndarray, xp: Any, dtype: Any, device: Any) -> Array:
        if device == "cpu":
            return super().place(host, xp, dtype, device)
        import cupy  # a one-chunk dask array of CuPy (the only non-CPU chunk type portnet knows)

        return da.from_array(cupy.asarray(host, dtype=dtype), chunks=-1, asarray=False)

    def to_numpy(self, x: Array) -> np.ndarray:
        return to_numpy(compute(x))

    def finite(self, x: Array, check: Callable[..., None]) -> Array:
        """Checked chunk by chunk as ``x`` is computed (predictions stay lazy, and the data is
        read once), an error naming the rows of the chunk that holds NaN or infinity."""
        return x.map_blocks(_checked_chunk, check=check, dtype=x.dtype, meta=x._meta)

    def samples(self, arrays: tuple[Array, ...], rows: int | None) -> tuple[Array, ...]:
        """The first array's rows split into chunks of ``rows`` (None: as they are; dask's
        automatic chunking for data that came from NumPy), every other array's rows chunked
        like the first, each array's columns in one chunk, all persisted together (one
        computation): steps then start from data in memory (a cluster's), never from its
        source again."""
        first = arrays[0].rechunk({0: arrays[0].chunks[0] if rows is None else rows, 1: -1})
        rest = (a.rechunk({0: first.chunks[0], **({1: -1} if a.ndim == 2 else {})})
                for a in arrays[1:])  # fmt: skip
        return persist(first, *rest)

    def to_working(self, tree: Any) -> Any:
        """The small arrays of the chunks' library, on the host, updated there."""
        return compute(tree)

    def from_working(self, tree: Any, be: Any) -> Any:
        return tree_map(lambda a: be.asarray(a, a.dtype) if _is_array(a) else a, tree)

    @property
    def gradients(self) -> Callable[..., Any]:
        """The equations on every chunk of ``(X, Y)`` where it lives (the parameters travel
        to it), the chunks' results reduced by :func:`portnet.network.combine`: one graph
        computation per step, whose result (the size of the parameters) comes back to the
        host for the optimiser's update."""
        return gradients

    def read(self, x: Array) -> float:
        return float(compute(x)) if aac.is_dask_array(x) else float(x)


def options(collections: tuple[Any, ...]) -> dict[str, Any]:
    """How to run Dask here: the scheduler the user chose (a ``distributed.Client``, a
    ``dask.config`` setting) as it is; dask's default threaded scheduler with a thread pool
    of our own whose threads ignore NumPy's floating-point warnings (NumPy keeps them per
    thread, so an ``errstate`` around the step does not reach dask's threads)."""
    found = [c for c in collections if dask.base.is_dask_collection(c)]
    if dask.base.get_scheduler(collections=found or None) is dask.threaded.get:
        return {"scheduler": "threads", "pool": _quiet_pool()}
    return {}


@functools.cache
def _quiet_pool() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(
        max_workers=os.cpu_count() or 1,
        thread_name_prefix="portnet-dask",
        initializer=functools.partial(np.seterr, all="ignore"),
    )


def persist(*collections: Any) -> tuple[Any, ...]:
    """``dask.persist`` of everything given (nested tuples and NamedTuples too): one graph
    computation, whose results stay where they were computed (memory, or a cluster's)."""
    return dask.persist(*collections, **options(collections))


def compute(x: Any) -> Any:
    return dask.compute(x, **options((x,)))[0]


def gradients(
    params: Any, X: Any, Y: Any, net: Any, *, w: Any = None, with_cost: bool = True
) -> tuple[Any, Any]:
    """:func:`portnet.network.cost_and_gradients` over dask arrays ``X`` and ``Y`` (rows in
    the same chunks, columns in one; the weights ``w``, if any, chunked as the rows), chunk
    by chunk: each chunk's weighted mean, combined by the chunks' total weights.

    The step's graph is written out directly (one task per chunk, one for the sum, the
    parameters one node: sent once, not once per chunk) and handed to the scheduler that
    ``X`` answers to (``dask.delayed`` builds it a hundred times slower).
    """
    token = uuid.uuid4().hex
    shared, part, weight, total = (
        f"portnet-{what}-{token}" for what in ("params", "part", "weight", "sum")
    )
    x_graph, x_keys = _chunk_graph(X)
    y_graph, y_keys = _chunk_graph(Y)
    run = functools.partial(_on_chunk, net=net._replace(l2=0.0), with_cost=with_cost)
    graph = {**x_graph, **y_graph, shared: _Box(params)}
    for i, (x, y) in enumerate(zip(x_keys, y_keys, strict=True)):
        graph[(part, i)] = (run, shared, x, y)
    parts = [(part, i) for i in range(len(x_keys))]
    if w is None:  # each chunk's part weighted by its samples m_c
        graph[total] = (
            functools.partial(_combine, sizes=list(X.chunks[0]), net=net),
            parts,
            shared,
        )
    else:  # by its total weight Σw_c
        w_graph, w_keys = _chunk_graph(w)
        graph.update(w_graph)
        for i, key in enumerate(w_keys):
            graph[(part, i)] = (*graph[(part, i)], key)
            graph[(weight, i)] = (_total, key)
        sizes = [(weight, i) for i in range(len(w_keys))]
        graph[total] = (functools.partial(_combine, net=net), parts, shared, sizes)
    get = dask.base.get_scheduler(collections=[X])
    found = options((X,))
    found.pop("scheduler", None)
    return get(graph, total, **found)


def _checked_chunk(chunk: Array, check: Callable[..., None], block_info: Any = None) -> Array:
    rows = (block_info or {}).get(0, {}).get("array-location", [(None, None)])[0]
    check(chunk, "" if rows[0] is None else f" (in rows {rows[0]} to {rows[1] - 1})")
    return chunk


class _Box:
    """The parameters as one value of a dask graph (a tuple there would be read as a task)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _on_chunk(box: _Box, X: Array, Y: Array, w: Array | None = None, **kwargs: Any) -> Any:
    """The cost and gradients of one chunk, with the chunk library's Ops (NumPy's, CuPy's:
    no workspace, the chunks run in threads of their own)."""
    ops = ops_for(aac.array_namespace(X))
    return network.cost_and_gradients(box.value, X, Y, w=w, ops=ops, **kwargs)


def _total(w: Array) -> Array:
    """A chunk's total weight ``Σw_c`` (0-d, of the chunk's library)."""
    return aac.array_namespace(w).sum(w)


def _combine(parts: list[Any], box: _Box, sizes: list[Any], *, net: Any) -> Any:
    return network.combine(parts, sizes=sizes, params=box.value, net=net)


def _chunk_graph(x: Any) -> tuple[dict[Any, Any], list[Any]]:
    """The graph of dask array ``x`` as a plain dict, and its row chunks' keys (remembered
    while ``x`` lives: the same data is used at every step; forgotten with it, so that a
    cluster can release the data once training is done)."""
    found = _GRAPHS.get(id(x))
    if found is None:
        keys = x.__dask_keys__()  # rows' chunks: [key, ...] (1-D), [[key], ...] (2-D)
        found = dict(x.__dask_graph__()), keys if x.ndim == 1 else [k for (k,) in keys]
        _GRAPHS[id(x)] = found
        weakref.finalize(x, _GRAPHS.pop, id(x), None)
    return found


_GRAPHS: dict[int, tuple[dict[Any, Any], list[Any]]] = {}

ADAPTER = DaskAdapter(TABLE["dask"])
