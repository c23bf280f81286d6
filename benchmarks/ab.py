"""Two checkouts of portnet timed in one run: ``bench.py`` of each, interleaved.

    python benchmarks/ab.py --before PYTHON:CHECKOUT --after PYTHON:CHECKOUT [--passes 2] \\
        [-- BENCH.PY OPTIONS]

Each ``PYTHON`` is an environment's interpreter with its own portnet installed (the
checkout's, not editable from another), each ``CHECKOUT`` the directory whose
``benchmarks/bench.py`` it runs.  The two are run in turn, ``--passes`` times each
(before, after, before, after, ...), so that the machine's slow minutes fall on both; every
figure is the contender's time over the seeds' loop's *in the same run* (the reference
neither checkout changes), and the table gives the median over passes of each side and
their quotient (after / before: below 1 is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

#: what a redesign must keep (issue 27): the planar run and the key nets, one dtype
DEFAULT_BENCH = [
    "--sizes", "784-128-1,784-1024-1,784-256-128-64-1",
    "--contenders", "portnet-numpy,portnet-jax,portnet-torch",
    "--dtypes", "float32", "--no-sweep", "--rounds", "3",
]  # fmt: skip


def _side(text: str) -> tuple[str, Path]:
    python, sep, checkout = text.partition(":")
    if not sep or not Path(python).exists() or not Path(checkout, "benchmarks").is_dir():
        raise argparse.ArgumentTypeError(
            f"expected PYTHON:CHECKOUT (an interpreter and a portnet checkout), got {text!r}"
        )
    return python, Path(checkout)


def run_once(python: str, checkout: Path, bench_args: list[str], out: Path) -> dict:
    """One ``bench.py`` run; ``{(net, dtype, contender): ratio to the seeds' loop}``."""
    command = [python, str(checkout / "benchmarks" / "bench.py"), *bench_args, "--out", str(out)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=tempfile.gettempdir())
    data = json.loads((out / "bench.json").read_text())
    ratios = {}
    for dtype, rows in data["planar_run"].items():
        for r in rows:
            ratios[("planar 10 000-step run", dtype, r["contender"])] = r["ratio"]
    for entry in data["results"]:
        for r in entry["rows"]:
            if r.get("ratio") is not None:
                ratios[(entry["size"], entry["dtype"], r["contender"])] = r["ratio"]
    return ratios


def table(before: list[dict], after: list[dict]) -> str:
    keys = [k for k in before[0] if k in after[0] and k[2] != "seeds-numpy"]
    lines = [
        "| net | dtype | contender | before × seeds | after × seeds | after / before |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key in keys:
        b = statistics.median(run[key] for run in before if key in run)
        a = statistics.median(run[key] for run in after if key in run)
        spread = ", ".join(f"{run[key]:.2f}" for run in after if key in run)
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {b:.2f}× | {a:.2f}× ({spread}) | {a / b:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=_side, required=True)
    parser.add_argument("--after", type=_side, required=True)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench-results-ab"))
    parser.add_argument("bench", nargs="*", help="bench.py's options (after --)")
    args = parser.parse_args(argv)
    bench_args = args.bench or DEFAULT_BENCH
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for i in range(args.passes):
        for side in ("before", "after"):
            python, checkout = getattr(args, side)
            out = args.out / f"{side}-{i}"
            runs[side].append(run_once(python, checkout, bench_args, out))
    text = table(runs["before"], runs["after"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ab.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
