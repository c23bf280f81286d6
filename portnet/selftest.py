"""``python -m portnet.selftest``: prove portnet on this machine, with a report to paste.

    python -m portnet.selftest --gpu            # CuPy, JAX and torch on this machine's GPU
    python -m portnet.selftest                  # every installed backend on the CPU

For each backend it checks three things and prints one report (``--json PATH`` writes it as
JSON too):

1. **agreement**: the planar networks of the agreement report (tanh; ReLU, 3 hidden
   layers) trained 1000 steps in float32 and float64 against NumPy in the same dtype
   (:mod:`portnet.agreement`'s tolerances after 100 steps);
2. **no host sync**: full-batch training whose steps between two log points run under the
   library's own guard against synchronisation (JAX: ``transfer_guard_device_to_host
   ("disallow")``; torch on CUDA: ``torch.cuda.set_sync_debug_mode("error")``); where the
   library has none (CuPy, the CPU libraries), portnet's own host reads are counted: one per
   log point;
3. **speed**: time per full-batch step of a 784-1024-1 network at m = 8192 in float32,
   beside NumPy's on the CPU, measured in the same run.

Exit status 0 when every check passed, 1 when one failed, 77 with ``--gpu`` where no
library can use a GPU (nothing was checked).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import agreement, datasets
from ._backend import BACKENDS, Backend, gpu_device, gpu_status, resolve_backend
from ._precision import on_gpu
from ._version import __version__
from .backends import TABLE
from .init import initial_params
from .training import train

__all__ = ["main", "run"]

GPU_LIBRARIES = tuple(name for name, entry in TABLE.items() if entry.gpu is not None)
SKIPPED = 77
CONFIGS = ("planar-tanh", "planar-relu-3")
SPEED_NET, SPEED_M = (784, 1024, 1), 8192


def _agreement(name: str, gpu: bool) -> dict[str, Any]:
    rows = agreement.run(backends=["numpy", name], configs=CONFIGS, gpu=gpu)
    ours = [r for r in rows if r.backend == name]
    bad = [r for r in ours if r.status not in ("pass",)]
    worst = max((r.figures.get("params@100", 0.0) for r in ours), default=float("nan"))
    detail = "; ".join(f"{r.dtype} {r.config}: {r.status} {r.detail}" for r in bad)
    return {
        "passed": not bad,
        "detail": detail or f"{len(ours)} rows within tolerance (worst θ@100 {worst:.1e})",
    }


@contextlib.contextmanager
def _library_guard(be: Backend) -> Iterator[str | None]:
    """The library's guard against host synchronisation while inside (its name), or None
    where it has none."""
    if be.name == "jax" and on_gpu(be):
        import jax

        with jax.transfer_guard_device_to_host("disallow"):
            yield "jax.transfer_guard_device_to_host('disallow')"
        return
    if be.name == "torch" and on_gpu(be):
        import torch

        before = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("error")
        try:
            yield "torch.cuda.set_sync_debug_mode('error')"
        finally:
            torch.cuda.set_sync_debug_mode(before)
        return
    yield None


def _no_host_sync(name: str, device: Any) -> dict[str, Any]:
    """300 full-batch steps, cost read every 100: the steps between log points under the
    library's guard, and portnet's own reads counted."""
    X, y = datasets.planar()
    be = resolve_backend(name, device=device)
    X, y = be.asarray(X, be.dtype("float32")), be.asarray(y)
    reads, guards = [], set()
    original_repeat, original_read = Backend.compile_repeat, Backend.read

    def repeat(self: Backend, fn: Any, **static: Any) -> Any:
        run = original_repeat(self, fn, **static)

        def guarded(*args: Any, **kwargs: Any) -> Any:
            with _library_guard(self) as guard:
                guards.add(guard)
                return run(*args, **kwargs)

        return guarded

    def read(self: Backend, x: Any) -> float:
        reads.append(time.monotonic())
        return original_read(self, x)

    Backend.compile_repeat, Backend.read = repeat, read
    try:
        train(X, y, iterations=300, log_every=100)
        first = len(reads)
        train(X, y, iterations=600, log_every=100)
    except Exception as exc:  # the guard's error: a synchronisation between log points
        return {"passed": False, "detail": f"{type(exc).__name__}: {exc}"}
    finally:
        Backend.compile_repeat, Backend.read = original_repeat, original_read
    extra = (len(reads) - first) - first  # 300 more steps: exactly 3 more log points
    guard = next(iter(guards - {None}), None)
    how = f"steps under {guard}" if guard else "no library guard here: portnet's reads counted"
    passed = extra == 3
    return {"passed": passed, "detail": f"{how}; {extra} more reads for 300 more steps (3 due)"}


def _step_time(name: str, device: Any, X: np.ndarray, y: np.ndarray, params: Any) -> float:
    """Seconds per full-batch float32 step: ``train`` of k steps minus ``train`` of none."""
    be = resolve_backend(name, device=device)
    Xb, yb = be.asarray(X, be.dtype("float32")), be.asarray(y)
    run = lambda k: train(Xb, yb, params=params, iterations=k, log_every=k + 1)  # noqa: E731
    run(2)  # warm-up: compilation, the first allocations
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run(0)
        middle = time.perf_counter()
        run(10)
        times.append(((time.perf_counter() - middle) - (middle - start)) / 10)
    return float(np.median(times))


def _speed(names: Sequence[str], devices: dict[str, Any]) -> dict[str, dict[str, Any]]:

    rng = np.random.default_rng(0)
    X = rng.standard_normal((SPEED_M, SPEED_NET[0])).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    params = initial_params(SPEED_NET, init="glorot", seed=0)
    out = {}
    for name in ("numpy", *names):
        seconds = _step_time(name, devices.get(name), X, y, params)
        out[name] = {"step_s": seconds, "samples_per_s": SPEED_M / seconds}
    return out


def run(*, gpu: bool, backends: Sequence[str] | None = None) -> dict[str, Any]:
    """The self-test's findings: per backend, each check's verdict and detail; the speed."""
    names = list(backends or (GPU_LIBRARIES if gpu else [b for b in BACKENDS if b != "numpy"]))
    report: dict[str, Any] = {"portnet": __version__, "python": platform.python_version()}
    report["machine"], report["backends"], devices = platform.platform(), {}, {}
    for name in names:
        why = _unavailable(name, gpu)
        if why is not None:
            report["backends"][name] = {"status": "not run", "detail": why}
            continue
        devices[name] = gpu_device(name) if gpu else None
        found = {"agreement": _agreement(name, gpu), "no host sync": None}
        if name != "dask":  # Dask's steps read their gradients back to the host each step
            found["no host sync"] = _no_host_sync(name, devices[name])
        device = resolve_backend(name, device=devices[name]).device
        report["backends"][name] = {"status": "run", "device": str(device), **found}
    report["speed"] = _speed([n for n in devices if n != "dask"], devices) if devices else {}
    return report


def _unavailable(name: str, gpu: bool) -> str | None:
    try:
        if gpu:
            return gpu_status(name)
        resolve_backend(name)
    except ImportError as exc:
        return f"not installed ({exc})"
    except (RuntimeError, ValueError) as exc:
        return str(exc)
    return None


def _verdict(report: dict[str, Any]) -> tuple[int, int]:
    """(checks failed, checks passed) over every backend that ran."""
    found = [
        check["passed"]
        for entry in report["backends"].values()
        if entry["status"] == "run"
        for check in (entry["agreement"], entry["no host sync"])
        if check is not None
    ]
    return found.count(False), found.count(True)


def format_report(report: dict[str, Any]) -> str:
    """The report as Markdown, to paste into an issue."""
    failed, passed = _verdict(report)
    lines = [
        f"## portnet {report['portnet']} self-test",
        "",
        f"Python {report['python']}, {report['machine']}",
        "",
        "| backend | device | agreement | no host sync |",
        "| --- | --- | --- | --- |",
    ]
    for name, entry in report["backends"].items():
        if entry["status"] != "run":
            lines.append(f"| {name} | not run: {entry['detail']} | | |")
            continue
        cells = [
            "n/a (Dask reads each step's gradients back by design)"
            if check is None
            else f"{'pass' if check['passed'] else 'FAIL'}: {check['detail']}"
            for check in (entry["agreement"], entry["no host sync"])
        ]
        lines.append(f"| {name} | {entry['device']} | {cells[0]} | {cells[1]} |")
    if report["speed"]:
        net = "-".join(map(str, SPEED_NET))
        lines += ["", f"Speed, {net} at m = {SPEED_M}, float32, one full-batch step:", ""]
        lines += [
            "| backend | time / step | samples/s | × NumPy (CPU) |",
            "| --- | --- | --- | --- |",
        ]
        base = report["speed"]["numpy"]["step_s"]
        for name, figure in report["speed"].items():
            s = figure["step_s"]
            lines.append(
                f"| {name} | {s * 1e3:.2f} ms | {figure['samples_per_s']:.3g} | {base / s:.1f}× |"
            )
    verdict = f"{failed} check(s) FAILED, {passed} passed" if failed else f"all {passed} passed"
    lines += ["", verdict if passed or failed else "nothing was checked"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m portnet.selftest", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--gpu", action="store_true", help="CuPy, JAX and torch on the GPU")
    parser.add_argument("--backends", default=None, help="comma-separated (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="write the report as JSON too")
    args = parser.parse_args(argv)
    names = args.backends.split(",") if args.backends else None
    unknown = sorted(set(names or ()) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backends {unknown}; expected some of {list(BACKENDS)}")
    agreement._enable_jax_x64()  # the self-test owns its process: float64 rows are float64
    report = run(gpu=args.gpu, backends=names)
    failed, passed = _verdict(report)
    report["verdict"] = (
        (f"{failed} failed, {passed} passed" if failed else f"all {passed} passed")
        if passed or failed
        else "nothing was checked"
    )
    text = format_report(report)
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if not (passed or failed):
        return SKIPPED
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
