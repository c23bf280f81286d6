"""What every array library does the array-API way: the adapters' common behaviour.

An :class:`Adapter` answers, for one library, the questions portnet's training and
predictions ask of a backend: how to parse a device, place host numbers, lay out and batch
the data, compute gradients, compile a step, read a number back, set the precision of
float32 products.  This base class answers them the standard's way, which is also how an
array namespace portnet does not know is run; each library's module overrides what it
does otherwise.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import array_api_compat as aac
import numpy as np

from .. import _graphs, network
from ..ops import Ops
from ._table import Entry

Array = Any

__all__ = ["ENV_VAR", "Adapter", "no_gpu_message", "quiet"]

#: sets the default backend (for ``backend=None`` with NumPy/list input, and ``backend="auto"``)
ENV_VAR = "PORTNET_BACKEND"


class Adapter:
    """A library's answers (the standard's; a library's adapter overrides its own).

    Parameters
    ----------
    entry : Entry or None
        Its row of :data:`portnet.backends.TABLE`; None for a namespace portnet does not know.
    """

    #: whether a mini-batch is a whole chunk of the data (Dask), not rows gathered anywhere
    batches_are_chunks = False

    def __init__(self, entry: Entry | None = None) -> None:
        self.entry = entry

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.entry.name if self.entry else 'unknown'})"

    # -- devices -------------------------------------------------------------------------------
    def parse_device(self, xp: Any, device: str | int) -> Any:
        """A device object for a user's device string (or number)."""
        raise ValueError(f"cannot interpret device {device!r} for backend {self._name(xp)!r}")

    def gpu_status(self) -> str | None:
        """None when this library can use a CUDA GPU here, else the reason it cannot."""
        return f"backend {self._name(None)!r} has no GPU support"

    def on_gpu(self, device: Any) -> bool:
        """Whether ``device`` is a CUDA GPU."""
        return False

    @contextlib.contextmanager
    def precision(self, device: Any, precision: str) -> Iterator[None]:
        """Inside: float32 products on ``device`` in ``precision`` ("highest", "tf32");
        after: the library's switches as they were (none here: IEEE products only)."""
        yield

    # -- placement -------------------------------------------------------------------------------
    def place(self, host: np.ndarray, xp: Any, dtype: Any, device: Any) -> Array:
        """Host numbers as an array of ``xp`` on ``device`` with ``dtype`` (None: ``xp``'s for
        ``host``)."""
        return xp.asarray(host, dtype=dtype, device=device)

    def finite(self, x: Array, check: Callable[..., None]) -> Array:
        """``x`` after ``check(x)``, which raises if ``x`` holds NaN or infinity (here at once;
        a lazy library may check as ``x`` is computed, calling ``check(chunk, where)``)."""
        check(x)
        return x

    def floating_dtypes(self, xp: Any, device: Any) -> dict[str, Any]:
        """The real floating dtypes ``xp`` has on ``device``, by name."""
        return dict(xp.__array_namespace_info__().dtypes(device=device, kind="real floating"))

    def float64_problem(self, why: str) -> str | None:
        """Why float64 cannot be had here though the device has it (JAX without x64), or None."""
        return None

    def to_numpy(self, x: Array) -> np.ndarray:
        """A host NumPy copy of ``x``, an array of this library."""
        try:
            return np.asarray(x)
        except RuntimeError:  # a device that refuses host conversion (array-api-strict "device1")
            xp = aac.array_namespace(x)
            return np.asarray(aac.to_device(x, xp.__array_namespace_info__().default_device()))

    # -- the data of a training run ----------------------------------------------------------------
    def samples(self, arrays: tuple[Array, ...], rows: int | None) -> tuple[Array, ...]:
        """Arrays of samples (``X``, ``Y``: rows first) made ready for the training loop."""
        return arrays

    def full_batch(self, arrays: tuple[Array, ...]) -> tuple[Array, ...]:
        """Arrays of samples laid out in memory for full-batch steps (read whole every step)."""
        return arrays

    def to_working(self, tree: Any) -> Any:
        """Parameters (or optimiser state) as the training loop carries them between steps."""
        return tree

    def from_working(self, tree: Any, be: Any) -> Any:
        """The inverse of :meth:`to_working`: arrays of backend ``be`` again (for a Model)."""
        return tree

    # -- computing -------------------------------------------------------------------------------
    def ops(self, xp: Any, *, run: bool = False) -> Ops:
        """The :class:`portnet.ops.Ops` the equations run with (``run``: a training run's own)."""
        return Ops(xp)

    @property
    def gradients(self) -> Callable[..., Any]:
        """How a step computes its cost and gradients
        (:func:`portnet.network.cost_and_gradients`)."""
        return network.cost_and_gradients

    def compile(self, fn: Callable[..., Any], static: dict[str, Any]) -> Callable[..., Any]:
        """``fn`` with the keyword arguments ``static`` bound, ready to run here."""
        return quiet(functools.partial(fn, **static))

    def compile_repeat(
        self, fn: Callable[..., Any], static: dict[str, Any], be: Any
    ) -> Callable[..., Any]:
        """``run(carry, *args, n=...)``: ``n`` (≥ 1) successive ``carry, out = fn(carry,
        *args, report=..., **static)``, the last carry and the first call's ``out`` (only the
        first is asked to ``report``): a Python loop, or on a CUDA device with CUDA graphs on
        (``portnet._graphs``, opt-in) the silent steps replayed as one recorded graph."""
        recorder = _graphs.uses_graphs(be)
        if recorder is not None:
            return quiet(_graphs.graph_repeat(fn, recorder, **static))

        def run(carry: Any, *args: Any, n: int) -> tuple[Any, Any]:
            carry, first = fn(carry, *args, report=True, **static)
            for _ in range(n - 1):
                carry, _ = fn(carry, *args, report=False, **static)
            return carry, first

        return quiet(run)

    def unique_values(self, x: Array, be: Any) -> Array:
        """The sorted distinct values of the 1-D array ``x`` of backend ``be``."""
        return be.xp.unique_values(x)

    def read(self, x: Array) -> float:
        """A 0-d array as a Python float: a device-to-host synchronisation point."""
        return float(x)

    def wait(self, tree: Any) -> None:
        """Return when the arrays of ``tree`` are computed (nothing to wait for here: eager)."""

    def _name(self, xp: Any) -> str:
        if self.entry is not None:
            return self.entry.name
        return getattr(xp, "__name__", "unknown")


def no_gpu_message(name: str, device: Any, reason: str) -> str:
    """Why backend ``name`` (on ``device``) cannot run here, and what to do instead."""
    where = "" if device is None else f" on device {device!r}"
    return (
        f"backend {name!r}{where} needs a usable CUDA GPU, but {reason}. To run on the CPU "
        f"instead, pass backend='auto' (a GPU when one is usable, else NumPy) or leave "
        f"backend unset, and set {ENV_VAR}=numpy to choose the CPU explicitly"
    )


def quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with NumPy's floating-point warnings off (NumPy, and the libraries that compute
    with it: array-api-strict, Dask's chunks).

    A diverging run overflows to inf and then nan; that is not a warning to print at every
    step but an error to raise once, naming the step: the training loop checks every cost
    it reads and raises :class:`portnet.DivergenceError`.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return fn(*args, **kwargs)

    return run
