"""Resolving ``backend=`` and ``device=`` to a :class:`Backend`: a namespace, a device, and
its library's adapter (:mod:`portnet.backends`), which knows how to run things there.

Everything else in portnet is written against the array API standard; what is particular
to one library is its adapter's, and which libraries there are is the table's
(:data:`portnet.backends.TABLE`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import logging
import os
from collections.abc import Callable
from typing import Any

import array_api_compat as aac
import numpy as np

from ._checks import InvalidOptionError
from .backends import BACKENDS, TABLE, Adapter, adapter, name_of, require
from .backends._adapter import ENV_VAR, no_gpu_message
from .network import Layer
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

backend_of = name_of


def _is_array(x: Any) -> bool:
    return aac.is_array_api_obj(x) and not isinstance(x, (int, float, complex, bool))


@dataclasses.dataclass(frozen=True)
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

    @property
    def adapter(self) -> Adapter:
        """Its library's :class:`portnet.backends.Adapter` (the standard's, for a namespace
        portnet does not know)."""
        return adapter(self.name if self.name in TABLE else None)

    # -- placement ----------------------------------------------------------------------------
    def asarray(self, x: Any, dtype: Any = None, *, what: str = "array") -> Array:
        """``x`` in this namespace, on this device, with ``dtype`` (never a silent downcast)."""
        xp = self.xp
        if getattr(x, "requires_grad", False):  # torch: the numbers, not a node of a graph
            x = x.detach()
        if _is_array(x) and aac.array_namespace(x) is xp:
            if dtype is not None and x.dtype != dtype:
                with np.errstate(over="ignore"):  # beyond dtype: infinities, named by checks
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
        with np.errstate(over="ignore"):
            return self.adapter.place(host, xp, dtype, self.device)

    def params(self, params: Any, dtype: Any) -> Any:
        """Per-layer ``(W, b)`` pairs as :class:`portnet.network.Layer` s here, in ``dtype``."""
        return tuple(
            Layer(self.asarray(W, dtype, what="params W"), self.asarray(b, dtype, what="params b"))
            for W, b in params
        )

    def dtype(self, dtype: Any, x: Any = None) -> Any:
        """Resolve ``dtype`` (None, a name or a dtype object) to a floating dtype here.

        None takes the floating dtype of ``x`` when ``x`` is an array with one, else the
        backend's default real floating dtype on this device.  float64 where the backend or
        device has none (JAX without x64, a no-float64 device) is an error, never float32.
        """
        if dtype is None:
            name = _float_name(getattr(x, "dtype", None) if _is_array(x) else None)
            if name is None:
                info = self.xp.__array_namespace_info__()
                return info.default_dtypes(device=self.device)["real floating"]
            why = f"X has dtype {name}"
        else:
            name = dtype_name(dtype)
            why = f"dtype={name!r} was asked for"
        problem = self.adapter.float64_problem(why) if name == "float64" else None
        if problem is not None:
            raise ValueError(problem)
        supported = self.adapter.floating_dtypes(self.xp, self.device)
        if name not in supported:
            raise ValueError(
                f"{name} is not supported by backend {self.name!r} on device {self.device!r} "
                f"({why}); supported: {sorted(supported)}; pass dtype='float32'"
            )
        return supported[name]

    # -- a training run -------------------------------------------------------------------------
    def samples(self, *arrays: Array, rows: int | None = None) -> tuple[Array, ...]:
        """Arrays of samples (``X``, ``Y``: rows first) made ready for the training loop
        (Dask: chunked by ``rows`` and persisted)."""
        return self.adapter.samples(arrays, rows)

    def full_batch(self, *arrays: Array) -> tuple[Array, ...]:
        """Arrays of samples laid out in memory for full-batch steps (NumPy: column-major)."""
        return self.adapter.full_batch(arrays)

    @property
    def batches_are_chunks(self) -> bool:
        """Whether a mini-batch is a whole chunk of the data (Dask), not rows gathered from
        anywhere (a gather across chunks would move the whole data set every step)."""
        return self.adapter.batches_are_chunks

    def to_working(self, tree: Any) -> Any:
        """Parameters (or optimiser state) as the training loop carries them between steps."""
        return self.adapter.to_working(tree)

    def from_working(self, tree: Any) -> Any:
        """The inverse of :meth:`to_working`: arrays of this backend again (for a Model)."""
        return self.adapter.from_working(tree, self)

    def ops(self, *, run: bool = False) -> Any:
        """The :class:`portnet.ops.Ops` this backend runs the equations with (its library's
        own where it has one); ``run=True``: a new one for one training run, keeping its
        products' memory from step to step where the library's Ops does (NumPy, torch)."""
        return self.adapter.ops(self.xp, run=run)

    @property
    def gradients(self) -> Callable[..., Any]:
        """How a training step computes the cost and gradients on this backend
        (:func:`portnet.network.cost_and_gradients`; Dask: chunk by chunk)."""
        return self.adapter.gradients

    def run_gradients(self) -> Callable[..., Any]:
        """:attr:`gradients` for one training run, with the run's own :meth:`ops` (alive as
        long as the run holds the returned function).  Where that is the plain Ops (JAX:
        the default) :attr:`gradients` itself: on JAX a static argument of the compiled
        step, the same object every run."""
        ops = self.ops(run=True)
        if type(ops) is Ops:
            return self.gradients
        return functools.partial(self.gradients, ops=ops)

    # -- running --------------------------------------------------------------------------------
    def compile(self, fn: Callable[..., Any], **static: Any) -> Callable[..., Any]:
        """``fn`` with the keyword arguments ``static`` bound, compiled for this backend
        (JAX: ``jax.jit``, ``static`` its static arguments, hashable)."""
        return self.adapter.compile(fn, static)

    def compile_repeat(self, fn: Callable[..., Any], **static: Any) -> Callable[..., Any]:
        """``run(carry, *args, n=...)``: ``n`` (≥ 1) successive ``carry, out = fn(carry, *args,
        report=..., **static)``; returns the last carry and the *first* call's ``out``
        (only the first is asked to ``report``).  JAX: one compiled program; CuPy and
        torch on CUDA with CUDA graphs on: a recorded graph; elsewhere a Python loop."""
        return self.adapter.compile_repeat(fn, static, self)

    def unique_values(self, x: Array) -> Array:
        """The sorted distinct values of the 1-D array ``x`` (of this backend), here
        (JAX: from one explicit transfer to the host)."""
        return self.adapter.unique_values(x, self)

    def read(self, x: Array) -> float:
        """A 0-d array as a Python float: a device-to-host synchronisation point (explicit
        on JAX, allowed under its transfer guard)."""
        return self.adapter.read(x)

    def wait(self, tree: Any) -> None:
        """Return when the arrays of ``tree`` are computed (JAX, CUDA: work runs on after
        the call that dispatched it returns)."""
        self.adapter.wait(tree)


def _float_name(dtype: Any) -> str | None:
    """``"float32"`` or ``"float64"`` for a spelling of one (a name, NumPy's ``"f4"``/``"f8"``,
    ``float``, ``np.float32``, a dtype object of any array library), else None."""
    if dtype is None or isinstance(dtype, bool):
        return None
    try:
        name = np.dtype(dtype).name  # "f4", float, np.float32, np.dtype, jnp.float32, ...
    except (TypeError, ValueError, SyntaxError):  # torch.float32, array_api_strict.float32
        name = dtype if isinstance(dtype, str) else str(getattr(dtype, "name", dtype))
    for known in ("float32", "float64"):
        if name == known or name.endswith("." + known):
            return known
    return None


def dtype_name(dtype: Any) -> str | None:
    """``dtype=`` as train takes it: None, or "float32"/"float64" for any spelling of one
    (:func:`_float_name`); InvalidOptionError for anything else."""
    if dtype is None:
        return None
    name = _float_name(dtype)
    if name is None:
        raise InvalidOptionError(
            f"dtype must be 'float32' or 'float64', got {_shown(dtype)} (other spellings "
            "of these are taken: np.float32, float, 'f4', a library's float32 ...)"
        )
    return name


def _shown(value: Any) -> str:
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}".removeprefix("builtins.")
    return repr(value)


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy copy of ``x`` (lists, NumPy, or arrays that allow host conversion)."""
    for entry in TABLE.values():
        is_array = getattr(aac, f"is_{entry.compat}_array", None)
        if entry.name != "numpy" and is_array is not None and is_array(x):
            return adapter(entry.name).to_numpy(x)
    return Adapter().to_numpy(x)


# -- GPUs -----------------------------------------------------------------------------------------
def gpu_status(name: str) -> str | None:
    """None when backend ``name`` can use a CUDA GPU here, else the reason it cannot (its
    adapter asks the library: ``cupy.is_available()``, ``jax.devices("gpu")``,
    ``torch.cuda.is_available()``).  Raises ImportError (naming the extra) if not installed.
    """
    if TABLE[name].gpu is None:
        return f"backend {name!r} has no GPU support"
    return adapter(name).gpu_status()


def gpu_device(name: str) -> Any:
    """The first CUDA device of backend ``name``, as ``device=`` takes it; RuntimeError if none."""
    reason = gpu_status(name)
    if reason is not None:
        raise RuntimeError(no_gpu_message(name, TABLE[name].gpu or "gpu", reason))
    return TABLE[name].gpu


def _auto() -> tuple[str, Any]:
    """``backend="auto"``: the first backend of the table with a usable GPU, else NumPy."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env and env != "auto":
        logger.info("backend='auto' uses %s=%s", ENV_VAR, env)
        return _env_backend(env), None
    reasons = []
    for entry in TABLE.values():
        if entry.gpu is None:
            continue
        if importlib.util.find_spec(entry.module.split(".")[0]) is None:
            reasons.append(f"{entry.name}: not installed")
            continue
        reason = gpu_status(entry.name)
        if reason is None:
            logger.info("backend='auto' chose %r on %s", entry.name, entry.gpu)
            return entry.name, entry.gpu
        reasons.append(f"{entry.name}: {reason}")
    logger.info("backend='auto' chose 'numpy': no usable GPU (%s)", "; ".join(reasons))
    return "numpy", None


def _env_backend(value: str) -> str:
    if value not in TABLE and value != "auto":
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
    name, xp = _named(backend, device)
    if isinstance(device, (str, int)):
        device = adapter(name if name in TABLE else None).parse_device(xp, device)
    if device is None and _is_array(X) and aac.array_namespace(X) is xp:
        device = aac.device(X)
    if device is None:
        device = aac.device(xp.zeros(()))  # where the library puts a new array
    return Backend(name, xp, device)


def _named(backend: Any, device: Any) -> tuple[str, Any]:
    """The name and namespace of a ``backend=`` name or namespace."""
    if isinstance(backend, str):
        if backend not in TABLE:
            raise InvalidOptionError(
                f"unknown backend {backend!r}; expected one of {list(BACKENDS)}, 'auto', "
                "an array namespace, or None (use the input's)"
            )
        if not TABLE[backend].cpu and (reason := gpu_status(backend)) is not None:
            raise RuntimeError(no_gpu_message(backend, device, reason))
        return backend, _import_namespace(backend)
    if hasattr(backend, "__array_namespace_info__") or backend_of(backend):
        name = backend_of(backend) or getattr(backend, "__name__", repr(backend))
        return name, _import_namespace(name) if name in TABLE else backend
    raise TypeError(
        f"backend must be a name in {list(BACKENDS)}, 'auto', an array namespace or None; "
        f"got {backend!r}"
    )


def _import_namespace(name: str) -> Any:
    require(name)
    return importlib.import_module(TABLE[name].namespace)
