"""Steps between log points recorded once and replayed: CUDA graphs for CuPy and torch.

A small network's full-batch step is some forty kernel launches, each a few microseconds of
Python and driver work, far more than the GPU needs to run it.  A CUDA graph records the
step's launches once and replays them as one: no per-step Python dispatch.

How (:class:`Replay`): the carried state (parameters and optimiser state) lives in fixed
arrays, its *static copy*; one recorded step reads them, computes the next state and writes
it back into them (``dst[...] = src``); replaying it ``k`` times is ``k`` steps.  The
recording is made once per training run (the step function, the data and the state's
shapes do not change within one) and replays the very kernels of the eager step, so the
numbers are the eager step's.  What records and replays (:data:`RECORDERS`):

- ``"torch"``: ``torch.cuda.CUDAGraph`` captured with ``torch.cuda.graph`` (its memory
  pool keeps the step's intermediate arrays for the graph), after warm-up steps on a side
  stream, as torch's documentation prescribes;
- ``"cupy"``: stream capture (``Stream.begin_capture``/``end_capture``) on a non-blocking
  stream after a warm-up step there, every array allocated during the capture kept alive
  with the graph (CuPy's pool would otherwise hand their memory to other arrays while the
  graph still writes into it); ``Graph.launch`` on the current stream;
- ``"host"``: no graph, the step called again: the same static-copy mechanism on the CPU,
  which the tests check bit for bit against the plain loop.

Opt-in (:data:`ENABLED`, or ``PORTNET_CUDA_GRAPHS=1`` in the environment) until it has been
measured on a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ._namespace import array_namespace
from ._precision import on_gpu
from ._trees import tree_leaves as _tree_leaves
from ._trees import tree_map as _tree_map

__all__ = ["ENABLED", "RECORDERS", "Replay", "graph_repeat", "uses_graphs"]

#: whether full-batch runs on CuPy and torch-on-CUDA replay their steps as CUDA graphs
ENABLED = os.environ.get("PORTNET_CUDA_GRAPHS", "").strip() == "1"


def uses_graphs(be: Any) -> str | None:
    """The recorder for backend ``be``'s full-batch steps, or None (the plain loop)."""
    if not ENABLED or be.name not in RECORDERS or not on_gpu(be):
        return None
    return be.name


class Replay:
    """``fn``'s steps on a static copy of the carried state, recorded by ``recorder`` once
    (the first call, for this run's ``args``) and replayed."""

    def __init__(self, step: Callable[..., Any], args: tuple[Any, ...], recorder: str) -> None:
        self.step, self.args, self.recorder = step, args, recorder
        self.static: Any = None
        self.launch: Callable[[], Any] | None = None

    def __call__(self, carry: Any, k: int) -> Any:
        """``k`` steps from ``carry``: a new carry (copies: the static arrays stay ours)."""
        if self.launch is None:
            self.static = _tree_map(_copy, carry)
            self.launch = RECORDERS[self.recorder](self._advance)
        for dst, src in zip(_tree_leaves(self.static), _tree_leaves(carry), strict=True):
            if dst is not src:
                dst[...] = src
        for _ in range(k):
            self.launch()
        return _tree_map(_copy, self.static)

    def _advance(self) -> None:
        """One step, read from the static arrays and written back into them."""
        new = self.step(self.static, *self.args)
        for dst, src in zip(_tree_leaves(self.static), _tree_leaves(new), strict=True):
            if dst is not src:
                dst[...] = src


def _copy(a: Any) -> Any:
    return array_namespace(a).asarray(a, copy=True)


def graph_repeat(fn: Callable[..., Any], recorder: str, **static: Any) -> Callable[..., Any]:
    """:meth:`portnet._backend.Backend.compile_repeat`'s ``run`` with its ``n − 1`` silent
    steps replayed (the first, which reports the cost, runs as it is)."""
    replays: dict[tuple[int, ...], Replay] = {}

    def step(carry: Any, *args: Any) -> Any:
        return fn(carry, *args, report=False, **static)[0]

    def run(carry: Any, *args: Any, n: int) -> tuple[Any, Any]:
        carry, first = fn(carry, *args, report=True, **static)
        if n > 1:
            key = tuple(map(id, args))
            replay = replays.get(key)
            if replay is None or any(a is not b for a, b in zip(replay.args, args, strict=True)):
                replay = replays[key] = Replay(step, args, recorder)
            carry = replay(carry, n - 1)
        return carry, first

    return run


def _record_host(advance: Callable[[], None]) -> Callable[[], None]:
    return advance


def _record_torch(advance: Callable[[], None]) -> Callable[[], None]:
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):  # warm-up (cuBLAS handles and workspaces, the caching allocator)
            advance()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        advance()
    return graph.replay


def _record_cupy(advance: Callable[[], None]) -> Callable[[], None]:
    import cupy

    pool, kept = cupy.get_default_memory_pool(), []

    def malloc(size: int) -> Any:
        memory = pool.malloc(size)
        kept.append(memory)  # alive as long as the graph: its kernels write there
        return memory

    stream, current = cupy.cuda.Stream(non_blocking=True), cupy.cuda.get_current_stream()
    stream.wait_event(current.record())
    with stream:
        advance()  # warm-up: kernels compiled, cuBLAS set up for this stream
        with cupy.cuda.using_allocator(malloc):
            stream.begin_capture()
            try:
                advance()
            finally:
                graph = stream.end_capture()
    current.wait_event(stream.record())

    def launch() -> None:
        graph.launch(cupy.cuda.get_current_stream())

    launch.kept = kept  # type: ignore[attr-defined]
    return launch


#: recorder name -> ``record(advance) -> launch``
RECORDERS: dict[str, Callable[[Callable[[], None]], Callable[[], Any]]] = {
    "host": _record_host,
    "torch": _record_torch,
    "cupy": _record_cupy,
}
