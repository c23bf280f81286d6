"""The offline GPU check: everything portnet claims for CUDA GPUs, in one call of a few minutes.

    bash benchmarks/gpu_check.sh [--budget 480] [--steps a,b,...]   # on the GPU machine
    python benchmarks/gpu_check.py --out DIR                         # the same, by hand

It uses the machine's own CuPy, JAX and torch (and the wheels ``gpu_check.sh`` installs from
``.whl/``: ``benchmarks/gpu_wheels.sh`` downloads them, ``backends/gpu-offline.txt`` lists
them), needs no network, installs nothing else and builds nothing.  Each step runs in a
process of its own with its own time limit, inside a budget for the whole check; one
failing (or timing out) does not stop the others.  The steps, most telling first:

1. ``machine``: the GPU (``nvidia-smi``), the libraries and what each says of the GPU;
2. ``backends``: ``portnet backends``;
3. ``cli-cupy``, ``cli-torch``, ``cli-jax``: ``portnet train`` on the GPU then
   ``portnet predict`` with the model file, per library;
4. ``selftest``: ``python -m portnet.selftest --gpu`` (agreement, no host sync, speed);
5. ``agreement``, ``agreement-tf32``: the agreement report with ``--gpu``, both precisions;
6. ``tests``: the test suite for cupy, jax and torch on CUDA (``PORTNET_TEST_GPU=1``,
   pytest-xdist over every core);
7. ``bench``: the GPU batch benchmark (``benchmarks/bench_gpu.py``) in what time is left.

A step that needs a GPU where no library can use one is skipped, saying why, so the check
also runs (and is tested) on a machine without one.  Everything goes to ``--out``: a log
per step, ``summary.json`` and ``summary.md``; the summary is printed last.  Exit status 0
when no step failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import runpy
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
#: the table of backends (run by its path: this script imports no portnet before its steps)
TABLE = runpy.run_path(str(ROOT / "portnet" / "backends" / "_table.py"))["TABLE"]
GPU_LIBRARIES = tuple(name for name, entry in TABLE.items() if entry.gpu is not None)
#: the device each library's GPU run uses, as ``--device`` takes it (CuPy: its only kind)
DEVICES = {name: TABLE[name].gpu if TABLE[name].cpu else None for name in GPU_LIBRARIES}
#: ... and in a rehearsal on the CPU (CuPy has no CPU device: not rehearsed)
REHEARSAL_DEVICES = {"jax": "cpu:0", "torch": "cpu"}
#: the tests a rehearsal runs (``pytest -k``): a few of every kind the GPU run has
REHEARSAL_TESTS = "outputs_follow or cost_is_read_back or transfer_guard or graphs"
#: what a skipped step's process returns (automake's convention; portnet's tools use it)
SKIPPED = 77
#: seconds kept back from the budget for the summary
RESERVE = 10


@dataclasses.dataclass
class Step:
    """One step: its commands, time limit and the GPU libraries it needs (any of them)."""

    name: str
    commands: list[list[str]]
    limit: float
    needs: tuple[str, ...] = ()
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    digest: Callable[[Path], str] | None = None  # a line of results, read from its files
    budget_flag: str | None = None  # the last command's option for the seconds it may take
    keep: float = 0.0  # seconds of the budget it leaves to the steps after it


@dataclasses.dataclass
class Outcome:
    name: str
    status: str  # "ok", "FAIL", "timeout", "skipped"
    seconds: float
    detail: str = ""


def environment() -> dict[str, str]:
    """The steps' environment: portnet from this checkout, JAX not taking 75 % of the GPU's
    memory per process, x64 on (float64 rows), output unbuffered, one thread per worker."""
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(path)),
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "JAX_ENABLE_X64": "1",
        "PYTHONUNBUFFERED": "1",
    }


def gpu_reasons(env: dict[str, str]) -> dict[str, str | None]:
    """For each of CuPy, JAX, torch: None if it can use a CUDA GPU here, else why not
    (asked in a process of its own: the check itself holds no GPU memory)."""
    probe = (
        "import json\nfrom portnet._backend import gpu_status\nout = {}\n"
        f"for name in {GPU_LIBRARIES!r}:\n"
        "    try:\n        out[name] = gpu_status(name)\n"
        "    except ImportError as exc:\n        out[name] = f'not installed ({exc})'\n"
        "print('portnet-gpu-probe:', json.dumps(out))\n"
    )
    try:
        done = subprocess.run(
            [PY, "-c", probe], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        return dict.fromkeys(GPU_LIBRARIES, "the GPU probe did not answer in 120 s")
    line = [x for x in done.stdout.splitlines() if x.startswith("portnet-gpu-probe:")]
    if not line:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return dict.fromkeys(GPU_LIBRARIES, f"the GPU probe failed: {why}")
    return json.loads(line[0].partition(":")[2])


def run_step(step: Step, out: Path, env: dict[str, str], limit: float) -> Outcome:
    """The step's commands in turn (one failing stops the step), logged to ``out/NAME.log``;
    a command past the limit is killed with every process it started."""
    start = time.monotonic()
    log = out / f"{step.name}.log"
    commands = [list(c) for c in step.commands]
    if step.budget_flag is not None:  # what it may take, less the time to write its report
        commands[-1] += [step.budget_flag, str(int(max(limit - 20, 10)))]
    with log.open("w") as f:
        for command in commands:
            left = limit - (time.monotonic() - start)
            f.write(f"$ {' '.join(command)}\n")
            f.flush()
            rc = _run(command, f, {**env, **step.env}, left)
            if rc is None:
                return Outcome(
                    step.name, "timeout", time.monotonic() - start, f"past {limit:.0f} s"
                )
            if rc != 0:
                status = "skipped" if rc == SKIPPED else "FAIL"
                return Outcome(step.name, status, time.monotonic() - start, _last_line(log, rc))
    seconds = time.monotonic() - start
    return Outcome(step.name, "ok", seconds, step.digest(out) if step.digest else "")


def _run(command: list[str], log, env: dict[str, str], seconds: float) -> int | None:
    """``command``'s exit status, or None if it ran past ``seconds`` (then killed, with its
    children: it runs in a process group of its own)."""
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        return proc.wait(timeout=max(seconds, 1))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def _last_line(log: Path, rc: int) -> str:
    lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
    return f"exit {rc}: {lines[-1][:300] if lines else 'no output'}"


def run_all(steps: list[Step], out: Path, budget: float, reasons: dict[str, str | None]):
    """Every step in order, each within its limit and the budget left; the outcomes."""
    env = environment()
    deadline = time.monotonic() + budget - RESERVE
    outcomes = []
    for step in steps:
        usable = [n for n in step.needs if reasons.get(n) is None]
        left = deadline - time.monotonic() - step.keep
        if step.needs and not usable:
            why = "; ".join(f"{n}: {reasons.get(n)}" for n in step.needs)
            outcomes.append(Outcome(step.name, "skipped", 0.0, f"no usable GPU ({why})"))
        elif left < 15:
            outcomes.append(Outcome(step.name, "skipped", 0.0, "the check's time budget is spent"))
        else:
            print(f"::: {step.name} (at most {min(step.limit, left):.0f} s)", flush=True)
            outcomes.append(run_step(step, out, env, min(step.limit, left)))
            print(f"    {outcomes[-1].status}: {outcomes[-1].detail}", flush=True)
    return outcomes


# -- the steps -------------------------------------------------------------------------------------
def _portnet(*args: str) -> list[str]:
    return [PY, "-m", "portnet", *args]


def _rehearsed() -> list[str]:
    """The libraries a rehearsal runs: those of JAX and torch installed here."""
    return [n for n in REHEARSAL_DEVICES if importlib.util.find_spec(n) is not None]


def cli_step(name: str, out: Path, rehearse: bool = False) -> Step:
    """``portnet train`` on library ``name``'s GPU, then ``portnet predict`` with its model
    (rehearsed: on its CPU device; CuPy, which has none, not at all)."""
    where = out / f"cli-{name}"
    device = DEVICES[name] if not rehearse else REHEARSAL_DEVICES.get(name)
    on = [] if device is None else ["--device", device]
    train = _portnet(
        "train", "--backend", name, *on, "--dtype", "float32", "--iterations", "2000",
        "--log-every", "500", "--no-plot", "--out", str(where),
    )  # fmt: skip
    predict = _portnet(
        "predict", str(where / "model.npz"), str(out / "planar.npz"), "--backend", name,
        *on, "--out", str(where / "predictions.npy"),
    )  # fmt: skip
    needs = () if rehearse and name in _rehearsed() else (name,)
    return Step(f"cli-{name}", [train, predict], 90, needs=needs, digest=_cli_digest(name))


def _cli_digest(name: str) -> Callable[[Path], str]:
    def digest(out: Path) -> str:
        text = (out / f"cli-{name}.log").read_text(errors="replace")
        found = [x for x in text.splitlines() if x.startswith(("training accuracy", "accuracy on"))]
        return "; ".join(found)

    return digest


def _agreement_digest(folder: str) -> Callable[[Path], str]:
    def digest(out: Path) -> str:
        rows = json.loads((out / folder / "agreement.json").read_text())["rows"]
        counts: dict[str, dict[str, int]] = {}
        for row in rows:
            by = counts.setdefault(row["backend"], {})
            by[row["status"]] = by.get(row["status"], 0) + 1
        return "; ".join(
            f"{b}: " + ", ".join(f"{n} {s}" for s, n in sorted(c.items()))
            for b, c in counts.items()
        )

    return digest


def _tests_digest(out: Path) -> str:
    """Passed, failed, errors and skipped from the junit file, and per backend in the ids."""
    suite = ET.parse(out / "tests.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    ran = {name: 0 for name in GPU_LIBRARIES}
    for case in suite.iter("testcase"):
        if case.find("skipped") is None:
            for name in ran:
                ran[name] += name in case.get("name", "")
    per = ", ".join(f"{n} {k}" for n, k in ran.items())
    return (
        f"{passed} passed, {counts['failures']} failed, {counts['errors']} errors, "
        f"{counts['skipped']} skipped (run, by backend named in the id: {per})"
    )


def _json_digest(path: str, key: str) -> Callable[[Path], str]:
    def digest(out: Path) -> str:
        return str(json.loads((out / path).read_text()).get(key, ""))

    return digest


def steps(out: Path, workers: int, rehearse: bool = False) -> list[Step]:
    """The check's steps in the order they run (see the module's docstring).

    ``rehearse``: the GPU steps' commands as they would run, on the CPU (JAX and torch on
    their CPU devices, CuPy left out, a few tests, the benchmark's dry run): what a machine
    without a GPU can check of them (their options, outputs and digests) before the one GPU
    call.  Never GPU figures.
    """
    gpu = () if rehearse else GPU_LIBRARIES
    libraries = ",".join(_rehearsed() if rehearse else GPU_LIBRARIES)
    on_gpu = [] if rehearse else ["--gpu"]
    agreement = [PY, "-m", "portnet.agreement", *on_gpu, "--backends", f"numpy,{libraries}"]
    agreement += ["--configs", "planar-tanh"] if rehearse else []
    tf32 = str(out / "agreement-tf32")
    selftest = [PY, "-m", "portnet.selftest", *on_gpu, "--backends", libraries]
    # -v: every test's result in the log as it comes (a step killed at its limit writes no
    # junit file); the slowest 25 named
    pytest = [PY, "-m", "pytest", "-v", "--durations=25", "-p", "no:cacheprovider"]
    pytest += ["-n", str(workers)]
    pytest += ["-k", REHEARSAL_TESTS] if rehearse else []
    bench = [PY, str(ROOT / "benchmarks" / "bench_gpu.py"), "--out", str(out / "bench")]
    bench += ["--cpu-dry-run"] if rehearse else []
    return [
        Step(
            "machine",
            [[PY, str(Path(__file__).resolve()), "--machine", str(out)]],
            60,
            digest=_json_digest("machine.json", "nvidia-smi"),
        ),
        Step("backends", [_portnet("backends")], 60),
        *(cli_step(name, out, rehearse) for name in GPU_LIBRARIES),
        Step(
            "selftest",
            [[*selftest, "--json", str(out / "selftest.json")]],
            120,
            needs=gpu,
            digest=_json_digest("selftest.json", "verdict"),
        ),
        Step(
            "agreement",
            [[*agreement, "--out", str(out / "agreement")]],
            150,
            needs=gpu,
            digest=_agreement_digest("agreement"),
        ),
        Step(
            "agreement-tf32",
            [[*agreement, "--precision", "tf32", "--dtypes", "float32", "--out", tf32]],
            90,
            needs=gpu,
            digest=_agreement_digest("agreement-tf32"),
        ),
        Step(
            "tests",
            [[*pytest, "--only-backend", libraries, "--junitxml", str(out / "tests.xml")]],
            240,
            needs=gpu,
            env={"PORTNET_TEST_GPU": "0" if rehearse else "1", "OMP_NUM_THREADS": "1"},
            digest=_tests_digest,
            keep=120,  # the benchmark's share
        ),
        Step(
            "bench",
            [bench],
            300,
            needs=gpu,
            digest=_json_digest("bench/bench_gpu.json", "summary"),
            budget_flag="--budget",
        ),
    ]


# -- the machine ---------------------------------------------------------------------------------
def machine() -> dict[str, object]:
    """The GPU as ``nvidia-smi`` and each library see it, and the versions that ran."""
    import importlib.metadata
    import platform

    found: dict[str, object] = {"python": platform.python_version(), "host": platform.node()}
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,compute_cap",
             "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        found["nvidia-smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        found["nvidia-smi"] = f"unavailable: {exc}"
    versions = {}
    for dist in (
        "numpy", "array-api-compat", "array-api-strict", "array-api-extra", "cupy-cuda12x",
        "cupy-cuda13x", "jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "torch",
        "dask", "scikit-learn", "pytest", "pytest-xdist", "hypothesis",
    ):  # fmt: skip
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    found["versions"] = versions
    found["libraries"] = {name: _library_view(name) for name in GPU_LIBRARIES}
    return found


def _library_view(name: str) -> str:
    """What library ``name`` says of the GPU (device name, CUDA version), or why nothing."""
    try:
        if name == "cupy":
            import cupy

            props = cupy.cuda.runtime.getDeviceProperties(0)
            runtime = cupy.cuda.runtime.runtimeGetVersion()
            capability = f"{props['major']}.{props['minor']}"
            return f"{props['name'].decode()}, CUDA runtime {runtime}, compute {capability}"
        if name == "jax":
            import jax

            return ", ".join(f"{d} ({d.device_kind})" for d in jax.devices())
        import torch

        if not torch.cuda.is_available():
            return f"torch {torch.__version__}: no CUDA device"
        return (
            f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
        )
    except Exception as exc:  # a machine without the library or its GPU: say what happened
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


# -- the summary ---------------------------------------------------------------------------------
def summary(outcomes: list[Outcome], seconds: float) -> str:
    """The outcomes as a Markdown table, and the verdict."""
    lines = ["| step | result | seconds | detail |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {o.name} | {o.status} | {o.seconds:.0f} | {o.detail.replace('|', '/')} |"
        for o in outcomes
    ]
    bad = [o.name for o in outcomes if o.status in ("FAIL", "timeout")]
    skipped = [o.name for o in outcomes if o.status == "skipped"]
    verdict = f"{len(bad)} failed ({', '.join(bad)})" if bad else "no step failed"
    if skipped:
        verdict += f"; {len(skipped)} skipped ({', '.join(skipped)}), not counted as passed"
    return "\n".join(lines) + f"\n\n{verdict}; {seconds:.0f} s in all.\n"


def write_summary(
    out: Path, outcomes: list[Outcome], seconds: float, reasons, rehearsal: bool = False
) -> str:
    text = summary(outcomes, seconds)
    title = "REHEARSAL on the CPU (not a GPU run)" if rehearsal else "portnet GPU check"
    (out / "summary.md").write_text(f"# {title}\n\n{text}")
    record = {
        "rehearsal": rehearsal,
        "outcomes": [dataclasses.asdict(o) for o in outcomes],
        "gpu": reasons,
        "seconds": seconds,
        "failed": [o.name for o in outcomes if o.status in ("FAIL", "timeout")],
    }
    (out / "summary.json").write_text(json.dumps(record, indent=2) + "\n")
    return text


def _planar_file(out: Path) -> None:
    """The planar data set as an .npz, the input of the ``portnet predict`` steps."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from portnet import datasets

    X, y = datasets.planar()
    np.savez(out / "planar.npz", X=X, y=y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-check-results"))
    parser.add_argument("--budget", type=float, default=480, help="seconds for the whole check")
    parser.add_argument("--steps", default=None, help="comma-separated steps (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="test workers")
    parser.add_argument(
        "--rehearse",
        action="store_true",
        help="the GPU steps' commands on the CPU (never GPU figures): checks them before a call",
    )
    parser.add_argument("--machine", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.machine is not None:  # the "machine" step, in a process of its own
        found = machine()
        (args.machine / "machine.json").write_text(json.dumps(found, indent=2) + "\n")
        print(json.dumps(found, indent=2))
        return 0
    start = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    _planar_file(args.out)
    chosen = steps(args.out, args.workers, rehearse=args.rehearse)
    if args.steps is not None:
        names = args.steps.split(",")
        unknown = sorted(set(names) - {s.name for s in chosen})
        if unknown:
            parser.error(f"unknown steps {unknown}; expected some of {[s.name for s in chosen]}")
        chosen = [s for s in chosen if s.name in names]
    reasons = gpu_reasons(environment())
    for name, why in reasons.items():
        print(f"# {name}: {'a usable GPU' if why is None else why}", flush=True)
    outcomes = run_all(chosen, args.out, args.budget, reasons)
    text = write_summary(args.out, outcomes, time.monotonic() - start, reasons, args.rehearse)
    title = "REHEARSAL on the CPU (not a GPU run)" if args.rehearse else "portnet GPU check"
    print(f"\n## {title} ({args.out})\n\n{text}", flush=True)
    return 1 if any(o.status in ("FAIL", "timeout") for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
