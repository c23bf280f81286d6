"""Backend plumbing: the one place that knows about specific array libraries.

Everything else in portnet is written against the array API standard.  This module
resolves a backend name (or namespace) to an array namespace, places data and parameters
on a device, casts to the chosen dtype, compiles the training step (``jax.jit``) and reads
scalars back to the host (the only synchronisation points of training).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat as aac
import numpy as np

from .ops import Ops

Array = Any

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "Backend",
    "backend_of",
    "gpu_device",
    "gpu_status",
    "resolve_backend",
    "to_numpy",
]

logger = logging.getLogger("portnet")

#: sets the default backend (for ``backend=None`` with NumPy/list input, and ``backend="auto"``)
ENV_VAR = "PORTNET_BACKEND"

#: name -> (module imported to check availability, namespace module, extra to install)
_TABLE: dict[str, tuple[str, str, str | None]] = {
    "numpy": ("numpy", "array_api_compat.numpy", None),
    "cupy": ("cupy", "array_api_compat.cupy", "cupy"),
    "jax": ("jax", "jax.numpy", "jax"),
    "torch": ("torch", "array_api_compat.torch", "torch"),
    "array_api_strict": ("array_api_strict", "array_api_strict", "strict"),
    "dask": ("dask.array", "array_api_compat.dask.array", "dask"),
}
BACKENDS: tuple[str, ...] = tuple(_TABLE)

_IS_NAMESPACE: dict[str, Callable[[Any], bool]] = {
    "numpy": aac.is_numpy_namespace,
    "cupy": aac.is_cupy_namespace,
    "jax": aac.is_jax_namespace,
    "torch": aac.is_torch_namespace,
    "array_api_strict": aac.is_array_api_strict_namespace,
    "dask": aac.is_dask_namespace,
}


def _require(name: str) -> Any:
    """Import the library behind backend ``name``; ImportError naming the extra if missing."""
    module, _, extra = _TABLE[name]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"backend {name!r} needs {module!r}, which is not installed: "
            f"pip install 'portnet[{extra}]'"
        ) from exc


def _import_namespace(name: str) -> Any:
    _require(name)
    return importlib.import_module(_TABLE[name][1])


def backend_of(xp: Any) -> str | None:
    """The registry name of namespace ``xp``, or None for a namespace portnet does not know."""
    if not hasattr(xp, "__name__"):
        return None
    for name, is_namespace in _IS_NAMESPACE.items():
        if is_namespace(xp):
            return name
    return None


def _is_array(x: Any) -> bool:
    return aac.is_array_api_obj(x) and not isinstance(x, (int, float, complex, bool))


def _parse_device(name: str | None, xp: Any, device: Any) -> Any:
    """Turn a user's ``device=`` (an object of the backend, or a string) into a device object."""
    if device is None or not isinstance(device, (str, int)):
        return device
    if name == "jax":
        import jax

        platform, _, index = str(device).partition(":")
        platform = {"cuda": "gpu"}.get(platform, platform)
        if platform == "gpu" and (reason := gpu_status("jax")) is not None:
            raise RuntimeError(_no_gpu_message("jax", device, reason))
        try:
            return jax.devices(platform)[int(index or 0)]
        except (RuntimeError, IndexError) as exc:
            raise ValueError(
                f"JAX has no device {device!r}; available: {[str(d) for d in jax.devices()]}"
            ) from exc
    if name == "torch":
        import torch

        device = torch.device(device)
        if device.type == "cuda" and (reason := gpu_status("torch")) is not None:
            raise RuntimeError(_no_gpu_message("torch", str(device), reason))
        return device
    if name == "array_api_strict":
        return xp.Device(device)
    if name == "cupy":
        import cupy

        return cupy.cuda.Device(int(str(device).rpartition(":")[2] or 0))
    if name in ("numpy", "dask") and device == "cpu":
        return "cpu"
    raise ValueError(f"cannot interpret device {device!r} for backend {name!r}")


@dataclass(frozen=True)
class Backend:
    """An array namespace, a device on it, and how to run and read code there.

    Attributes
    ----------
    name : str
        Registry name (``"numpy"``, ``"jax"``, ...) or the namespace's module name.
    xp : module
        The array namespace (array-api-compat's wrapper where the library needs one).
    device : object
        Where data and parameters live.
    """

    name: str
    xp: Any
    device: Any

    # -- placement ----------------------------------------------------------------------------
    def asarray(self, x: Any, dtype: Any = None, *, what: str = "array") -> Array:
        """``x`` in this namespace, on this device, with ``dtype`` (never a silent downcast)."""
        xp = self.xp
        if _is_array(x) and aac.array_namespace(x) is xp:
            if dtype is not None and x.dtype != dtype:
                x = xp.astype(x, dtype)
            if self.device is not None and aac.device(x) != self.device:
                x = aac.to_device(x, self.device)
            return x
        try:
            host = to_numpy(x)
        except (TypeError, RuntimeError, ValueError) as exc:
            source = backend_of(aac.array_namespace(x)) if _is_array(x) else type(x).__name__
            raise TypeError(
                f"{what} is a {source} array that cannot be moved to backend {self.name!r}; "
                f"pass backend={source!r} (or backend=None to use the input's own backend), "
                "or convert it to NumPy first"
            ) from exc
        if self.name == "dask" and self.device != "cpu":
            return _dask_on_gpu(host, dtype)
        if self.name == "jax" and host.dtype.kind in "biuf":
            return _jax_put(host, dtype, self.device)
        return xp.asarray(host, dtype=dtype, device=self.device)

    def samples(self, *arrays: Array, rows: int | None = None) -> tuple[Array, ...]:
        """Arrays of samples (``X``, ``Y``: rows first) made ready for the training loop.

        On Dask: the first array's rows split into chunks of ``rows`` (None: as they are;
        dask's automatic chunking for data that came from NumPy), every other array's rows
        chunked like the first, each array's columns in one chunk, and all of them persisted
        together (one computation): steps then start from data in memory (a cluster's),
        never from its source again.  Elsewhere: the arrays as they are.
        """
        if self.name != "dask":
            return arrays
        first = arrays[0].rechunk({0: arrays[0].chunks[0] if rows is None else rows, 1: -1})
        rest = (a.rechunk({0: first.chunks[0], 1: -1}) for a in arrays[1:])
        return _dask_persist(first, *rest)

    def full_batch(self, *arrays: Array) -> tuple[Array, ...]:
        """Arrays of samples (``X``, ``Y``: ``(m, n)``) laid out in memory for full-batch
        steps, which read all of them every step and never gather rows.

        On NumPy: column-major (``Xᵀ`` row-major, the course's ``(n, m)`` layout), one copy
        made here, before the first step, where the array is not column-major already.  The
        network multiplies by ``Xᵀ`` (forward: ``W₁ @ Xᵀ``) and by ``X`` (``dW₁ = dZ₁ @ X``),
        and OpenBLAS runs that pair faster this way: 784-128-1, m = 10 000, float32
        0.97× the time with a row-major ``X``, float64 0.96–0.99×; 0.97–1.01× at
        the benchmark's other sizes.  Not for mini-batches: a gather of rows from a
        column-major array reads every column of every row apart (256 rows of a
        (60 000, 784) float32 ``X``: 43 ms, against 17 µs row-major).  Elsewhere: the arrays
        as they are (torch wants row-major ``X``: see
        :class:`portnet.backends.torch.TorchOps`; XLA picks its own layouts).
        """
        if self.name != "numpy":
            return arrays
        return tuple(np.asfortranarray(a) if a.ndim == 2 else a for a in arrays)

    @property
    def gradients(self) -> Callable[..., Any]:
        """How a training step computes the cost and gradients on this backend.

        :func:`portnet.network.cost_and_gradients` itself, except on Dask: data parallelism,
        the same function run on every chunk of ``(X, Y)`` where the chunk lives (the
        parameters travel to it), the chunks' results reduced by
        :func:`portnet.network.combine`: one graph computation per step, of one task per
        chunk and one for the sum, whose result (cost and gradients, the size of the
        parameters) comes back to the host for the optimiser's update.
        """
        from .network import cost_and_gradients

        return _dask_gradients if self.name == "dask" else cost_and_gradients

    def ops(self, *, run: bool = False) -> Any:
        """The :class:`portnet.ops.Ops` this backend runs the equations with (its library's
        own where it has one: :mod:`portnet.backends`); ``run=True``: a new one for one
        training run, keeping its products' memory from step to step where the library's
        Ops does (NumPy, torch)."""
        return ops_for(self.xp, run=run)

    def run_gradients(self) -> Callable[..., Any]:
        """:attr:`gradients` for one training run, with the run's own :meth:`ops` (which
        lives as long as the run holds the returned function).  On JAX (the plain Ops, the
        default) :attr:`gradients` itself: a static argument of the compiled step, the same
        object every run.
        """
        ops = self.ops(run=True)
        if type(ops) is Ops:
            return self.gradients
        return functools.partial(self.gradients, ops=ops)

    def to_working(self, tree: Any) -> Any:
        """Parameters (or optimiser state) as the training loop carries them between steps:
        on Dask the small arrays of the chunks' library (NumPy, CuPy) on the host, updated
        there; elsewhere as they are."""
        if self.name != "dask":
            return tree
        return _dask_compute(tree)

    def from_working(self, tree: Any) -> Any:
        """The inverse of :meth:`to_working`: arrays of this backend again (for a Model)."""
        if self.name != "dask":
            return tree
        return _tree_map(lambda a: self.asarray(a, a.dtype) if _is_array(a) else a, tree)

    @property
    def batches_are_chunks(self) -> bool:
        """Whether a mini-batch is a whole chunk of the data (Dask), not rows gathered from
        anywhere (a gather across chunks would move the whole data set every step)."""
        return self.name == "dask"

    def dtype(self, dtype: Any, x: Any = None) -> Any:
        """Resolve ``dtype`` (None, a name or a dtype object) to a floating dtype here.

        None takes the floating dtype of ``x`` when ``x`` is an array with one, else the
        backend's default real floating dtype on this device.  float64 where the backend or
        device has none (JAX without x64, a no-float64 device) is an error, never float32.
        """
        xp = self.xp
        info = xp.__array_namespace_info__()
        if self.name == "jax":  # 130 µs a call there (jax 0.10), and read every `train`
            supported = _jax_floating(self.device, _jax_x64())
        else:
            supported = info.dtypes(device=self.device, kind="real floating")
        if dtype is None:
            source = getattr(x, "dtype", None) if _is_array(x) else None
            name = _float_name(source)
            if name is None:
                return info.default_dtypes(device=self.device)["real floating"]
            why = f"X has dtype {name}"
        else:
            name = _float_name(dtype)
            if name is None:
                raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
            why = f"dtype={name!r} was asked for"
        if name == "float64" and self.name == "jax" and not _jax_x64():
            raise ValueError(
                f"float64 on JAX needs x64 mode ({why}): set JAX_ENABLE_X64=1 or call "
                "jax.config.update('jax_enable_x64', True) before creating arrays, "
                "or pass dtype='float32'"
            )
        if name not in supported:
            raise ValueError(
                f"{name} is not supported by backend {self.name!r} on device {self.device!r} "
                f"({why}); supported: {sorted(supported)}; pass dtype='float32'"
            )
        return supported[name]

    # -- running --------------------------------------------------------------------------------
    def compile(self, fn: Callable[..., Any], **static: Any) -> Callable[..., Any]:
        """``fn`` with the keyword arguments ``static`` bound, compiled for this backend.

        On JAX: ``jax.jit`` with ``static`` as static arguments (hashable: the network, the
        optimiser), one jitted function per ``fn`` for the whole process, so a step compiled
        for one ``train`` call is reused by the next with the same configuration and shapes.
        Elsewhere: ``fn`` itself.
        """
        if self.name == "jax":
            return functools.partial(_jitted(fn, tuple(sorted(static))), **static)
        return _quiet(functools.partial(fn, **static))

    def compile_repeat(self, fn: Callable[..., Any], **static: Any) -> Callable[..., Any]:
        """``run(carry, *args, n=...)``: ``n`` (≥ 1) successive ``carry, out = fn(carry, *args,
        report=..., **static)``; returns the last carry and the *first* call's ``out``.

        Only the first call is asked for its ``out`` (``report=True``); the others get
        ``report=False`` and may skip computing it.

        On JAX the whole run is one compiled program (``lax.fori_loop``, ``n`` a traced
        bound, so every ``n`` shares one compilation): one dispatch for ``n`` steps instead
        of ``n``.  On CuPy and torch on CUDA with CUDA graphs on
        (:mod:`portnet._graphs`, opt-in): the silent steps replayed as one recorded graph.
        Elsewhere (Dask included: see :attr:`gradients`): a Python loop over ``fn``.
        """
        if self.name == "jax":
            return functools.partial(_jitted_repeat(fn, tuple(sorted(static))), **static)
        from . import _graphs

        recorder = _graphs.uses_graphs(self)
        if recorder is not None:
            return _quiet(_graphs.graph_repeat(fn, recorder, **static))

        def run(carry: Any, *args: Any, n: int) -> tuple[Any, Any]:
            carry, first = fn(carry, *args, report=True, **static)
            for _ in range(n - 1):
                carry, _ = fn(carry, *args, report=False, **static)
            return carry, first

        return _quiet(run)

    def unique_values(self, x: Array) -> Array:
        """The sorted distinct values of the 1-D array ``x`` (of this backend), here.

        On JAX computed on the host from one explicit transfer of ``x``:
        ``jnp.unique_values`` runs eagerly (its result's size depends on the values) and
        reads that size back implicitly, a transfer that
        ``jax.transfer_guard_device_to_host("disallow")`` refuses on a GPU.
        """
        if self.name == "jax":
            return self.asarray(np.unique(to_numpy(x)))
        return self.xp.unique_values(x)

    def read(self, x: Array) -> float:
        """A 0-d array as a Python float: a device-to-host synchronisation point.

        On JAX the transfer is explicit (``jax.device_get``), so it is allowed under
        ``jax.transfer_guard_device_to_host("disallow")``, which forbids implicit ones.
        """
        if self.name == "jax":
            import jax

            return float(jax.device_get(x))
        if aac.is_dask_array(x):
            return float(_dask_compute(x))
        return float(x)


def ops_for(xp: Any, *, run: bool = False) -> Ops:
    """The :class:`portnet.ops.Ops` for namespace ``xp``: NumPy's, CuPy's and torch's own
    (:mod:`portnet.backends`; ``run=True``: with a workspace of its own where the library's
    Ops keeps one), the plain one elsewhere."""
    if aac.is_numpy_namespace(xp):
        from .backends.numpy import NumpyOps

        return NumpyOps(xp, workspace=run)
    if aac.is_torch_namespace(xp):
        from .backends.torch import TorchOps

        return TorchOps(xp, workspace=run)
    if aac.is_cupy_namespace(xp):
        from .backends.cupy import CupyOps

        return CupyOps(xp)
    return Ops(xp)


def _quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with NumPy's floating-point warnings off (NumPy, and array-api-strict, which
    computes with NumPy).

    A diverging run overflows to inf and then nan; that is not a warning to print at every
    step but an error to raise once, naming the step: the training loop checks every cost
    it reads and raises :class:`portnet.DivergenceError`.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return fn(*args, **kwargs)

    return run


# -- Dask ------------------------------------------------------------------------------------------
def _dask_options(collections: tuple[Any, ...]) -> dict[str, Any]:
    """How to run Dask here: the scheduler the user chose (a ``distributed.Client``, a
    ``dask.config`` setting) as it is; dask's default threaded scheduler with a thread pool
    of our own whose threads ignore NumPy's floating-point warnings (NumPy keeps them per
    thread, so the ``errstate`` of :func:`_quiet` does not reach dask's threads)."""
    import dask.base
    import dask.threaded

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


def _dask_persist(*collections: Any) -> tuple[Any, ...]:
    """``dask.persist`` of everything given (nested tuples and NamedTuples too): one graph
    computation, whose results stay where they were computed (memory, or a cluster's)."""
    import dask

    return dask.persist(*collections, **_dask_options(collections))


def _dask_compute(x: Any) -> Any:
    import dask

    return dask.compute(x, **_dask_options((x,)))[0]


def _dask_gradients(
    params: Any, X: Any, Y: Any, net: Any, *, with_cost: bool = True
) -> tuple[Any, Any]:
    """:func:`portnet.network.cost_and_gradients` over dask arrays ``X`` and ``Y`` (rows in
    the same chunks, columns in one), chunk by chunk: see :attr:`Backend.gradients`.

    The step's graph is written out directly (one task per chunk, one for the sum, the
    parameters one node: sent once, not once per chunk) and handed to the scheduler that
    ``X`` answers to: building it through ``dask.delayed`` cost ~15 ms a step here, this
    ~0.1 ms.
    """
    import dask.base

    from .network import cost_and_gradients

    token = uuid.uuid4().hex
    shared, part, total = (f"portnet-{what}-{token}" for what in ("params", "part", "sum"))
    x_graph, x_keys = _chunk_graph(X)
    y_graph, y_keys = _chunk_graph(Y)
    run = functools.partial(
        _unboxed, cost_and_gradients, net=net._replace(l2=0.0), with_cost=with_cost
    )
    graph = {**x_graph, **y_graph, shared: _Box(params)}
    for i, (x, y) in enumerate(zip(x_keys, y_keys, strict=True)):
        graph[(part, i)] = (run, shared, x, y)
    graph[total] = (
        functools.partial(_combine, sizes=list(X.chunks[0]), net=net),
        [(part, i) for i in range(len(x_keys))],
        shared,
    )
    get = dask.base.get_scheduler(collections=[X])
    options = _dask_options((X,))
    options.pop("scheduler", None)
    return get(graph, total, **options)


class _Box:
    """The parameters as one value of a dask graph (a tuple there would be read as a task)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _unboxed(fn: Callable[..., Any], box: _Box, *args: Any, **kwargs: Any) -> Any:
    """``fn`` of the parameters and a chunk's arrays, with the chunk library's Ops (NumPy's,
    CuPy's: no workspace, the chunks run in threads of their own)."""
    ops = ops_for(aac.array_namespace(args[0]))
    return fn(box.value, *args, ops=ops, **kwargs)


def _combine(parts: list[Any], box: _Box, *, sizes: list[int], net: Any) -> Any:
    from .network import combine

    return combine(parts, sizes=sizes, params=box.value, net=net)


def _chunk_graph(x: Any) -> tuple[dict[Any, Any], list[Any]]:
    """The graph of dask array ``x`` as a plain dict, and its row chunks' keys (remembered
    while ``x`` lives: the same data is used at every step; forgotten with it, so that a
    cluster can release the data once training is done)."""
    found = _GRAPHS.get(id(x))
    if found is None:
        found = dict(x.__dask_graph__()), [k for (k,) in x.__dask_keys__()]
        _GRAPHS[id(x)] = found
        weakref.finalize(x, _GRAPHS.pop, id(x), None)
    return found


_GRAPHS: dict[int, tuple[dict[Any, Any], list[Any]]] = {}


def _tree_leaves(tree: Any) -> list[Any]:
    """The leaves of nested tuples and NamedTuples, in order (as :func:`_tree_map` visits them)."""
    if isinstance(tree, tuple):
        return [leaf for child in tree for leaf in _tree_leaves(child)]
    return [tree]


def _tree_map(f: Callable[[Any], Any], tree: Any) -> Any:
    """``f`` on every leaf of nested tuples and NamedTuples."""
    if isinstance(tree, tuple):
        mapped = [_tree_map(f, t) for t in tree]
        return type(tree)(*mapped) if hasattr(tree, "_fields") else tuple(mapped)
    return f(tree)


def _dask_on_gpu(host: np.ndarray, dtype: Any) -> Any:
    """A one-chunk dask array of CuPy (the only non-CPU chunk type portnet knows)."""
    import cupy
    import dask.array as da

    return da.from_array(cupy.asarray(host, dtype=dtype), chunks=-1, asarray=False)


@functools.cache
def _jitted(fn: Callable[..., Any], static_argnames: tuple[str, ...]) -> Callable[..., Any]:
    import jax

    return jax.jit(fn, static_argnames=static_argnames)


@functools.cache
def _jitted_repeat(fn: Callable[..., Any], static_argnames: tuple[str, ...]) -> Callable[..., Any]:
    import jax

    def run(carry: Any, *args: Any, n: Any, **static: Any) -> tuple[Any, Any]:
        carry, first = fn(carry, *args, report=True, **static)
        rest = lambda i, c: fn(c, *args, report=False, **static)[0]  # noqa: E731
        carry = jax.lax.fori_loop(1, n, rest, carry)
        return carry, first

    return jax.jit(run, static_argnames=static_argnames)


def _float_name(dtype: Any) -> str | None:
    if dtype is None:
        return None
    text = dtype if isinstance(dtype, str) else str(getattr(dtype, "name", dtype))
    for name in ("float32", "float64"):
        if text == name or text.endswith("." + name):
            return name
    return None


def _jax_x64() -> bool:
    import jax

    return bool(jax.config.read("jax_enable_x64"))


@functools.cache
def _jax_floating(device: Any, x64: bool) -> dict[str, Any]:
    """JAX's real floating dtypes on ``device`` with x64 mode ``x64`` (which they depend on)."""
    import jax.numpy as jnp

    return dict(jnp.__array_namespace_info__().dtypes(device=device, kind="real floating"))


def _jax_put(host: np.ndarray, dtype: Any, device: Any) -> Any:
    """Host numbers as a JAX array on ``device``, with ``dtype`` (None: JAX's for ``host``).

    What ``jnp.asarray(host, dtype=dtype, device=device)`` makes (dtype canonicalised the
    same way: int64 is int32 without x64), in 20 µs against 100 for that call (jax 0.10;
    its ``device=`` costs the 80).  On CPU JAX may keep using the memory ``device_put`` is
    given (it did with x64 on, jax 0.10), so that memory is never the caller's: ``host``
    (a NumPy array passed in, or a view of a CPU tensor) is copied unless the cast to
    ``dtype`` made a new array already.
    """
    import jax

    arr = np.asarray(host, dtype=dtype)
    if arr is host and getattr(device, "platform", "cpu") == "cpu":
        arr = arr.copy()
    return jax.device_put(arr, device)


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy copy of ``x`` (lists, NumPy, or arrays that allow host conversion)."""
    if aac.is_cupy_array(x):
        return x.get()
    if aac.is_torch_array(x):
        return x.detach().cpu().numpy()
    if aac.is_jax_array(x):  # explicit: allowed under JAX's device-to-host transfer guard
        import jax

        return np.asarray(jax.device_get(x))
    if aac.is_dask_array(x):
        return to_numpy(_dask_compute(x))
    try:
        return np.asarray(x)
    except RuntimeError:  # a device that refuses host conversion (array-api-strict "device1")
        xp = aac.array_namespace(x)
        return np.asarray(aac.to_device(x, xp.__array_namespace_info__().default_device()))


# -- GPUs -----------------------------------------------------------------------------------------
_GPU_DEVICE = {"cupy": 0, "jax": "gpu:0", "torch": "cuda:0"}


def gpu_status(name: str) -> str | None:
    """None when backend ``name`` can use a CUDA GPU here, else the reason it cannot.

    Written from each library's documented API: ``cupy.is_available()`` (and, for the
    reason, ``cupy.cuda.runtime.getDeviceCount()``), ``jax.devices("gpu")``,
    ``torch.cuda.is_available()``.  Raises ImportError (naming the extra) if not installed.
    """
    if name not in _GPU_DEVICE:
        return f"backend {name!r} has no GPU support"
    library = _require(name)
    if name == "cupy":
        cupy = library
        if cupy.is_available():
            return None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDARuntimeError: no driver, insufficient driver, ...
            return f"cupy.is_available() is False: {exc}"
        return f"cupy.is_available() is False ({count} CUDA devices)"
    if name == "jax":
        try:
            library.devices("gpu")
        except RuntimeError as exc:
            return f"JAX has no GPU platform ({str(exc).splitlines()[0]})"
        return None
    torch = library
    if torch.cuda.is_available():
        return None
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    return f"torch.cuda.is_available() is False (torch {torch.__version__}, {build})"


def gpu_device(name: str) -> Any:
    """The first CUDA device of backend ``name``, as ``device=`` takes it; RuntimeError if none."""
    reason = gpu_status(name)
    if reason is not None:
        raise RuntimeError(_no_gpu_message(name, _GPU_DEVICE.get(name, "gpu"), reason))
    return _GPU_DEVICE[name]


def _no_gpu_message(name: str, device: Any, reason: str) -> str:
    where = "" if device is None else f" on device {device!r}"
    return (
        f"backend {name!r}{where} needs a usable CUDA GPU, but {reason}. To run on the CPU "
        f"instead, pass backend='auto' (a GPU when one is usable, else NumPy) or leave "
        f"backend unset, and set {ENV_VAR}=numpy to choose the CPU explicitly"
    )


def _auto() -> tuple[str, Any]:
    """``backend="auto"``: the first of CuPy, JAX, torch with a usable GPU, else NumPy."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env and env != "auto":
        logger.info("backend='auto' uses %s=%s", ENV_VAR, env)
        return _env_backend(env), None
    reasons = []
    for name in _GPU_DEVICE:
        if importlib.util.find_spec(_TABLE[name][0]) is None:
            reasons.append(f"{name}: not installed")
            continue
        reason = gpu_status(name)
        if reason is None:
            logger.info("backend='auto' chose %r on %s", name, _GPU_DEVICE[name])
            return name, _GPU_DEVICE[name]
        reasons.append(f"{name}: {reason}")
    logger.info("backend='auto' chose 'numpy': no usable GPU (%s)", "; ".join(reasons))
    return "numpy", None


def _env_backend(value: str) -> str:
    if value not in _TABLE and value != "auto":
        raise ValueError(
            f"{ENV_VAR}={value!r} is not a backend; expected one of {[*BACKENDS, 'auto']}"
        )
    return value


def resolve_backend(backend: Any, X: Any = None, device: Any = None) -> Backend:
    """The :class:`Backend` for a ``backend=`` argument.

    ``backend`` is a registry name, ``"auto"`` (a GPU backend when one is usable, else NumPy;
    ``PORTNET_BACKEND`` overrides the detection), an array namespace, or None: the namespace
    of ``X`` when ``X`` is a non-NumPy array, else ``PORTNET_BACKEND`` if set, else NumPy.
    ``device`` is a device object or string; None keeps the device of ``X`` when ``X`` is
    already in that namespace, else the backend's default device.
    """
    if backend is None:
        if _is_array(X) and not aac.is_numpy_array(X):
            backend = aac.array_namespace(X)
        else:
            backend = _env_backend(os.environ.get(ENV_VAR, "").strip() or "numpy")
    if isinstance(backend, str) and backend == "auto":
        backend, auto_device = _auto()
        device = auto_device if device is None else device
    if isinstance(backend, str):
        if backend not in _TABLE:
            raise ValueError(
                f"unknown backend {backend!r}; expected one of {list(BACKENDS)}, 'auto', "
                "an array namespace, or None (use the input's)"
            )
        if backend == "cupy" and (reason := gpu_status("cupy")) is not None:
            raise RuntimeError(_no_gpu_message("cupy", device, reason))
        name, xp = backend, _import_namespace(backend)
    elif hasattr(backend, "__array_namespace_info__") or backend_of(backend):
        name = backend_of(backend) or getattr(backend, "__name__", repr(backend))
        xp = _import_namespace(name) if name in _TABLE else backend
    else:
        raise TypeError(
            f"backend must be a name in {list(BACKENDS)}, 'auto', an array namespace or None; "
            f"got {backend!r}"
        )
    device = _parse_device(name, xp, device)
    if device is None and _is_array(X) and aac.array_namespace(X) is xp:
        device = aac.device(X)
    if device is None:
        device = _default_device(xp)
    return Backend(name, xp, device)


def _default_device(xp: Any) -> Any:
    """Where the library puts a new array (honours ``torch.set_default_device``,
    ``jax_default_device``, the current CuPy device)."""
    return aac.device(xp.zeros(()))
