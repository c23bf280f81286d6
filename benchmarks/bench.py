"""The batch benchmark: portnet on every backend against its peers, in one run.

    python benchmarks/bench.py [--quick] [--out DIR] [--dtypes float32,float64] [--max-m N]
    python benchmarks/bench.py --report DIR/bench.json --out DIR2   # re-check a run's goals
    python benchmarks/bench.py --gpu   # benchmarks/bench_gpu.py; exit status 77 (skipped),
                                       # saying why, without a usable CUDA GPU
    nox -s bench

For each network size × dtype, every contender (portnet on NumPy, JAX, torch, CuPy when a
GPU is usable; the seeds' hand-written NumPy loop; scikit-learn's ``MLPClassifier``; a
PyTorch ``nn`` + autograd + SGD loop; JAX ``value_and_grad`` + ``jit``) trains the same
network from the same parameters on the same data.  Compilation and other warm-up is done
first; then rounds are interleaved (every contender once per round) and each figure is the
median over rounds.  A contender's time per step is ``(t(k) − t(k₀)) / (k − k₀)``: running
``k`` steps minus running the fewest it can (``k₀`` = 0; 1 for scikit-learn's ``fit``), so
per-call set-up (portnet's label inspection and final cost, scikit-learn's ``fit``
preamble) cancels out and only steps are counted.

Printed and written (JSON, Markdown, PNG plots when matplotlib is installed): time per step,
its ratio to the seeds' loop measured in the same run, samples/s, GFLOP/s, the step's time
over its matrix products alone, and the peak resident memory a run added.  Speed goals are
checked against these figures and printed; they are never timed tests.  The sweep's batches
(``m`` = 2⁸, 2¹⁰ … ``--max-m``) run as memory allows: a batch predicted not to fit is skipped,
saying so.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import importlib.metadata
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib
import itertools

import contenders

import portnet

#: name -> (layer sizes, m): the issue's four one-hidden-layer nets and a deep one
SIZES = {
    "2-4-1 (planar)": ((2, 4, 1), 400),
    "784-128-1": ((784, 128, 1), 10_000),
    "784-1024-1": ((784, 1024, 1), 8_192),
    "256-256-1": ((256, 256, 1), 200_000),
    "784-256-128-64-1": ((784, 256, 128, 64, 1), 8_192),
}
QUICK_SIZES = {"2-4-1 (planar)": ((2, 4, 1), 400), "64-32-1": ((64, 32, 1), 2_048)}
SWEEP_NET = (256, 256, 1)
LEARNING_RATE = 0.1
ALL = (*(f"portnet-{b}" for b in contenders.PORTNET_BACKENDS), *contenders.PEERS)


# -- measuring -------------------------------------------------------------------------------------
def _proc_bytes(path: str, field: str) -> int:
    """A memory figure (in kB there) from a ``/proc`` file such as ``/proc/self/status``."""
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB
    raise RuntimeError(f"{path} has no {field}")


def _status_bytes(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` (``VmRSS``, ``VmHWM``)."""
    return _proc_bytes("/proc/self/status", field)


class PeakMemory:
    """Peak resident memory above the level at entry: the kernel's high-water mark
    (``VmHWM``), reset at entry (``5`` written to ``/proc/self/clear_refs``, Linux ≥ 4.0).

    Nothing runs beside the timing: the thread that sampled the resident size every
    millisecond before had made a small net's steps (64-32-16-1, m = 2 048, NumPy) 1.16×
    slower (7 paired rounds, 0.99–1.24), and the products, timed without it, looked faster
    beside the steps.
    """

    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        self.base = _status_bytes("VmRSS")
        return self

    def __exit__(self, *exc):
        self.peak = max(self.base, _status_bytes("VmHWM"))

    @property
    def added(self) -> float:
        return (self.peak - self.base) / 2**20


#: seconds left idle before each timing (``--settle``): a BLAS or thread pool keeps its worker
#: threads spinning for a while after each call — OpenBLAS's for ~0.1 s here — and on 2 cores
#: those of the contender timed just before steal the CPU from the next one (a torch product
#: started right after a NumPy one took 100 ms instead of 60 here); idle first, each
#: contender is timed on a quiet machine whatever the order of the round
DEFAULT_SETTLE = 0.25
SETTLE = DEFAULT_SETTLE
#: the planar run is short (a few seconds a round for every contender) and the machine's noise
#: comes in bursts of seconds: it gets more rounds than the larger nets, for a steadier median
PLANAR_ROUNDS = 9


def _settle() -> None:
    if SETTLE:
        time.sleep(SETTLE)


def _repeat(fn, n: int) -> None:
    """``fn()`` ``n`` times, each call's results dropped before the next, as a step's are.

    (Until the seventh run they were all kept to the end: every call's products written into
    fresh memory, page faults included, which made them slower than the steps that contain
    them: the seeds' loop at 784-128-1 float32, a step 0.66× "its products".)
    """
    for _ in range(n):
        fn()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


#: a timing's k steps last at least this many times the contender's fewest-steps call
SETUP_FACTOR = 8
#: ... unless that makes a timing longer than this (seconds)
LONGEST_TIMING = 15.0


def steps_per_timing(t_k0: float, t_k0_2: float, target: float) -> int:
    """Steps ``k`` per timing, from a call of the fewest steps ``k₀`` (``t_k0`` s: its
    set-up, plus k₀ steps) and a call of ``k₀ + 2`` (``t_k0_2`` s).

    Enough steps that a timing lasts about ``target`` s, and that they outweigh the set-up
    ``SETUP_FACTOR`` times over (at most ``LONGEST_TIMING`` s): the per-call set-up cancels
    out of ``(t(k₀ + k) − t(k₀)) / k`` on average, but not its noise.  scikit-learn's
    ``fit(1)`` at 256-256-1 (m = 200 000) took 0.45–1.1 s here, ``fit(3)`` 1.2–3.3 s
    (allocating hundreds of MB a call); with the two steps a 0.5 s target gave, three rounds
    had its float32 step at 13–94 ms, faster than this machine can multiply.
    """
    # the floor (the set-up taken as at most 15/16 of the call) when noise ate the difference
    step = max((t_k0_2 - t_k0) / 2, t_k0_2 / 32, 1e-7)
    k = max(2, min(5000, int(target / step)))
    outweigh = min(SETUP_FACTOR * t_k0, LONGEST_TIMING) / step
    return max(k, min(5000, math.ceil(outweigh)))


#: times a round's timing is taken again when its k-step call ran no longer than its k₀-step
#: call (scikit-learn's 256-256-1 float32 fit, k = 2: once in a 5-round run, whose round
#: then counted as a 1e-12 s step)
RETIMES = 4


def _time_steps(c, k0: int, k: int) -> float | None:
    """``t(k₀ + k) − t(k₀)`` of contender ``c``, timed again (at most ``RETIMES`` times)
    while noise makes it ≤ 0; ``None`` if it never came out positive."""
    for _ in range(1 + RETIMES):
        t0 = _timed(lambda: c.run(k0))
        t1 = _timed(lambda: c.run(k0 + k))
        if t1 > t0:
            return t1 - t0
    return None


def flops(sizes, m) -> float:
    """Floating-point operations of the step's matrix products: forward, dW, dA (not dX)."""
    pairs = list(itertools.pairwise(sizes))
    total = sum(2 * m * i * o for i, o in pairs)  # forward
    total += sum(2 * m * i * o for i, o in pairs)  # dW
    total += sum(2 * m * i * o for i, o in pairs[1:])  # dA of the hidden layers
    return total


def problem(sizes, m, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0]))
    y = (X[:, 0] + 0.5 * rng.standard_normal(m) > 0).astype(np.int64)
    params = portnet.init.initial_params(sizes, init="glorot", seed=seed)
    return X, y, params


def measure(sizes, m, dtype, names, *, rounds, target, need=None):
    """Median time per step (and more) of every contender on one problem.

    ``need``, a dict if given, receives ``"bytes"``: the most resident memory this problem
    took above the level before it (its data, the contenders' copies of it and the peak of
    the timed runs and products; never less than its own X), from which the sweep tells
    whether a larger batch fits (``_too_big``).
    """
    before = _status_bytes("VmRSS") if need is not None else 0
    highest = before
    X, y, params = problem(sizes, m)
    # one copy in the run's dtype, which the NumPy, torch and scikit-learn contenders share
    # (one copy each would have made the sweep's largest batches not fit in memory)
    X = np.ascontiguousarray(X, dtype=dtype)
    built, missing = {}, {}
    for name in names:
        try:
            built[name] = contenders.make(name, X, y, params, dtype, LEARNING_RATE)
        except (ImportError, RuntimeError, ValueError) as exc:
            missing[name] = str(exc).splitlines()[0]
    x_bytes = X.nbytes
    del X  # the contenders hold what they need of it
    # k₀: the fewest steps a contender's call runs (1 for scikit-learn's fit, else 0)
    fewest = {name: getattr(c, "min_steps", 0) for name, c in built.items()}
    # warm-up (compilation), and k: steps per timing (see steps_per_timing)
    k = {}
    for name, c in built.items():
        k0 = fewest[name]
        c.run(1)
        c.run(k0 + 2)
        t_k0 = min(_timed(lambda c=c, n=k0: c.run(n)) for _ in range(2))
        t_k0_2 = min(_timed(lambda c=c, n=k0 + 2: c.run(n)) for _ in range(2))
        k[name] = steps_per_timing(t_k0, t_k0_2, target)
    times = {name: [] for name in built}
    peaks = {name: [] for name in built}
    product_times = {}
    for _ in range(rounds):
        for name, c in built.items():
            gc.collect()
            k0 = fewest[name]
            # an untimed call first: the first call after the other contenders ran can be
            # far slower than the next (scikit-learn's fit(1), 784-1024-1 float64: 0.5–0.8 s,
            # then 0.3), which inflated t(k0) and had made its steps look 5× faster
            _settle()
            c.run(k0)
            _settle()
            with PeakMemory() as mem:
                elapsed = _time_steps(c, k0, k[name])
            if elapsed is None:
                print(
                    f"  warning: {name}'s {k0 + k[name]}-step call ran no longer than its "
                    f"{k0}-step call in {1 + RETIMES} timings of this round: its step taken "
                    "as the 1e-12 s floor (noise outweighed the steps)",
                    flush=True,
                )
                elapsed = 1e-12
            times[name].append(elapsed / k[name])
            peaks[name].append(mem.added)
            highest = max(highest, mem.peak)
            # the step's matrix products alone (portnet's contenders and the seeds' loop),
            # timed in the same round right after the steps, so that step/products is a
            # ratio of each round; their arrays (as large as the step's) made for this
            # timing alone: kept for the whole measurement, every contender's at once, they
            # had made the sweep's m = 2^20 batch not fit in 24 GiB
            with PeakMemory() as mem:
                p = c.matmuls()
                if p is not None:
                    _settle()
                    p()  # warm-up (compilation on JAX, the first writes into its arrays)
                    _settle()
                    n = k[name]
                    t = _timed(lambda p=p, n=n: _repeat(p, n)) / n
                    product_times.setdefault(name, []).append(t)
                del p
            highest = max(highest, mem.peak)
    reference = statistics.median(times["seeds-numpy"]) if "seeds-numpy" in times else None
    over = {
        name: [s / p for s, p in zip(times[name], ps, strict=True)]
        for name, ps in product_times.items()
    }
    rows = []
    for name in built:
        step = statistics.median(times[name])
        rows.append(
            {
                "contender": name,
                "step_s": step,
                "ratio": step / reference if reference else None,
                "samples_per_s": m / step,
                "gflops": flops(sizes, m) / step / 1e9,
                "step_over_matmul": statistics.median(over[name]) if name in over else None,
                "step_over_matmul_rounds": over.get(name),
                "peak_mb": max(peaks[name]),
                "steps_per_timing": k[name],
                "rounds": rounds,
                "step_rounds": times[name],  # per round, in round order (rounds interleaved)
            }
        )
    rows += [{"contender": name, "missing": why} for name, why in missing.items()]
    if need is not None:
        # at least the problem's own X: memory freed earlier and reused is not counted
        need["bytes"] = max(highest - before, x_bytes)
    return rows


def _available_bytes() -> int | None:
    """Memory the system can give without swapping (``MemAvailable``; None off Linux)."""
    try:
        return _proc_bytes("/proc/meminfo", "MemAvailable")
    except (OSError, RuntimeError):
        return None


#: a sweep's batch runs only if its predicted memory is at most this share of what is available
MEMORY_SHARE = 0.8


def _too_big(m: int, last: tuple[int, int] | None, available: int | None) -> str | None:
    """Why the sweep's batch of ``m`` samples would not fit in memory, or None if it would.

    ``last`` is ``(m, bytes)`` of the largest batch run so far (``measure``'s ``need``):
    every contender's memory grows with ``m``, so the next batch needs about ``bytes · m /
    m_last`` (an overestimate: the part that does not grow is counted as if it did).
    Without a figure (the first batch, or no ``/proc/meminfo``) the batch runs.
    """
    if last is None or available is None:
        return None
    m_last, used = last
    predicted = used * m / m_last
    if predicted <= MEMORY_SHARE * available:
        return None
    return (
        f"needs ~{predicted / 2**30:.1f} GiB (the m = {m_last} batch took "
        f"{used / 2**30:.2f} GiB), only {available / 2**30:.1f} GiB available "
        f"(at most {MEMORY_SHARE:.0%} of it is used)"
    )


def planar_run(dtype, names, *, rounds, iterations=10_000, precision=None):
    """The planar net's whole 10 000-step run, cost read every 1000 steps, as a user runs it.

    Each backend on the device ``contenders.PLACE`` puts it on (the GPU benchmark's CUDA
    devices); ``precision`` (None: portnet's default) is passed to ``train``.
    """
    X, y = portnet.datasets.planar()
    params = portnet.init.initial_params((2, 4, 1), init="small", seed=0)
    runs = {}
    seeds = contenders.make("seeds-numpy", X, y, params, dtype, 1.2)

    def seeds_run():
        for _ in range(iterations // 1000):
            seeds.run(1000)

    runs["seeds-numpy"] = seeds_run
    for name in names:
        backend, replayed = contenders.portnet_backend(name)  # "-graphs": CUDA graphs on
        try:
            device = contenders.device_for(backend)
            be = portnet._backend.resolve_backend(backend, device=device)
            Xb, yb = be.asarray(X, be.dtype(dtype)), be.asarray(y)
        except (ImportError, RuntimeError, ValueError):
            continue
        options = {} if precision is None else {"precision": precision}

        def run(Xb=Xb, yb=yb, backend=backend, options=options, replayed=replayed):
            with contenders.graphs(replayed):
                portnet.train(
                    Xb, yb, init="small", iterations=iterations, log_every=1000,
                    backend=backend, **options,
                )  # fmt: skip

        runs[name] = run
    for run in runs.values():
        run()  # warm-up and compilation
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            _settle()
            times[name].append(_timed(run))
    reference = statistics.median(times["seeds-numpy"])
    return [
        {
            "contender": n,
            "run_s": statistics.median(t),
            "ratio": statistics.median(t) / reference,
            "run_rounds": t,
        }
        for n, t in times.items()
    ]


# -- reporting ---------------------------------------------------------------------------------
def _fmt_time(s):
    return f"{s * 1e6:.0f} µs" if s < 1e-3 else (f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s")


def table(rows):
    lines = [
        "| contender | time / step | × seeds loop | samples/s | GFLOP/s | step / products "
        "| peak MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "missing" in r:
            lines.append(f"| {r['contender']} | not run: {r['missing']} | | | | | |")
            continue
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] else "—"
        over = f"{r['step_over_matmul']:.2f}" if r["step_over_matmul"] else "—"
        lines.append(
            f"| {r['contender']} | {_fmt_time(r['step_s'])} | {ratio} | {r['samples_per_s']:.3g} "
            f"| {r['gflops']:.1f} | {over} | {r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Check:
    """One goal: the figure (from the medians), whether it meets the goal, and the same
    comparison made within each round alone (contenders run back to back in a round), whose
    spread shows how much of a verdict is this machine's noise."""

    goal: str
    value: float
    low: float
    high: float
    test: Callable[[float], bool] = dataclasses.field(repr=False)

    @property
    def met(self) -> bool:
        return self.test(self.value)

    @property
    def clear(self) -> bool:
        """Whether every round alone gives the same verdict as the medians."""
        return self.test(self.low) == self.test(self.high) == self.met

    def line(self) -> str:
        noise = "" if self.clear else "  (rounds on both sides: within this machine's noise)"
        return (
            f"{'met ' if self.met else 'MISS'}  {self.goal}: {self.value:.2f} "
            f"(rounds {self.low:.2f}–{self.high:.2f}){noise}"
        )

    def as_json(self) -> dict:
        return dict(
            goal=self.goal,
            value=self.value,
            met=self.met,
            clear=self.clear,
            rounds_low=self.low,
            rounds_high=self.high,
        )


def goals(results, planar):
    """The issue's speed goals, each checked against the figures of this run."""
    checks = []

    def per_round(rows, key):
        return {r["contender"]: r[key] for r in rows if key in r}

    def add(text, rounds, ours, theirs, ok):
        """``ours`` over the fastest of ``theirs``: from the medians, and round by round."""
        if ours not in rounds or not any(t in rounds for t in theirs):
            return
        theirs = [t for t in theirs if t in rounds]
        value = statistics.median(rounds[ours]) / min(statistics.median(rounds[t]) for t in theirs)
        each = [mine / min(rounds[t][i] for t in theirs) for i, mine in enumerate(rounds[ours])]
        checks.append(Check(text, value, min(each), max(each), ok))

    for dtype, rows in planar.items():
        rounds = per_round(rows, "run_rounds")
        add(
            f"planar 10 000-step run, NumPy ≤ 1.3× seeds loop ({dtype})",
            rounds,
            "portnet-numpy",
            ["seeds-numpy"],
            lambda v: v <= 1.3,
        )
        add(
            f"planar 10 000-step run, JAX ≥ 5× faster than seeds loop ({dtype})",
            rounds,
            "portnet-jax",
            ["seeds-numpy"],
            lambda v: v <= 0.2,
        )
    for (size, dtype), rows in results.items():
        if size.startswith("sweep"):
            continue
        rounds = per_round(rows, "step_rounds")
        if not size.startswith("2-4-1"):  # the larger sizes' goals against the seeds' loop
            seeds = ["seeds-numpy"]
            add(
                f"{size} {dtype}: NumPy ≤ 0.95× seeds loop",
                rounds,
                "portnet-numpy",
                seeds,
                lambda v: v <= 0.95,
            )
            add(
                f"{size} {dtype}: JAX ≤ 0.9× seeds loop",
                rounds,
                "portnet-jax",
                seeds,
                lambda v: v <= 0.9,
            )
        # against the peers at every size, the planar net's single step included
        for ours in ("portnet-numpy", "portnet-jax"):
            # against the faster way of running scikit-learn
            sklearn = ["sklearn", "sklearn-partial_fit"]
            add(
                f"{size} {dtype}: {ours} faster than sklearn",
                rounds,
                ours,
                sklearn,
                lambda v: v < 1,
            )
            add(
                f"{size} {dtype}: {ours} faster than torch-nn",
                rounds,
                ours,
                ["torch-nn"],
                lambda v: v < 1,
            )
        add(
            f"{size} {dtype}: portnet-torch faster than torch-nn",
            rounds,
            "portnet-torch",
            ["torch-nn"],
            lambda v: v < 1,
        )
        if size == "784-1024-1" and dtype == "float32":
            for r in rows:
                if r["contender"].startswith("portnet-") and r.get("step_over_matmul"):
                    text = f"784-1024-1 float32: {r['contender']} step ≤ 1.15× its products"
                    each = r["step_over_matmul_rounds"]  # products timed in the same round
                    v = r["step_over_matmul"]
                    checks.append(Check(text, v, min(each), max(each), lambda v: v <= 1.15))
    return checks


def _summary(checks):
    met = [c for c in checks if c.met]
    missed = [c for c in checks if not c.met]
    return (
        f"{len(met)} met ({sum(c.clear for c in met)} in every round), {len(missed)} missed "
        f"({sum(c.clear for c in missed)} in every round); the others are within this "
        "machine's noise: rounds on both sides of the goal"
    )


def _plotted(by_m):
    """The contenders timed in at least one batch of a sweep (``m`` -> rows), sorted."""
    return sorted({r["contender"] for rows in by_m.values() for r in rows if "step_s" in r})


def draw(ax, by_m, *, net=SWEEP_NET, dtype="float32", note=""):
    """Samples/s against the batch size of one sweep (``m`` -> rows, as :func:`report`
    keeps them, or as :func:`sweeps_from_markdown` reads them back) on the matplotlib
    ``ax``: a line per timed contender, portnet's solid, its peers' dashed; rows without
    figures (a contender not run) are left out."""
    for name in _plotted(by_m):
        ms = sorted(
            m
            for m, rows in by_m.items()
            if any(r["contender"] == name and "step_s" in r for r in rows)
        )
        ys = [
            next(r["samples_per_s"] for r in by_m[m] if r["contender"] == name and "step_s" in r)
            for m in ms
        ]
        ax.plot(
            ms,
            ys,
            marker="o",
            label=name,
            linestyle="-" if name.startswith("portnet") else "--",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size m (full-batch step)")
    ax.set_ylabel("samples / s")
    ax.set_title(f"{'-'.join(map(str, net))} net, {dtype}, one training step{note}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def plot(sweeps, out, *, net=SWEEP_NET, stem="throughput", note=""):
    """Samples/s against the sweep's batch size, one PNG per key of ``sweeps`` (a dtype, or
    the GPU benchmark's "float32-highest"), named ``{stem}-{key}.png``, each drawn by
    :func:`draw`; ``note`` ends the title.  None written (an empty list) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    paths = []
    for dtype, by_m in sweeps.items():
        if not _plotted(by_m):  # every batch skipped or failed: nothing to draw
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax, by_m, net=net, dtype=dtype, note=note)
        fig.tight_layout()
        path = out / f"{stem}-{dtype}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


#: a sweep's heading in a report's Markdown (:func:`report`): "## sweep 256-256-1 m=1024, float32"
SWEEP_HEADING = re.compile(r"^## sweep (\d+(?:-\d+)+) m=(\d+), (\w+)\s*$")
#: the units :func:`_fmt_time` writes, in seconds
UNITS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}


def sweeps_from_markdown(path, *, net=SWEEP_NET):
    """The sweep of a report :func:`report` wrote (``bench.md``, or a copy of it such as
    docs/bench-this-machine.md) in the structure :func:`plot` and :func:`draw` take:
    dtype -> m -> rows, each row ``{"contender", "step_s", "samples_per_s"}`` as the
    Markdown prints them (3 significant digits), or ``{"contender", "missing"}`` for a
    contender that was not run.  Only the sweeps of ``net``; batches the report lists as
    skipped have no rows (they were never timed)."""
    want = "-".join(map(str, net))
    sweeps, rows = {}, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = SWEEP_HEADING.match(line)
            rows = None
            if heading and heading.group(1) == want:
                m, dtype = int(heading.group(2)), heading.group(3)
                rows = sweeps.setdefault(dtype, {}).setdefault(m, [])
            continue
        if rows is None or not line.startswith("| ") or line.startswith(("| contender", "| ---")):
            continue
        name, figure, *cells = (c.strip() for c in line.strip().strip("|").split(" | "))
        if figure.startswith("not run: "):
            rows.append({"contender": name, "missing": figure.removeprefix("not run: ")})
            continue
        value, unit = figure.split()
        rows.append(
            {
                "contender": name,
                "step_s": float(value) * UNITS[unit],
                "samples_per_s": float(cells[1]),
            }
        )
    return sweeps


def _versions():
    found = {"python": platform.python_version()}
    for dist in ("numpy", "jax", "jaxlib", "torch", "scikit-learn", "cupy-cuda12x"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[dist] = importlib.metadata.version(dist)
    return found


#: OpenBLAS's cores with AVX-512 kernels (its ``architecture`` names, as threadpoolctl gives them)
AVX512_CORES = ("skylakex", "cooperlake", "sapphirerapids")


def _blas(cpu_flags=None):
    """NumPy's BLAS as it runs here: library, version, the kernels it picked, threads.

    Returns ``(description, warning)``; the warning (or ``None``) says when OpenBLAS runs
    kernels without AVX-512 on a CPU that has it, because ``OPENBLAS_CORETYPE`` asks for them
    (this project's machines set ``Haswell``) or because its detection chose them (AMD Zen 5
    before OpenMathLib/OpenBLAS#6033): NumPy's products are then slower than the CPU allows
    (docs/guide/speed.md, "Results").  ``cpu_flags`` defaults to ``/proc/cpuinfo``'s (Linux; none
    elsewhere).
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown (threadpoolctl is not installed)", None
    ours = [
        i
        for i in threadpool_info()
        if i["user_api"] == "blas" and "numpy" in Path(i["filepath"]).as_posix()
    ]
    if not ours:
        return "BLAS unknown (threadpoolctl does not see NumPy's)", None
    info = ours[0]
    arch = info.get("architecture") or "?"
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    text = (
        f"NumPy's BLAS {info['internal_api']} {info['version']}, {arch} kernels"
        + (f" (OPENBLAS_CORETYPE={coretype})" if coretype is not None else "")
        + f", {info['num_threads']} threads"
    )
    if cpu_flags is None:
        cpu_flags = set(_cpuinfo().get("flags", "").split())
    warning = None
    if (
        info["internal_api"] == "openblas"
        and "avx512f" in (cpu_flags or ())
        and arch.lower() not in AVX512_CORES
    ):
        why = (
            f"OPENBLAS_CORETYPE={coretype} asks for them"
            if coretype
            else "its detection chose them"
        )
        warning = (
            f"OpenBLAS runs its {arch} kernels ({why}) on a CPU with AVX-512: NumPy's "
            "products (portnet-numpy's, the seeds loop's, scikit-learn's) run slower than "
            "the CPU allows; OPENBLAS_CORETYPE=SkylakeX, set before Python starts, picks "
            "the AVX-512 kernels"
        )
    return text, warning


def _cpuinfo(text=None):
    """The first processor's fields in ``/proc/cpuinfo`` (Linux; empty elsewhere)."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            return {}
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor's block ends
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _cpu(info=None):
    """The CPU the figures were measured on: model, family/model numbers, the widest vector
    instructions it offers and how many CPUs this process may use.  Machines of the same
    name differ (this project's sessions ran on AMD Zen 5 with AVX-512 and on Zen 3
    without): every ratio depends on it."""
    info = _cpuinfo() if info is None else info
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count()
    if not info:
        return f"CPU {platform.processor() or platform.machine()}, {cpus} CPUs"
    flags = set(info.get("flags", "").split())
    simd = (
        "AVX-512"
        if "avx512f" in flags
        else "AVX2, no AVX-512"
        if "avx2" in flags
        else "no AVX2"
        if flags
        else "vector extensions unknown"
    )
    numbers = ", ".join(
        f"{name} {info[key]}"
        for key, name in (("cpu family", "family"), ("model", "model"))
        if key in info
    )
    return (
        f"CPU {info.get('model name', '?')}"
        + (f" ({numbers})" if numbers else "")
        + f", {simd}, {cpus} CPUs"
    )


def report(out, meta, planar, results, skipped):
    """The goals checked against a run's figures, printed; the run written to ``out``:
    ``bench.json``, ``bench.md`` and (with matplotlib) the sweep's plots."""
    sweeps = {}  # dtype -> m -> rows, from the sweep's results ("sweep 256-256-1 m=1024")
    for (size, dtype), rows in results.items():
        if size.startswith("sweep "):
            sweeps.setdefault(dtype, {})[int(size.rpartition("m=")[2])] = rows
    checks = goals(results, planar)
    print("\n## goals\n")
    for check in checks:
        print(f"  {check.line()}")
    print(f"\n  {_summary(checks)}")
    (out / "bench.json").write_text(
        json.dumps(
            {
                **meta,
                "planar_run": planar,
                "results": [
                    {"size": s, "dtype": d, "rows": rows} for (s, d), rows in results.items()
                ],
                "goals": [c.as_json() for c in checks],
                "sweep_skipped": {
                    d: {str(m): why for m, why in s.items()} for d, s in skipped.items()
                },
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    md = [
        f"# portnet batch benchmark\n\n{meta['date']}; {meta['machine']}; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + f"; {meta['rounds']} rounds ({meta['planar_rounds']} for the planar run), "
        + f"{meta['settle_s']} s settle; {meta['cpu']}; {meta['blas']}"
        + (f"\n\n**Note**: {meta['blas_warning']}." if meta["blas_warning"] else "")
    ]
    for dtype, rows in planar.items():
        md.append(
            f"\n## planar 2-4-1, m = 400, 10 000-step run, {dtype}\n\n"
            "| contender | run | × seeds loop |\n| --- | --- | --- |"
        )
        md += [f"| {r['contender']} | {r['run_s']:.3f} s | {r['ratio']:.2f}× |" for r in rows]
    for (size, dtype), rows in results.items():
        md.append(f"\n## {size}, {dtype}\n\n{table(rows)}")
    for dtype, by_m in skipped.items():
        md += [f"\nSweep m = {m}, {dtype}: **skipped**, {why}." for m, why in by_m.items()]
    md.append(
        f"\n## goals\n\n{_summary(checks)}\n\n"
        "| goal | figure | rounds | |\n| --- | --- | --- | --- |"
    )
    md += [
        f"| {c.goal} | {c.value:.2f} | {c.low:.2f}–{c.high:.2f} "
        f"| {'met' if c.met else 'MISS'}{'' if c.clear else ' (noise)'} |"
        for c in checks
    ]
    (out / "bench.md").write_text("\n".join(md) + "\n")
    pngs = plot(sweeps, out)
    print(f"\nwrote {out / 'bench.json'}, {out / 'bench.md'}" + "".join(f", {p}" for p in pngs))


def report_again(path: Path, out: Path) -> None:
    """An earlier run's ``bench.json`` checked against the goals as they are now, and its
    report written again to ``out`` (no timing: the figures are the run's)."""
    run = json.loads(Path(path).read_text())
    parts = ("planar_run", "results", "goals", "sweep_skipped")
    meta = {k: v for k, v in run.items() if k not in parts}
    results = {(r["size"], r["dtype"]): r["rows"] for r in run["results"]}
    skipped = {
        d: {int(m): why for m, why in by_m.items()}
        for d, by_m in run.get("sweep_skipped", {}).items()
    }
    out.mkdir(parents=True, exist_ok=True)
    report(out, meta, run["planar_run"], results, skipped)


#: ``--gpu``'s exit status when there is no usable GPU (automake's "skipped test")
SKIPPED = 77


def _no_gpu() -> str | None:
    """None when one of CuPy, JAX or torch can use a CUDA GPU here, else why none can."""
    reasons = []
    for name in (n for n, entry in portnet.backends.TABLE.items() if entry.gpu is not None):
        try:
            why = portnet._backend.gpu_status(name)
        except ImportError:
            why = "not installed"
        if why is None:
            return None
        reasons.append(f"{name}: {why}")
    return "; ".join(reasons)


def run_gpu(args) -> int:
    """``--gpu``: the GPU batch benchmark, ``benchmarks/bench_gpu.py``, with this call's
    ``--out``, ``--rounds``, ``--settle`` and ``--quick`` (its ``--tiny``); without a usable
    CUDA GPU nothing is timed and the status is ``SKIPPED``, saying why."""
    # JAX must not take 75 % of the GPU's memory, before the first question to it
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    reasons = _no_gpu()
    if reasons is not None:  # skipped, loudly: CPU figures must not pass for a GPU's
        print(
            f"bench.py --gpu: SKIPPED (exit status {SKIPPED}), no usable CUDA GPU, so "
            f"nothing was timed: {reasons}",
            file=sys.stderr,
        )
        return SKIPPED
    import bench_gpu

    forwarded = ["--out", str(args.out)]
    forwarded += ["--rounds", str(args.rounds)] if args.rounds else []
    forwarded += ["--settle", str(args.settle)] if args.settle is not None else []
    forwarded += ["--tiny"] if args.quick else []
    print(f"bench.py --gpu: benchmarks/bench_gpu.py {' '.join(forwarded)}", flush=True)
    return bench_gpu.main(forwarded)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, 2 rounds: checks that it works"
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--contenders", default=",".join(ALL))
    parser.add_argument("--rounds", type=int, default=None, help="default 5 (quick: 2)")
    parser.add_argument(
        "--planar-rounds",
        type=int,
        default=None,
        help=f"rounds of the planar net's whole run, a few seconds each (default "
        f"{PLANAR_ROUNDS}, or --rounds if more; quick: --rounds)",
    )
    parser.add_argument(
        "--max-m",
        type=int,
        default=2**20,
        help="largest batch of the sweep (2^8, 2^10, ... up to it, as memory allows)",
    )
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="BENCH_JSON",
        help="time nothing: check an earlier run's bench.json against the goals as they are "
        "now and write its report (JSON, Markdown, plots) to --out",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help=f"comma-separated nets to time (default all: {', '.join(SIZES)}; "
        "'none' for the planar run and the sweep alone)",
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="run the GPU batch benchmark (benchmarks/bench_gpu.py), passing it --out, "
        "--rounds, --settle and --quick (as its --tiny)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help=f"seconds idle before each timing, for the previous contender's worker threads "
        f"to stop spinning (default {DEFAULT_SETTLE}; quick: 0.01)",
    )
    args = parser.parse_args(argv)
    if args.report is not None:
        if not args.report.is_file():
            parser.error(
                f"--report expects a bench.json an earlier run wrote; {args.report} is not a file"
            )
        report_again(args.report, args.out)
        return 0
    if args.settle is not None and args.settle < 0:
        parser.error(f"--settle must be >= 0 seconds, got {args.settle}")
    if args.gpu:
        return run_gpu(args)
    global SETTLE
    SETTLE = args.settle if args.settle is not None else (0.01 if args.quick else DEFAULT_SETTLE)
    try:
        import jax

        jax.config.update("jax_enable_x64", True)  # the benchmark owns its process
    except ImportError:
        pass
    names = args.contenders.split(",")
    unknown = set(names) - set(ALL)
    if unknown:
        parser.error(f"unknown contenders {sorted(unknown)}; expected some of {list(ALL)}")
    if "seeds-numpy" not in names:
        names.insert(0, "seeds-numpy")
    dtypes = (
        args.dtypes.split(",")
        if not args.quick or "--dtypes" in (argv or sys.argv)
        else ["float32"]
    )
    rounds = args.rounds or (2 if args.quick else 5)
    for flag, value in (("--rounds", args.rounds), ("--planar-rounds", args.planar_rounds)):
        if value is not None and value < 1:
            parser.error(f"{flag} must be >= 1, got {value}")
    planar_rounds = args.planar_rounds or (rounds if args.quick else max(rounds, PLANAR_ROUNDS))
    target = 0.02 if args.quick else 0.5
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.sizes is not None:
        asked = [] if args.sizes == "none" else args.sizes.split(",")
        known = {**SIZES, **QUICK_SIZES}
        unknown = [a for a in asked if a not in known]
        if unknown:
            parser.error(f"unknown sizes {unknown}; expected some of {list(known)} or 'none'")
        sizes = {a: known[a] for a in asked}
    sweep_ms = (
        [2**8, 2**10] if args.quick else [2**p for p in range(8, 21, 2) if 2**p <= args.max_m]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    cpu = _cpu()
    blas, blas_warning = _blas()
    print(f"# {cpu}\n# {blas}")
    if blas_warning:
        print(f"# note: {blas_warning}")

    # Order: the planar runs (the shortest timings, the most easily disturbed) of every dtype
    # first, then the nets, then the sweeps, whose largest batches (9 GiB at m = 2^20) come
    # last: in the twelfth and thirteenth runs, where the float64 planar run came right
    # after the float32 sweep, portnet-jax's run took 100 and 71 ms (medians of 9 rounds,
    # single rounds to 259 ms) against 51 ms run first, in the run's first minute; the
    # fourteenth run, the first in this order, still had it at 54 and 60 ms (0.20×)
    results, planar, skipped = {}, {}, {}
    sweep_net = "-".join(map(str, SWEEP_NET))
    ours = [n for n in names if n.startswith("portnet-")]
    for dtype in dtypes:
        planar[dtype] = planar_run(
            dtype, ours, rounds=planar_rounds, iterations=1000 if args.quick else 10_000
        )
        print(f"\n## planar 2-4-1, m = 400, whole run ({dtype})\n")
        for r in planar[dtype]:
            print(f"  {r['contender']:<16} {r['run_s']:.3f} s  {r['ratio']:.2f}× seeds loop")
    for dtype in dtypes:
        for size, (layers, m) in sizes.items():
            rows = measure(layers, m, dtype, names, rounds=rounds, target=target)
            results[size, dtype] = rows
            print(f"\n## {size}, m = {m}, {dtype}\n\n{table(rows)}")
    for dtype in [] if args.no_sweep else dtypes:
        print(f"\n## sweep {sweep_net}, {dtype}\n")
        last = None
        for m in sweep_ms:
            gc.collect()  # the last batch's contenders, gone before memory is read
            why = _too_big(m, last, _available_bytes())
            if why is not None:  # as memory allows, saying so
                skipped.setdefault(dtype, {})[m] = why
                print(f"  sweep m = {m}: SKIPPED, {why}")
                continue
            need = {}
            rows = measure(SWEEP_NET, m, dtype, names, rounds=rounds, target=target, need=need)
            last = (m, need["bytes"])
            results[f"sweep {sweep_net} m={m}", dtype] = rows
            print(
                f"  sweep m = {m}: "
                + ", ".join(
                    f"{r['contender']} {r['samples_per_s']:.3g}/s" for r in rows if "step_s" in r
                )
                + f" (memory {need['bytes'] / 2**30:.2f} GiB)"
            )

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpu": cpu,
        "versions": _versions(),
        "blas": blas,
        "blas_warning": blas_warning,
        "quick": args.quick,
        "rounds": rounds,
        "planar_rounds": planar_rounds,
        "settle_s": SETTLE,
    }
    report(args.out, meta, planar, results, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
