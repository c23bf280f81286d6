"""JAX: steps compiled by ``jax.jit`` (a log interval's steps as one program), explicit
transfers to and from the device, x64 mode for float64, its precision context; the plain
Ops (XLA fuses and lays out by itself)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

from ._adapter import Adapter, no_gpu_message
from ._table import TABLE

Array = Any

__all__ = ["ADAPTER", "JaxAdapter"]


class JaxAdapter(Adapter):
    """JAX, on its CPU or GPU devices."""

    def parse_device(self, xp: Any, device: str | int) -> Any:
        """``"cpu"``, ``"cpu:1"``, ``"gpu:0"`` (``"cuda:0"``) as a JAX device."""
        platform, _, index = str(device).partition(":")
        platform = {"cuda": "gpu"}.get(platform, platform)
        if platform == "gpu" and (reason := self.gpu_status()) is not None:
            raise RuntimeError(no_gpu_message("jax", device, reason))
        try:
            return jax.devices(platform)[int(index or 0)]
        except (RuntimeError, IndexError) as exc:
            raise ValueError(
                f"JAX has no device {device!r}; available: {[str(d) for d in jax.devices()]}"
            ) from exc

    def gpu_status(self) -> str | None:
        try:
            jax.devices("gpu")
        except RuntimeError as exc:
            return f"JAX has no GPU platform ({str(exc).splitlines()[0]})"
        return None

    def on_gpu(self, device: Any) -> bool:
        return getattr(device, "platform", "cpu") in ("gpu", "cuda")

    @contextlib.contextmanager
    def precision(self, device: Any, precision: str) -> Iterator[None]:
        """``jax.default_matmul_precision``, a context of the calling thread read when a
        computation is traced (the compiled step is cached per mode): JAX's GPU default,
        TF32, overridden for portnet's computations alone."""
        mode = "highest" if precision == "highest" else "tensorfloat32"
        with jax.default_matmul_precision(mode):
            yield

    def place(self, host: np.ndarray, xp: Any, dtype: Any, device: Any) -> Array:
        """What ``jnp.asarray(host, dtype=dtype, device=device)`` makes, through
        ``jax.device_put`` (a fifth of its time).  On the CPU JAX may keep using the memory
        it is given, so that memory is never the caller's: ``host`` is copied unless the
        cast to ``dtype`` made a new array already."""
        if host.dtype.kind not in "biuf":
            return super().place(host, xp, dtype, device)
        arr = np.asarray(host, dtype=dtype)
        if arr is host and getattr(device, "platform", "cpu") == "cpu":
            arr = arr.copy()
        return jax.device_put(arr, device)

    def floating_dtypes(self, xp: Any, device: Any) -> dict[str, Any]:
        return _floating(device, _x64())  # asked of JAX once per (device, x64 mode)

    def float64_problem(self, why: str) -> str | None:
        if _x64():
            return None
        return (
            f"float64 on JAX needs x64 mode ({why}): set JAX_ENABLE_X64=1 or call "
            "jax.config.update('jax_enable_x64', True) before creating arrays, "
            "or pass dtype='float32'"
        )

    def to_numpy(self, x: Array) -> np.ndarray:
        # explicit: allowed under JAX's device-to-host transfer guard
        return np.asarray(jax.device_get(x))

    def compile(self, fn: Callable[..., Any], static: dict[str, Any]) -> Callable[..., Any]:
        """``jax.jit`` with ``static`` as static arguments (hashable: the network, the
        optimiser, the Ops), one jitted function per ``fn`` for the whole process: a step
        compiled for one ``train`` call is reused by the next alike."""
        return functools.partial(_jitted(fn, tuple(sorted(static))), **static)

    def compile_repeat(
        self, fn: Callable[..., Any], static: dict[str, Any], be: Any
    ) -> Callable[..., Any]:
        """The ``n`` steps as one compiled program (``lax.fori_loop``, ``n`` a traced bound:
        every ``n`` shares one compilation): one dispatch instead of ``n``."""
        return functools.partial(_jitted_repeat(fn, tuple(sorted(static))), **static)

    def unique_values(self, x: Array, be: Any) -> Array:
        """On the host from one explicit transfer: ``jnp.unique_values`` reads its result's
        size back implicitly, which JAX's transfer guard refuses on a GPU."""
        return be.asarray(np.unique(self.to_numpy(x)))

    def read(self, x: Array) -> float:
        return float(jax.device_get(x))  # explicit, as to_numpy

    def wait(self, tree: Any) -> None:
        jax.block_until_ready(tree)  # dispatched programs run on after their call returns


def _x64() -> bool:
    return bool(jax.config.read("jax_enable_x64"))


@functools.cache
def _floating(device: Any, x64: bool) -> dict[str, Any]:
    """JAX's real floating dtypes on ``device`` with x64 mode ``x64`` (which they depend on)."""
    import jax.numpy as jnp

    return dict(jnp.__array_namespace_info__().dtypes(device=device, kind="real floating"))


@functools.cache
def _jitted(fn: Callable[..., Any], static_argnames: tuple[str, ...]) -> Callable[..., Any]:
    return jax.jit(fn, static_argnames=static_argnames)


@functools.cache
def _jitted_repeat(fn: Callable[..., Any], static_argnames: tuple[str, ...]) -> Callable[..., Any]:
    def run(carry: Any, *args: Any, n: Any, **static: Any) -> tuple[Any, Any]:
        carry, first = fn(carry, *args, report=True, **static)
        rest = lambda i, c: fn(c, *args, report=False, **static)[0]  # noqa: E731
        carry = jax.lax.fori_loop(1, n, rest, carry)
        return carry, first

    return jax.jit(run, static_argnames=static_argnames)


ADAPTER = JaxAdapter(TABLE["jax"])
