"""Dask's overhead per training step, as chunks and workers grow, against portnet on NumPy.

    python benchmarks/bench_dask.py [--quick] [--out DIR] [--rounds N]
    nox -s bench -- --dask            (runs this after the batch benchmark)

For each net × batch size, portnet trains full-batch on NumPy (the reference) and on Dask
with the threaded scheduler (this machine's cores) and with a ``distributed.LocalCluster``
of 1 and 2 single-threaded worker processes on loopback, the data split into 1, 2, 4, 8 and
32 chunks.  Time per step is ``(t(k) − t(k₀)) / (k − k₀)`` (set-up and the data's one
persist cancel out), the median over rounds.  Printed, and written as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from bench import _fmt_time  # benchmarks/bench.py, beside this file

import portnet

#: name -> (hidden layers, n_features, m)
NETS = {
    "2-4-1 planar": ((4,), 2, 400),
    "256-256-1": ((256,), 256, 65_536),
}
QUICK_NETS = {"2-4-1 planar": ((4,), 2, 400)}
CHUNKS = (1, 2, 4, 8, 32)


def _data(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n)).astype(np.float32)
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def _step_time(X, y, hidden, k0: int, k: int, **options) -> float:
    def run(iterations: int) -> float:
        start = time.perf_counter()
        portnet.train(X, y, hidden=hidden, iterations=iterations, log_every=max(k, 1),
                      learning_rate=0.1, **options)  # fmt: skip
        return time.perf_counter() - start

    run(k0)  # warm-up
    return (run(k) - run(k0)) / (k - k0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the planar net, 2 rounds")
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--rounds", type=int, default=None, help="default 3 (quick: 1)")
    args = parser.parse_args(argv)
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # not a line per start and stop

    nets = QUICK_NETS if args.quick else NETS
    rounds = args.rounds or (1 if args.quick else 3)
    k0, k = (1, 6) if args.quick else (2, 10)
    chunk_counts = (1, 4) if args.quick else CHUNKS
    data = {name: _data(n, m) for name, (_, n, m) in nets.items()}
    times: dict[tuple[str, str, int | None], float] = {}

    def measure(how: str) -> None:
        for name, (hidden, _, m) in nets.items():
            X, y = data[name]
            for chunks in chunk_counts:
                runs = [
                    _step_time(X, y, hidden, k0, k, backend="dask", chunks=-(-m // chunks))
                    for _ in range(rounds)
                ]
                times[name, how, chunks] = statistics.median(runs)
                print(f"{name}: {how}, {chunks} chunks: {times[name, how, chunks]:.4g} s/step")

    for name, (hidden, _, _) in nets.items():
        X, y = data[name]
        runs = [_step_time(X, y, hidden, k0, k, backend="numpy") for _ in range(rounds)]
        times[name, "numpy", None] = statistics.median(runs)
    measure("threads")
    for workers in (1, 2):  # a cluster of that many single-threaded worker processes
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address=None) as cluster,
            Client(cluster),  # the default client: dask.persist and portnet use it
        ):  # fmt: skip
            measure(f"{workers} worker{'s' if workers > 1 else ''}")
    results = []
    for name, (_, _, m) in nets.items():
        numpy = times[name, "numpy", None]
        rows = [
            {"how": how, "chunks": chunks, "step_s": t, "ratio": t / numpy}
            for (net, how, chunks), t in times.items()
            if net == name
        ]
        results.append({"net": name, "m": m, "rows": rows})
        print(_markdown_one(name, m, rows), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench-dask.json").write_text(json.dumps({"quick": args.quick, "results": results}))
    (out / "bench-dask.md").write_text(
        "# portnet on Dask: time per step\n\n"
        + "\n".join(_markdown_one(r["net"], r["m"], r["rows"]) for r in results)
    )
    print(f"wrote {out / 'bench-dask.json'}, {out / 'bench-dask.md'}")
    return 0


def _markdown_one(name: str, m: int, rows: list[dict]) -> str:
    lines = [
        f"## {name}, m = {m}, float32, full batch\n",
        "| scheduler | chunks | time / step | × NumPy backend |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        shown = _fmt_time(r["step_s"])
        lines.append(f"| {r['how']} | {r['chunks'] or '—'} | {shown} | {r['ratio']:.2f}× |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
