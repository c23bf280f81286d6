"""The GPU batch benchmark: portnet on CuPy, JAX and torch on CUDA against its GPU peers, in one
run that fits a time budget.

    python benchmarks/bench_gpu.py [--out DIR] [--budget SECONDS] [--rounds N]
                                   [--precision highest,tf32] [--tiny] [--cpu-dry-run]
    python benchmarks/bench.py --gpu      # the same, from the CPU benchmark's flag

Contenders, in each round's order: portnet on CuPy, on JAX (its first GPU) and on torch
(``cuda:0``); a PyTorch ``nn`` + autograd + SGD loop on CUDA (torch-nn); JAX
``value_and_grad`` + ``jit`` on the GPU (jax-grad); portnet on NumPy, on the CPU, the
baseline.  Nets, float32: the planar net's whole 10 000-step run (2-4-1, m = 400, cost read
every 1000 steps); 784-1024-1 at m = 8 192; the wide deep net 784-4096-4096-10 at
m = 65 536 (softmax, categorical cross-entropy, labels 0…9); the 256-256-1 sweep over
m = 2¹⁰, 2¹², … 2²² (``--max-m``).  Each in both precision modes (``--precision``):
"highest", IEEE float32 products (JAX told so: its GPU default is TF32), and "tf32", TF32
tensor-core products through each library's own switch (portnet's ``precision=``; torch's
``torch.backends.cuda.matmul``; JAX's ``default_matmul_precision``); NumPy has no TF32 and
runs in "highest" only.

Timing is ``benchmarks/bench.py``'s: warm-up (compilation) first, then rounds interleaved
(every contender once a round), a step's time ``(t(k₀ + k) − t(k₀)) / k``, medians over
rounds; every ``run(steps)`` returns only once its device has finished (portnet ends on a
host read of the cost, torch-nn on ``torch.cuda.synchronize``, jax-grad on
``block_until_ready``).  Per contender and net: time per step, samples/s, TFLOP/s of the
step's matrix products (``bench.flops``) and their fraction of the H200's datasheet peak for
the mode (:data:`H200_PEAKS`, also on another GPU, which the report then names), the step
over its own products (timed the same way in the same round; portnet's contenders), the
peak GPU memory (:class:`CupyMemory`, :class:`TorchMemory`, :class:`JaxMemory`) and the
peak host memory the steps added.  The goals (:func:`goals`) are checked against these
figures and printed, never asserted.

The budget (``--budget``, wall-clock seconds): the nets run in order of importance
(:func:`plan`), each only if its predicted time (:func:`estimate`, from what the run has
measured so far) fits in what is left, and the CPU baseline only where it takes at most
:data:`BASELINE_CAP_S`; what is left out is said on the terminal, in the JSON and in the
Markdown.  ``bench_gpu.json``, ``bench_gpu.md`` and the sweep's samples/s plot are written
after every net, so a run killed at its time limit leaves what it finished.

Without a usable GPU it times nothing, says why for each library, and exits with status 77
("skipped"), unless ``--cpu-dry-run``: then the whole pipeline runs on the CPU with tiny nets
(torch and JAX on the CPU in place of CUDA, CuPy left out, "highest" only: TF32 needs a CUDA
GPU), labelled everywhere as a dry run whose figures are not GPU figures.
"""

from __future__ import annotations

import os

# before JAX's first question to the GPU: allocate as it goes, not 75 % of the GPU up front
# (CuPy's and torch's contenders share the device)
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import argparse
import contextlib
import dataclasses
import datetime
import gc
import importlib.metadata
import importlib.util
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench
import contenders

import portnet
from portnet.backends import TABLE

#: peak TFLOP/s (dense) from NVIDIA's H200 datasheet (SXM): every "fraction of peak" is of
#: these figures, whatever GPU ran (the report says when it was not an H200)
H200_PEAKS = {"FP32": 67.0, "TF32 Tensor Core": 495.0, "FP64 Tensor Core": 67.0}
PEAKS_SOURCE = "NVIDIA H200 datasheet, SXM, dense (TF32 Tensor Core 989 with sparsity)"
#: the peak a precision mode's float32 products are measured against
PEAK_OF_MODE = {"highest": "FP32", "tf32": "TF32 Tensor Core"}
PRECISIONS = ("highest", "tf32")
DTYPE = "float32"
SKIPPED = bench.SKIPPED
GPU_LIBRARIES = tuple(name for name, entry in TABLE.items() if entry.gpu is not None)
#: contender -> the library it needs a GPU of (None: the CPU baseline), in round order
CONTENDERS = {
    "portnet-cupy": "cupy",
    "portnet-cupy-graphs": "cupy",  # its steps replayed as CUDA graphs: the planar run only
    "portnet-jax": "jax",
    "portnet-torch": "torch",
    "portnet-torch-graphs": "torch",
    "torch-nn": "torch",
    "jax-grad": "jax",
    "portnet-numpy": None,
}
BASELINE = "portnet-numpy"
#: the CPU baseline runs on a net only where it is predicted to take at most this (seconds)
BASELINE_CAP_S = 20.0
#: seconds of the budget kept for the last report
RESERVE_S = 5.0
#: rows of random data drawn; a larger batch repeats them (a step's speed does not depend on
#: the values, and drawing 2²² × 256 numbers afresh would take seconds of the budget)
DATA_ROWS = 2**16


# -- what runs -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Net:
    """A network and batch: ``role`` is "planar", "wide", "deep" or "sweep"."""

    role: str
    sizes: tuple[int, ...]
    m: int

    @property
    def name(self) -> str:
        layers = "-".join(map(str, self.sizes))
        if self.role == "planar":
            return f"{layers} (planar)"
        return f"sweep {layers} m={self.m}" if self.role == "sweep" else layers


@dataclasses.dataclass(frozen=True)
class Nets:
    """A run's nets: the planar run's steps, the wide and deep nets, the sweep, and the
    sweep's batch that has a samples/s goal."""

    planar_iterations: int
    wide: Net
    deep: Net
    sweep: tuple[Net, ...]
    goal_m: int


PLANAR = Net("planar", (2, 4, 1), 400)
GPU_NETS = Nets(
    10_000,
    Net("wide", (784, 1024, 1), 8_192),
    Net("deep", (784, 4096, 4096, 10), 65_536),
    tuple(Net("sweep", (256, 256, 1), 2**p) for p in range(10, 23, 2)),
    2**20,
)
#: ``--tiny`` and ``--cpu-dry-run``: the same pipeline in seconds
TINY_NETS = Nets(
    1000,  # bench.planar_run's seeds loop runs whole thousands
    Net("wide", (32, 64, 1), 512),
    Net("deep", (32, 64, 64, 10), 1024),
    tuple(Net("sweep", (16, 16, 1), 2**p) for p in (6, 8, 10)),
    2**8,
)


@dataclasses.dataclass(frozen=True)
class Unit:
    """One net in one precision mode: what the budget runs or skips."""

    net: Net
    precision: str

    @property
    def name(self) -> str:
        return f"{self.net.name} [{self.precision}]"


def plan(nets: Nets, precisions, max_m: int) -> list[Unit]:
    """The run's units in the order they run, the most important first: the planar run,
    784-1024-1, the deep net, then the sweep from small to large, each net in every mode
    (the first given first); the planar run's other modes last (its 2×4 products are no
    work for tensor cores)."""
    units = [Unit(PLANAR, precisions[0])]
    for net in (nets.wide, nets.deep, *(n for n in nets.sweep if n.m <= max_m)):
        units += [Unit(net, p) for p in precisions]
    return units + [Unit(PLANAR, p) for p in precisions[1:]]


def problem(net: Net, seed: int = 0):
    """``X`` (m, n₀) float32, integer labels ``y`` (0/1 for one output, 0…k−1 for k, every
    class present) and the starting parameters (``bench.problem``'s)."""
    rows = min(net.m, DATA_ROWS)
    X0, y0, params = bench.problem(net.sizes, rows, seed)
    k = net.sizes[-1]
    if k > 1:
        noise = np.random.default_rng(seed + 1).standard_normal((rows, k))
        y0 = np.argmax(X0[:, np.arange(k) % X0.shape[1]] + 0.5 * noise, axis=1)
        y0[:k] = np.arange(k)
    X0 = X0.astype(np.float32)
    if rows == net.m:
        return X0, y0.astype(np.int64), params
    return np.resize(X0, (net.m, X0.shape[1])), np.resize(y0, net.m).astype(np.int64), params


# -- GPUs and memory -------------------------------------------------------------------------------
def gpu_libraries() -> dict[str, str | None]:
    """For each of CuPy, JAX, torch: None when it can use a CUDA GPU here, else why not."""
    found = {}
    for name in GPU_LIBRARIES:
        try:
            found[name] = portnet._backend.gpu_status(name)
        except ImportError:
            found[name] = "not installed"
        except Exception as exc:  # a library that fails to start is a reason, not a crash
            found[name] = f"{type(exc).__name__}: {_first_line(exc)}"
    return found


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def unavailable(name: str, libraries: dict, dry_run: bool) -> str | None:
    """Why contender ``name`` cannot run in this run, or None."""
    library = CONTENDERS[name]
    if library is None:
        return None
    if dry_run:
        if library == "cupy":
            return "CuPy runs on CUDA GPUs only: left out of the CPU dry run"
        return None if importlib.util.find_spec(library) else f"{library} is not installed"
    why = libraries.get(library)
    return None if why is None else f"no usable GPU for {library}: {why}"


def _mb(n):
    return None if n is None else n / 2**20


class CupyMemory:
    """CuPy's peak: its pool's unused blocks freed at entry, the bytes it holds at exit (the
    pool keeps every block it took, so that is the most it held in between)."""

    note = "CuPy pool: bytes held after the timing, its unused blocks freed before"

    def __enter__(self):
        import cupy

        self.pool = cupy.get_default_memory_pool()
        self.pool.free_all_blocks()
        self.base = self.pool.used_bytes()
        return self

    def __exit__(self, *exc):
        self.peak = self.pool.total_bytes()

    def figures(self) -> dict:
        return {"gpu_peak_mb": _mb(self.peak), "gpu_base_mb": _mb(self.base)}


class TorchMemory:
    """torch's peak: ``max_memory_allocated`` since ``reset_peak_memory_stats`` at entry (every
    torch tensor on the device: the other torch contender's data included)."""

    note = "torch: max_memory_allocated since reset_peak_memory_stats (all torch tensors)"

    def __init__(self, device="cuda:0"):
        self.device = device

    def __enter__(self):
        import torch

        self.cuda = torch.cuda
        self.cuda.synchronize(self.device)
        self.cuda.empty_cache()
        self.cuda.reset_peak_memory_stats(self.device)
        self.base = self.cuda.memory_allocated(self.device)
        return self

    def __exit__(self, *exc):
        self.peak = self.cuda.max_memory_allocated(self.device)

    def figures(self) -> dict:
        return {"gpu_peak_mb": _mb(self.peak), "gpu_base_mb": _mb(self.base)}


class JaxMemory:
    """JAX's ``peak_bytes_in_use`` (``Device.memory_stats``), which cannot be reset: the peak
    since the process started, and how much this timing raised it; None where the device
    keeps no statistics (the CPU)."""

    note = "JAX: peak_bytes_in_use since the process started (cannot be reset)"

    def __init__(self, device):
        self.device = device

    def _stats(self) -> dict:
        return self.device.memory_stats() or {}

    def __enter__(self):
        stats = self._stats()
        self.base, self.before = stats.get("bytes_in_use"), stats.get("peak_bytes_in_use")
        return self

    def __exit__(self, *exc):
        self.peak = self._stats().get("peak_bytes_in_use")

    def figures(self) -> dict:
        raised = None if None in (self.peak, self.before) else max(0, self.peak - self.before)
        return {
            "gpu_peak_mb": _mb(self.peak),
            "gpu_base_mb": _mb(self.base),
            "gpu_peak_raised_mb": _mb(raised),
        }


class NoMemory:
    """No GPU memory to read (a contender on the CPU)."""

    note = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def figures(self) -> dict:
        return {"gpu_peak_mb": None}


class HostMemory(bench.PeakMemory):
    """``bench.PeakMemory``, or no figure where ``/proc/self/clear_refs`` cannot be written."""

    def __enter__(self):
        try:
            return super().__enter__()
        except OSError:
            self.base = None
            return self

    def __exit__(self, *exc):
        if self.base is None:
            self.peak = None
        else:
            super().__exit__(*exc)

    @property
    def added(self):
        return None if self.base is None else super().added


def memory_reader(name: str, c):
    """The GPU memory reader for contender ``name`` (built: ``c``)."""
    library = CONTENDERS[name]
    if library == "jax":  # the device the contender's data is on (no statistics on the CPU)
        data = c.X if hasattr(c, "X") else None
        return JaxMemory(next(iter(data.devices()))) if data is not None else NoMemory()
    if contenders.PLACE != "gpu" or library is None:
        return NoMemory()
    return CupyMemory() if library == "cupy" else TorchMemory()


def release() -> None:
    """CuPy's and torch's cached GPU memory handed back, for the next library's contender
    (no ``gc.collect()``, which took 0.25 s a call here with JAX and torch loaded: once a
    net, in :func:`measure`)."""
    if "cupy" in sys.modules and contenders.PLACE == "gpu":
        with contextlib.suppress(Exception):
            sys.modules["cupy"].get_default_memory_pool().free_all_blocks()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def device_memory() -> tuple[int, int] | None:
    """``(free, total)`` bytes of the GPU (every library's memory), or None (no GPU library
    can tell, or a CPU run)."""
    if contenders.PLACE != "gpu":
        return None
    for ask in (_cupy_memory, _torch_memory):
        with contextlib.suppress(Exception):
            return ask()
    return None


def _cupy_memory():
    import cupy

    return tuple(cupy.cuda.runtime.memGetInfo())


def _torch_memory():
    import torch

    return tuple(torch.cuda.mem_get_info(0))


def used_memory() -> int:
    """Memory in use now: the GPU's (``total − free``), else this process's resident set."""
    found = device_memory()
    return found[1] - found[0] if found else bench._status_bytes("VmRSS")


# -- measuring -------------------------------------------------------------------------------------
def _device_name(c) -> str:
    if hasattr(c, "be"):  # portnet's contenders
        device = c.be.device
    elif hasattr(c, "device"):  # torch-nn
        device = c.device
    else:  # jax-grad
        device = next(iter(c.X.devices()))
    return str(device)


def _warm_up(c, target: float) -> tuple[int, int, dict]:
    """Compilation and first calls, as ``bench.measure`` makes them; ``(k₀, k, costs)``: the
    fewest steps a call runs, the steps per timing, and the seconds it showed (for
    :func:`estimate`)."""
    k0 = getattr(c, "min_steps", 0)
    start = time.perf_counter()
    c.run(1)
    c.run(k0 + 2)
    t_k0 = min(bench._timed(lambda: c.run(k0)) for _ in range(2))
    t_k0_2 = min(bench._timed(lambda: c.run(k0 + 2)) for _ in range(2))
    warm = time.perf_counter() - start
    step = max((t_k0_2 - t_k0) / 2, 0.0)
    compiled = max(0.0, warm - 6 * t_k0 - 7 * step)
    return k0, bench.steps_per_timing(t_k0, t_k0_2, target), {"setup": t_k0, "compile": compiled}


def _round(name: str, c, k0: int, k: int) -> dict:
    """One round of contender ``c``: its steps timed, then its matrix products alone, with the
    GPU and host memory its steps took and the GPU memory in use after both."""
    release()  # CuPy's and torch's cached blocks handed back (the other library's room)
    bench._settle()
    with memory_reader(name, c) as gpu, HostMemory() as host:
        # untimed: after the release the step's arrays are allocated here, not in the timing
        # (and the first call after the other contenders ran can be slower: bench.measure)
        c.run(k0 + 1)
        bench._settle()
        elapsed = bench._time_steps(c, k0, k)
    if elapsed is None:
        print(
            f"  warning: {name}'s {k0 + k}-step call ran no longer than its {k0}-step call "
            f"in {1 + bench.RETIMES} timings: its step taken as the 1e-12 s floor",
            flush=True,
        )
        elapsed = 1e-12
    used = used_memory() if contenders.PLACE == "gpu" else host.peak
    products = None
    p = c.matmuls()
    if p is not None:
        bench._settle()
        p()  # warm-up: compilation on JAX, the first writes into its arrays
        bench._settle()
        products = bench._timed(lambda: bench._repeat(p, k)) / k
        if contenders.PLACE == "gpu":
            used = max(used, used_memory())
        del p
    figures = {"step": elapsed / k, "products": products, "host_mb": host.added, "used": used}
    return {**figures, **gpu.figures()}


def _build(unit: Unit, names, X, y, params):
    """The contenders of ``names`` built for ``unit``, and why the others could not be."""
    built, missing, costs = {}, {}, {}
    for name in names:
        start = time.perf_counter()
        try:
            built[name] = contenders.make(
                name, X, y, params, DTYPE, bench.LEARNING_RATE, precision=unit.precision
            )
        except Exception as exc:  # not installed, no GPU, out of memory: said, never fatal
            missing[name] = f"not built: {type(exc).__name__}: {_first_line(exc)}"
            continue
        costs[name] = {"build": time.perf_counter() - start}
    return built, missing, costs


def measure(unit: Unit, names, *, rounds: int, target: float, deadline: float):
    """Every contender of ``names`` on ``unit``: ``(rows, costs, need)``.

    ``bench.measure``'s structure (warm-up, then interleaved rounds; the products timed in
    the same round as the steps), with a contender that fails dropped (and said why) instead
    of the net, rounds stopped where the ``deadline`` (``time.monotonic()``) has passed,
    GPU memory read per contender, and ``need``: the most memory (GPU, or host in a CPU
    run) the net took above the level before it, for the sweep's next batch.
    """
    gc.collect()  # the last net's contenders gone before memory is read
    release()
    before = used_memory()
    X, y, params = problem(unit.net)
    built, missing, costs = _build(unit, names, X, y, params)
    del X
    steps = {}
    for name, c in list(built.items()):
        try:
            steps[name] = _warm_up(c, target)
        except Exception as exc:
            missing[name] = f"failed in its warm-up: {type(exc).__name__}: {_first_line(exc)}"
            del built[name]
            continue
        costs[name].update(steps[name][2])
    figures = {name: [] for name in built}
    done = 0
    while done < rounds and not (done and time.monotonic() > deadline):
        for name, c in list(built.items()):
            start = time.perf_counter()
            try:
                figures[name].append(_round(name, c, *steps[name][:2]))
            except Exception as exc:
                why = f"failed in round {done + 1}: {type(exc).__name__}: {_first_line(exc)}"
                missing[name] = why
                del built[name], figures[name]
                continue
            costs[name]["round"] = time.perf_counter() - start  # the last round's wall time
        done += 1
    cut = None if done == rounds else f"{done} of {rounds} rounds: the budget ran out"
    rows = [_row(unit, name, c, figures[name], steps[name][1], cut) for name, c in built.items()]
    for name, row in zip(built, rows, strict=True):
        costs[name]["step"] = row["step_s"]
    built.clear()
    gc.collect()
    release()
    used = [f["used"] for fs in figures.values() for f in fs if f["used"] is not None]
    need = max(used) - before if used else None
    return rows + [{"contender": n, "missing": why} for n, why in missing.items()], costs, need


def _row(unit: Unit, name: str, c, rounds: list[dict], k: int, cut: str | None) -> dict:
    """A contender's figures on ``unit``: medians over its rounds, and each round's."""
    net = unit.net
    steps = [r["step"] for r in rounds]
    step = statistics.median(steps)
    flops = bench.flops(net.sizes, net.m)
    on_gpu = contenders.PLACE == "gpu" and CONTENDERS[name] is not None
    peak = H200_PEAKS[PEAK_OF_MODE[unit.precision]] * 1e12 if on_gpu else None
    products = [r["products"] for r in rounds if r["products"] is not None]
    host = [r["host_mb"] for r in rounds if r["host_mb"] is not None]
    row = {
        "contender": name,
        "device": _device_name(c),
        "precision": unit.precision,
        "step_s": step,
        "samples_per_s": net.m / step,
        "tflops": flops / step / 1e12,
        "peak_fraction": flops / step / peak if peak else None,
        "step_rounds": steps,
        "samples_per_s_rounds": [net.m / s for s in steps],
        "steps_per_timing": k,
        "rounds": len(rounds),
        "host_peak_mb": max(host) if host else None,
        "gpu_memory": memory_reader(name, c).note,
    }
    for key in ("gpu_peak_mb", "gpu_base_mb", "gpu_peak_raised_mb"):
        values = [r[key] for r in rounds if r.get(key) is not None]
        row[key] = max(values) if values else None
    row.update(_products_figures(products, steps, flops, peak))
    if cut:
        row["cut_short"] = cut
    return row


def _products_figures(products, steps, flops, peak) -> dict:
    """The step over its own products, and the products' TFLOP/s, median and per round."""
    if not products or len(products) != len(steps):
        return {"step_over_matmul": None, "products_s": None, "products_tflops": None}
    over = [s / p for s, p in zip(steps, products, strict=True)]
    fractions = [flops / p / peak for p in products] if peak else None
    median = statistics.median(products)
    return {
        "step_over_matmul": statistics.median(over),
        "step_over_matmul_rounds": over,
        "products_s": median,
        "products_tflops": flops / median / 1e12,
        "products_peak_fraction": flops / median / peak if peak else None,
        "products_peak_fraction_rounds": fractions,
    }


# -- the budget ------------------------------------------------------------------------------------
#: first guesses, before a contender has been timed: FLOP/s of a step, seconds of overhead per
#: step, of a call's set-up, of compilation (JAX's traced programs, others' first calls), of
#: building (plus the data's copy at ``transfer`` bytes/s), of a planar 10 000-step run and
#: of compiling portnet-jax's products (each round)
GUESS = {
    "gpu_rate": 5e12,
    "cpu_rate": 2e11,
    "overhead": 2e-4,
    "setup": 0.02,
    "compile_jax": 5.0,
    "compile": 1.0,
    "build": 0.5,
    "transfer": 2e9,
    "planar_run": 2.0,
    "compile_products": 0.5,
}


def _round_seconds(step: float, setup: float, target: float) -> float:
    """A round's predicted seconds: the untimed call, t(k₀), t(k₀ + k), the products' warm-up
    and timing; a timing's k steps as ``bench.steps_per_timing`` picks them (its target, at
    least 2 steps, outweighing the set-up)."""
    timing = max(target, 2 * step, min(bench.SETUP_FACTOR * setup, bench.LONGEST_TIMING))
    return 3 * setup + 2 * step + 2 * timing


def _nearest(seen: list, flops: float) -> dict:
    """Of a contender's timed nets, the largest not larger than ``flops`` (scaled up from),
    else the smallest (a smaller net is taken to cost as much: never scaled down)."""
    below = [o for o in seen if o["flops"] <= flops]
    return max(below, key=lambda o: o["flops"]) if below else min(seen, key=lambda o: o["flops"])


def estimate(name: str, net: Net, seen: dict, *, rounds: int, target: float) -> float:
    """Seconds contender ``name`` is predicted to take on ``net`` (build, warm-up, rounds).

    From the nearest net it ran (:func:`_nearest` of ``seen[name]``, :func:`measure`'s
    costs): its step scaled by the FLOPs (never down: a GPU's small steps are launches,
    not FLOPs), its set-up's forward pass (a third of a step) likewise, its compilation, and
    what its rounds took beyond :func:`_round_seconds` (the settle, compiling the products
    on JAX); first guesses (:data:`GUESS`) before it ran any.
    """
    flops, data = bench.flops(net.sizes, net.m), net.m * net.sizes[0]
    if not seen.get(name):
        on_gpu = contenders.PLACE == "gpu" and CONTENDERS[name] is not None
        step = flops / GUESS["gpu_rate" if on_gpu else "cpu_rate"] + GUESS["overhead"]
        setup = GUESS["setup"] + step / 3
        compiled = GUESS["compile_jax" if "jax" in name else "compile"]
        build = GUESS["build"] + 4 * data / GUESS["transfer"]
        extra = 4 * bench.SETTLE + (GUESS["compile_products"] if name == "portnet-jax" else 0)
    else:
        last = _nearest(seen[name], flops)
        step = last["step"] * max(1.0, flops / last["flops"])
        setup = max(0.0, last["setup"] - last["step"] / 3) + step / 3
        compiled = last["compile"]
        build = last["build"] * max(1.0, data / last["data"])
        modelled = _round_seconds(last["step"], last["setup"], target)
        extra = max(0.0, last.get("round", modelled) - modelled)
    warm = compiled + 6 * setup + 7 * step  # bench.measure's warm-up calls
    return build + warm + rounds * (_round_seconds(step, setup, target) + extra)


def estimate_planar(took: float | None, names, *, rounds: int, iterations: int) -> float:
    """Seconds the planar run is predicted to take: as long as it ``took`` in the first
    mode, else a first guess per contender and round (its warm-up counted as one)."""
    if took is not None:
        return took
    return (rounds + 1) * (len(names) + 1) * GUESS["planar_run"] * iterations / 10_000


def choose(unit: Unit, names, seen: dict, left: float, *, rounds: int, target: float):
    """The contenders that run on ``unit``, the others with the reason, and the predicted
    seconds: the CPU baseline only in "highest" (IEEE float32 alone on the CPU) and where it
    is predicted to take at most :data:`BASELINE_CAP_S` and a quarter of what is ``left``."""
    kept, dropped, total = [], {}, 0.0
    for name in names:
        if name == BASELINE and unit.precision != "highest":
            dropped[name] = f"not run in {unit.precision}: NumPy computes IEEE float32 only"
            continue
        seconds = estimate(name, unit.net, seen, rounds=rounds, target=target)
        cap = min(BASELINE_CAP_S, left / 4)
        if name == BASELINE and seconds > cap:
            dropped[name] = (
                f"not run: predicted ~{seconds:.0f} s on the CPU, more than the baseline's "
                f"{cap:.0f} s on one net"
            )
            continue
        kept.append(name)
        total += seconds
    return kept, dropped, total + 4 * unit.net.m * unit.net.sizes[0] / GUESS["transfer"]


def remember(seen: dict, net: Net, costs: dict) -> None:
    """What each contender's run on ``net`` showed, for the next nets' estimates."""
    flops, data = bench.flops(net.sizes, net.m), net.m * net.sizes[0]
    for name, cost in costs.items():
        if "step" in cost:
            seen.setdefault(name, []).append({"flops": flops, "data": data, **cost})


# -- goals -----------------------------------------------------------------------------------------
def _spread(goal: str, each: list[float], test) -> bench.Check:
    """A goal checked on the median of per-round figures, with their spread."""
    return bench.Check(goal, statistics.median(each), min(each), max(each), test)


def _ratio(goal: str, rows: dict, ours: str, theirs: str, key: str, test):
    """``ours`` over ``theirs`` (per-round figures ``key``), median and round by round; None
    unless both ran."""
    if ours not in rows or theirs not in rows:
        return None
    a, b = rows[ours][key], rows[theirs][key]
    value = statistics.median(a) / statistics.median(b)
    each = [x / y for x, y in zip(a, b, strict=False)]
    return bench.Check(goal, value, min(each), max(each), test)


def _gpu_portnet(rows: dict):
    return [r for n, r in rows.items() if n.startswith("portnet-") and n != BASELINE]


def _net_goals(result: dict, goal_m: int) -> tuple[list, list[str]]:
    """The goals of one net in one mode, and the TF32 figures reported beside them."""
    rows = {r["contender"]: r for r in result["rows"] if "step_s" in r}
    name, mode, role, m = result["net"], result["precision"], result["role"], result["m"]
    checks, beside = [], []
    large = role in ("wide", "deep") or (role == "sweep" and m >= goal_m)
    for r in _gpu_portnet(rows) if large and mode == "highest" else []:
        if r.get("step_over_matmul_rounds"):
            text = f"{name} ({mode}): {r['contender']} step ≤ 1.3× its matrix products"
            checks.append(_spread(text, r["step_over_matmul_rounds"], lambda v: v <= 1.3))
        if r.get("products_peak_fraction_rounds"):
            text = f"{name} ({mode}): {r['contender']}'s products ≥ 60 % of the FP32 peak"
            checks.append(_spread(text, r["products_peak_fraction_rounds"], lambda v: v >= 0.6))
    for ours in ("portnet-cupy", "portnet-jax"):
        text = f"{name} ({mode}): {ours} at least as fast as torch-nn (step ratio ≤ 1)"
        found = _ratio(text, rows, ours, "torch-nn", "step_rounds", lambda v: v <= 1)
        checks += [found] if found else []
    floors = {"wide": (1e7, "10⁷"), "sweep": (1e8, "10⁸")}
    if role in floors and (role == "wide" or m == goal_m):
        unit, words = floors[role]
        floor = 1 if role == "wide" else 1.5
        for r in _gpu_portnet(rows):
            each = [s / unit for s in r["samples_per_s_rounds"]]
            if mode == "highest":
                text = (
                    f"{name} ({mode}): {r['contender']} ≥ {floor:g}×{words} samples/s "
                    f"(figure in {words} samples/s)"
                )
                checks.append(_spread(text, each, lambda v, f=floor: v >= f))
            else:
                beside.append(
                    f"{name} ({mode}): {r['contender']} {r['samples_per_s']:.3g} samples/s"
                )
    return checks, beside


def goals(planar_runs: dict, results: list, nets: Nets) -> tuple[list, list[str]]:
    """The GPU benchmark's goals, each a ``bench.Check`` from this run's figures (per-round
    spread included), and the TF32 mode's figures reported beside them."""
    checks, beside = [], []
    run = f"planar {nets.planar_iterations:,}-step run".replace(",", " ")
    for mode, rows in planar_runs.items():
        rows = {r["contender"]: r for r in rows if "run_s" in r}
        for found in (
            _ratio(
                f"{run} ({mode}): portnet-jax faster than portnet-numpy (CPU)",
                rows, "portnet-jax", BASELINE, "run_rounds", lambda v: v < 1,
            ),
            _ratio(
                f"{run} ({mode}): portnet-cupy within 2× of portnet-jax",
                rows, "portnet-cupy", "portnet-jax", "run_rounds", lambda v: v <= 2,
            ),
            _ratio(
                f"{run} ({mode}): portnet-cupy-graphs within 2× of portnet-jax",
                rows, "portnet-cupy-graphs", "portnet-jax", "run_rounds", lambda v: v <= 2,
            ),
        ):  # fmt: skip
            checks += [found] if found else []
    for result in results:
        more, notes = _net_goals(result, nets.goal_m)
        checks += more
        beside += notes
    return checks, beside


# -- the machine -----------------------------------------------------------------------------------
DISTRIBUTIONS = (
    "numpy", "cupy-cuda12x", "cupy-cuda13x", "jax", "jaxlib", "jax-cuda12-plugin",
    "jax-cuda12-pjrt", "jax-cuda13-plugin", "jax-cuda13-pjrt", "torch", "array-api-compat",
    "scikit-learn", "matplotlib",
)  # fmt: skip


def versions() -> dict[str, str]:
    """Python's and the installed libraries' versions (cupy-cuda12x or -13x, JAX's plugins)."""
    found = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[dist] = importlib.metadata.version(dist)
    return found


def _asked(fn):
    """``fn()``, or what went wrong as text: a machine record never stops the run."""
    try:
        return fn()
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}: {_first_line(exc)}"


def nvidia_smi() -> dict:
    """The GPU as ``nvidia-smi`` sees it (name, driver, memory; the CUDA version its header
    names), or None without it."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return {"nvidia-smi": None}

    def ask(*args):
        done = subprocess.run([smi, *args], capture_output=True, text=True, timeout=30)
        return (done.stdout or done.stderr).strip()

    query = _asked(
        lambda: ask("--query-gpu=name,driver_version,memory.total", "--format=csv,noheader")
    )
    header = _asked(lambda: ask())
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", header) if isinstance(header, str) else None
    return {"nvidia-smi": query, "nvidia-smi CUDA version": cuda.group(1) if cuda else None}


def _cuda_version(n: int) -> str:
    return f"{n // 1000}.{n % 1000 // 10}"


def _cupy_view() -> dict:
    import cupy

    runtime = cupy.cuda.runtime
    props = runtime.getDeviceProperties(0)
    return {
        "name": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
        "compute capability": f"{props['major']}.{props['minor']}",
        "memory GiB": props["totalGlobalMem"] / 2**30,
        "driver CUDA": _cuda_version(runtime.driverGetVersion()),
        "runtime CUDA": _cuda_version(runtime.runtimeGetVersion()),
    }


def _torch_view() -> dict:
    import torch

    props = torch.cuda.get_device_properties(0)
    return {
        "name": torch.cuda.get_device_name(0),
        "compute capability": "{}.{}".format(*torch.cuda.get_device_capability(0)),
        "memory GiB": props.total_memory / 2**30,
        "torch CUDA": torch.version.cuda,
    }


def _jax_view() -> dict:
    import jax

    device = jax.devices("gpu")[0]
    return {
        "name": device.device_kind,
        "device": str(device),
        "platform version": _asked(lambda: device.client.platform_version),
    }


def machine(libraries: dict) -> dict:
    """The GPU (``nvidia-smi`` and each usable library's own query), its name, and whether it
    is the H200 the peaks are of."""
    views = {"cupy": _cupy_view, "jax": _jax_view, "torch": _torch_view}
    seen = {name: _asked(views[name]) for name, why in libraries.items() if why is None}
    found = {**nvidia_smi(), "libraries": seen}
    names = [v["name"] for v in seen.values() if isinstance(v, dict) and v.get("name")]
    smi = found["nvidia-smi"]
    if not names and isinstance(smi, str) and smi and not smi.startswith("unavailable"):
        names = [smi.split(",")[0].strip()]
    found["gpu_name"] = names[0] if names else None
    found["h200"] = bool(names) and "H200" in names[0].upper()
    return found


# -- reporting -------------------------------------------------------------------------------------
DRY_RUN_LABEL = (
    "CPU DRY RUN: torch and JAX on the CPU in place of CUDA, CuPy left out, tiny nets; a test "
    "of the pipeline whose figures are NOT GPU figures"
)


def _num(v, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def _percent(v) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def table(rows) -> str:
    """A net's rows as a Markdown table (fractions of the H200's datasheet peak)."""
    lines = [
        "| contender | device | time / step | samples/s | TFLOP/s | of H200 peak | step / products "
        "| products TFLOP/s (of peak) | GPU peak MB | host MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "missing" in r:
            lines.append(f"| {r['contender']} | not run: {r['missing']} | | | | | | | | |")
            continue
        products = _num(r["products_tflops"], ".1f")
        if r.get("products_peak_fraction") is not None:
            products += f" ({_percent(r['products_peak_fraction'])})"
        lines.append(
            f"| {r['contender']} | {r['device']} | {bench._fmt_time(r['step_s'])} "
            f"| {r['samples_per_s']:.3g} | {r['tflops']:.2f} | {_percent(r['peak_fraction'])} "
            f"| {_num(r['step_over_matmul'], '.2f')} | {products} "
            f"| {_num(r['gpu_peak_mb'], '.0f')} | {_num(r['host_peak_mb'], '.0f')} |"
            + (f" {r['cut_short']}" if r.get("cut_short") else "")
        )
    return "\n".join(lines)


def planar_table(rows) -> str:
    base = next((r["run_s"] for r in rows if r["contender"] == BASELINE and "run_s" in r), None)
    lines = [
        "| contender | device | run | × seeds loop | × portnet-numpy (CPU) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "missing" in r:
            lines.append(f"| {r['contender']} | not run: {r['missing']} | | | |")
            continue
        vs = f"{r['run_s'] / base:.2f}×" if base else "—"
        lines.append(
            f"| {r['contender']} | {r['device']} | {r['run_s']:.3f} s | {r['ratio']:.2f}× | {vs} |"
        )
    return "\n".join(lines)


@dataclasses.dataclass
class Report:
    """What the run has found so far, written to ``out`` whenever a net is done."""

    out: Path
    meta: dict
    nets: Nets
    units: list
    planar: dict = dataclasses.field(default_factory=dict)  # mode -> rows
    results: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)  # {"unit", "why"}
    failed: list = dataclasses.field(default_factory=list)  # {"unit", "error"}
    plotted: int = 0  # sweep batches in the plots written

    def summary(self, checks) -> str:
        met = sum(c.met for c in checks)
        timed = len(self.planar) + len(self.results)
        return (
            ("CPU DRY RUN, not GPU figures: " if self.meta["dry_run"] else "")
            + f"{self.meta['machine'].get('gpu_name') or 'no GPU'}: {timed} of "
            f"{len(self.units)} nets × modes timed, {len(self.skipped)} skipped, "
            f"{len(self.failed)} failed; goals: {met} met, {len(checks) - met} missed "
            f"({sum(not c.clear for c in checks)} within the rounds' noise)"
        )

    def write(self, started: float, *, complete: bool = False) -> tuple[list, list[str]]:
        """bench_gpu.json, bench_gpu.md and the sweep's plots (with matplotlib), from the
        figures so far; the goals and the TF32 figures beside them."""
        checks, beside = goals(self.planar, self.results, self.nets)
        data = {
            "summary": self.summary(checks),
            **self.meta,
            "elapsed_s": time.monotonic() - started,
            "complete": complete,
            "plan": [u.name for u in self.units],
            "planar_run": self.planar,
            "results": self.results,
            "skipped": self.skipped,
            "failed": self.failed,
            "goals": [c.as_json() for c in checks],
            "beside": beside,
        }
        self.out.mkdir(parents=True, exist_ok=True)
        _write(self.out / "bench_gpu.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        _write(self.out / "bench_gpu.md", self.markdown(data, checks))
        self.plot()
        return checks, beside

    def markdown(self, data: dict, checks) -> str:
        meta, md = self.meta, ["# portnet GPU batch benchmark\n"]
        if meta["dry_run"]:
            md.append(f"**{DRY_RUN_LABEL}.**\n")
        md.append(f"{data['summary']}.\n\n" + _machine_text(meta))
        for mode, rows in self.planar.items():
            md.append(f"\n## planar 2-4-1, m = 400, whole run, {mode}\n\n{planar_table(rows)}")
        for r in self.results:
            md.append(f"\n## {r['net']}, m = {r['m']}, {DTYPE}, {r['precision']}\n\n")
            md[-1] += table(r["rows"])
        md += [f"\n{s['unit']}: **skipped**, {s['why']}." for s in self.skipped]
        md += [f"\n{f['unit']}: **failed**, {f['error']}." for f in self.failed]
        md.append(
            f"\n## goals\n\n{bench._summary(checks)}\n\n"
            "| goal | figure | rounds | |\n| --- | --- | --- | --- |"
        )
        md += [
            f"| {c.goal} | {c.value:.2f} | {c.low:.2f}–{c.high:.2f} "
            f"| {'met' if c.met else 'MISS'}{'' if c.clear else ' (noise)'} |"
            for c in checks
        ]
        if data["beside"]:
            md += ["\nBeside them, in TF32:\n", *(f"- {b}" for b in data["beside"])]
        return "\n".join(md) + "\n"

    def plot(self) -> list:
        """The sweep's samples/s against m (``bench.plot``), when it has a new batch."""
        sweeps = {}
        for r in self.results:
            if r["role"] == "sweep":
                sweeps.setdefault(f"{DTYPE}-{r['precision']}", {})[r["m"]] = r["rows"]
        batches = sum(map(len, sweeps.values()))
        if batches == self.plotted:  # nothing new (matplotlib's seconds saved)
            return []
        self.plotted = batches
        note = " (CPU dry run)" if self.meta["dry_run"] else ""
        net = self.nets.sweep[0].sizes
        return bench.plot(sweeps, self.out, net=net, stem="bench_gpu-throughput", note=note)


def _write(path: Path, text: str) -> None:
    """``text`` into ``path`` whole or not at all (a run killed mid-write leaves the last)."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    part.replace(path)


def _machine_text(meta: dict) -> str:
    found = meta["machine"]
    name = found.get("gpu_name")
    gpu = (
        f"GPU {name}"
        if found.get("h200")
        else f"GPU {name or 'none'}: **not an H200**; fractions are of the H200's peaks"
    )
    peaks = ", ".join(f"{k} {v:g}" for k, v in H200_PEAKS.items())
    return (
        f"{meta['date']}; {gpu}; nvidia-smi: {found.get('nvidia-smi')}; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + f"; {meta['cpu']}.\n\nPeaks (TFLOP/s, {PEAKS_SOURCE}): {peaks}.  "
        + f"{meta['rounds']} rounds interleaved; budget {meta['budget_s']:g} s; "
        + f"precision modes {', '.join(meta['precisions'])}"
        + "".join(f"; {k}: {v}" for k, v in meta["precision_skipped"].items())
        + ".\n"
    )


# -- the run ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings:
    """One run's choices, and what its nets have shown so far (for the budget's estimates)."""

    names: list
    libraries: dict
    dry_run: bool
    rounds: int
    planar_rounds: int
    target: float
    budget: float
    deadline: float
    iterations: int
    seen: dict = dataclasses.field(default_factory=dict)  # contender -> its timed nets' costs
    planar_s: float | None = None  # seconds the first planar run took
    last_sweep: tuple | None = None  # (m, bytes) of the largest sweep batch run


def _skip(report: Report, unit: Unit, why: str) -> None:
    report.skipped.append({"unit": unit.name, "why": why})
    print(f"\n## {unit.name}: SKIPPED, {why}", flush=True)


def _available() -> int | None:
    """Memory free for the next batch: the GPU's, else the host's (``bench``'s reading)."""
    found = device_memory()
    return found[0] if found else bench._available_bytes()


def run_unit(unit: Unit, s: Settings, report: Report) -> None:
    """``unit`` timed and added to ``report``, or skipped, saying why, where the budget or
    the GPU's memory would not allow it."""
    left = s.deadline - time.monotonic()
    missing = {n: why for n in s.names if (why := unavailable(n, s.libraries, s.dry_run))}
    names = [n for n in s.names if n not in missing]
    out_of_time = f"{max(left, 0):.0f} s left of the {s.budget:g} s budget"
    if unit.net.role == "planar":
        return _run_planar(unit, s, report, names, missing, left)
    names = [n for n in names if not n.endswith("-graphs")]  # launch-bound nets only
    kept, dropped, predicted = choose(unit, names, s.seen, left, rounds=s.rounds, target=s.target)
    why = f"predicted ~{predicted:.0f} s, {out_of_time}" if predicted > left else None
    if why is None and unit.net.role == "sweep":
        why = bench._too_big(unit.net.m, s.last_sweep, _available())
    if why is not None:
        return _skip(report, unit, why)
    start = time.monotonic()
    rows, costs, need = measure(unit, kept, rounds=s.rounds, target=s.target, deadline=s.deadline)
    remember(s.seen, unit.net, costs)
    largest = s.last_sweep is None or unit.net.m >= s.last_sweep[0]
    if unit.net.role == "sweep" and need is not None and largest:
        s.last_sweep = (unit.net.m, max(need, 1))
    rows += [{"contender": n, "missing": why} for n, why in {**dropped, **missing}.items()]
    report.results.append(
        {
            "net": unit.net.name,
            "role": unit.net.role,
            "sizes": list(unit.net.sizes),
            "m": unit.net.m,
            "precision": unit.precision,
            "flops_per_step": bench.flops(unit.net.sizes, unit.net.m),
            "predicted_s": predicted,
            "took_s": time.monotonic() - start,
            "memory_bytes": need,
            "rows": rows,
        }
    )
    print(f"\n## {unit.name}, m = {unit.net.m}\n\n{table(rows)}", flush=True)
    return None


def _run_planar(unit: Unit, s: Settings, report: Report, names, missing, left: float) -> None:
    """The planar run (``bench.planar_run``, on this run's devices) of portnet's contenders,
    or skipped where it is predicted not to fit in the ``left`` seconds."""
    ours = [n for n in names if n.startswith("portnet-")]
    ours = [n for n in ours if n != BASELINE or unit.precision == "highest"]
    predicted = estimate_planar(s.planar_s, ours, rounds=s.planar_rounds, iterations=s.iterations)
    if predicted > left:
        why = (
            f"predicted ~{predicted:.0f} s, {max(left, 0):.0f} s left of the {s.budget:g} s budget"
        )
        return _skip(report, unit, why)
    start = time.monotonic()
    ours, failed = _planar_usable(ours, unit.precision)
    rows = bench.planar_run(
        DTYPE, ours, rounds=s.planar_rounds, iterations=s.iterations, precision=unit.precision
    )
    missing = {**failed, **missing}
    if s.planar_s is None:
        s.planar_s = time.monotonic() - start
    report.planar[unit.precision] = _planar_rows(rows, ours, missing)
    print(
        f"\n## {unit.name}, whole run\n\n{planar_table(report.planar[unit.precision])}",
        flush=True,
    )
    return None


def _planar_usable(names, precision: str):
    """Those of portnet's contenders ``names`` whose planar run starts (one step, on this
    run's device), and why the others failed: ``bench.planar_run`` stops at the first
    error, which would lose every contender's run."""
    X, y = portnet.datasets.planar()
    usable, failed = [], {}
    for name in names:
        backend, replayed = contenders.portnet_backend(name)
        try:
            be = portnet._backend.resolve_backend(backend, device=contenders.device_for(backend))
            Xb, yb = be.asarray(X, be.dtype(DTYPE)), be.asarray(y)
            with contenders.graphs(replayed):  # two steps: the replayed one recorded too
                portnet.train(
                    Xb, yb, init="small", iterations=2, backend=backend, precision=precision
                )
        except Exception as exc:
            failed[name] = f"failed to start: {type(exc).__name__}: {_first_line(exc)}"
            continue
        usable.append(name)
    return usable, failed


def _planar_rows(rows, ours, missing):
    """``bench.planar_run``'s rows with each contender's device, and those not run, why."""
    for r in rows:
        backend, _ = contenders.portnet_backend(r["contender"])
        device = contenders.device_for(backend) if r["contender"] in ours else None
        r["device"] = "cpu" if device is None else f"cuda:{device}" if device == 0 else str(device)
    timed = {r["contender"] for r in rows}
    lost = {n: "its backend could not be resolved" for n in ours if n not in timed}
    return rows + [{"contender": n, "missing": why} for n, why in {**lost, **missing}.items()]


def run(args, libraries: dict, started: float) -> int:
    """Every unit of the plan in turn (or skipped), the report written after each."""
    dry, tiny = args.cpu_dry_run, args.cpu_dry_run or args.tiny
    precisions = args.precision
    precision_skipped = {}
    if dry and "tf32" in precisions:
        precisions = [p for p in precisions if p != "tf32"] or ["highest"]
        precision_skipped["tf32"] = "skipped, needs a CUDA GPU"
    nets = TINY_NETS if tiny else GPU_NETS
    units = plan(nets, precisions, args.max_m)
    rounds = args.rounds
    settings = Settings(
        names=args.contenders,
        libraries=libraries,
        dry_run=dry,
        rounds=rounds,
        planar_rounds=args.planar_rounds or rounds,
        target=args.target or (0.01 if tiny else 0.1),
        budget=args.budget,
        deadline=started + args.budget - RESERVE_S,
        iterations=nets.planar_iterations,
    )
    meta = _meta(args, libraries, settings, precisions, precision_skipped)
    report = Report(args.out, meta, nets, units)
    _print_header(meta, units)
    for unit in units:
        try:
            run_unit(unit, settings, report)
        except Exception as exc:  # the net is lost, not the run
            error = f"{type(exc).__name__}: {_first_line(exc)}"
            report.failed.append({"unit": unit.name, "error": error})
            print(f"\n## {unit.name}: FAILED, {error}", flush=True)
            release()
        report.write(started)
    checks, beside = report.write(started, complete=True)
    print("\n## goals" + (" (CPU dry run: not GPU figures)" if dry else "") + "\n")
    for check in checks:
        print(f"  {check.line()}")
    for line in beside:
        print(f"  beside, in TF32: {line}")
    print(f"\n  {bench._summary(checks)}\n\n{report.summary(checks)}")
    print(f"wrote {args.out / 'bench_gpu.json'}, {args.out / 'bench_gpu.md'}", flush=True)
    return 0


ENVIRONMENT = (
    "NVIDIA_TF32_OVERRIDE", "CUPY_TF32", "XLA_PYTHON_CLIENT_PREALLOCATE",
    "XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_FLAGS", "JAX_ENABLE_X64", "CUDA_VISIBLE_DEVICES",
)  # fmt: skip


def _meta(args, libraries, settings: Settings, precisions, precision_skipped) -> dict:
    return {
        "kind": "portnet GPU batch benchmark",
        "dry_run": settings.dry_run,
        "label": DRY_RUN_LABEL if settings.dry_run else "GPU run",
        "tiny": args.tiny or settings.dry_run,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(libraries),
        "libraries": {name: why or "usable" for name, why in libraries.items()},
        "versions": versions(),
        "cpu": bench._cpu(),
        "peaks": {"source": PEAKS_SOURCE, "tflops": H200_PEAKS, "of_mode": PEAK_OF_MODE},
        "environment": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ},
        "budget_s": settings.budget,
        "rounds": settings.rounds,
        "planar_rounds": settings.planar_rounds,
        "target_s": settings.target,
        "settle_s": bench.SETTLE,
        "precisions": precisions,
        "precision_skipped": precision_skipped,
        "contenders": settings.names,
        "dtype": DTYPE,
    }


def _print_header(meta: dict, units) -> None:
    if meta["dry_run"]:
        print(f"# {DRY_RUN_LABEL}")
    print("# " + _machine_text(meta).strip().replace("\n\n", "\n# "))
    print("# libraries: " + "; ".join(f"{k}: {v}" for k, v in meta["libraries"].items()))
    print(f"# plan ({len(units)} nets × modes, in order): " + ", ".join(u.name for u in units))
    print(flush=True)


@contextlib.contextmanager
def _placed(place: str, settle: float):
    """``contenders.PLACE`` and ``bench.SETTLE`` for this run, put back after."""
    before = contenders.PLACE, bench.SETTLE
    contenders.PLACE, bench.SETTLE = place, settle
    try:
        yield
    finally:
        contenders.PLACE, bench.SETTLE = before


def _names(text: str, known, what: str):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {unknown}; expected some of {list(known)}"
        )
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("bench-results-gpu"))
    p.add_argument("--budget", type=float, default=240.0, help="wall-clock seconds (default 240)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--planar-rounds", type=int, default=None, help="default: --rounds")
    p.add_argument(
        "--precision",
        type=lambda t: _names(t, PRECISIONS, "precision modes"),
        default=list(PRECISIONS),
        help="comma-separated modes (default highest,tf32)",
    )
    p.add_argument(
        "--contenders",
        type=lambda t: _names(t, CONTENDERS, "contenders"),
        default=list(CONTENDERS),
        help=f"comma-separated (default all: {','.join(CONTENDERS)})",
    )
    p.add_argument("--max-m", type=int, default=2**22, help="largest sweep batch (default 2^22)")
    p.add_argument("--target", type=float, default=None, help="seconds a timing lasts (0.1)")
    p.add_argument("--settle", type=float, default=0.0, help="seconds idle before each timing")
    p.add_argument("--tiny", action="store_true", help="the dry run's tiny nets, on the GPU")
    p.add_argument(
        "--cpu-dry-run",
        action="store_true",
        help="the whole pipeline on the CPU with tiny nets (not GPU figures)",
    )
    return p


def main(argv=None) -> int:
    started = time.monotonic()
    p = parser()
    args = p.parse_args(argv)
    for flag, value in (("--rounds", args.rounds), ("--planar-rounds", args.planar_rounds)):
        if value is not None and value < 1:
            p.error(f"{flag} must be >= 1, got {value}")
    if args.budget <= 0 or args.settle < 0:
        p.error("--budget must be > 0 and --settle >= 0 seconds")
    libraries = gpu_libraries()
    if not args.cpu_dry_run and all(why is not None for why in libraries.values()):
        reasons = "; ".join(f"{name}: {why}" for name, why in libraries.items())
        print(
            f"bench_gpu.py: SKIPPED (exit status {SKIPPED}), no usable CUDA GPU, so nothing "
            f"was timed: {reasons} (--cpu-dry-run runs the pipeline on the CPU)",
            file=sys.stderr,
        )
        return SKIPPED
    with _placed("cpu" if args.cpu_dry_run else "gpu", args.settle):
        return run(args, libraries, started)


if __name__ == "__main__":
    sys.exit(main())
