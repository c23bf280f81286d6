"""nox sessions.

The backends are the table's (``portnet/backends/_table.py``, loaded by its path), and the
pin files of ``backends/`` are checked against it when this file loads (backends/README.md).

- ``tests``: the test suite once per backend that runs without a GPU (``tests(numpy)``,
  ``tests(jax)``, ...), each environment holding NumPy plus that backend (pins in
  ``backends/<name>.txt``) and the ``cli`` extra (``backends/cli.txt``); tests that need
  a backend a session lacks are deselected, and the summary counts them by backend.  Every
  session but ``tests(numpy)`` runs only the tests that touch its backend (``pytest
  --only-backend NAME``), not the NumPy-only ones again, whatever pytest options are passed
  after ``--`` (unless they name ``--only-backend`` themselves). Tests run in one worker
  process per core (pytest-xdist, ``-n auto``); ``nox -s tests -- -n 0`` runs them in one.
- ``agreement``: the cross-backend agreement report on every CPU backend together.
- ``gpu``: the tests and the agreement report (both precisions) with CuPy, JAX and torch on
  CUDA; without a usable CUDA device it stops after asking CuPy, and is reported as skipped
  with the reason.  CuPy and JAX are installed for the driver's CUDA major version (12 or 13,
  from ``nvidia-smi``).  On a GPU machine without network, ``bash benchmarks/gpu_check.sh``
  does all of this and more with the machine's own libraries (DEVELOPERS.md).
- ``bench`` / ``bench_gpu``: the batch benchmark on the CPU backends (``benchmarks/bench.py``)
  or on CUDA (``benchmarks/bench_gpu.py``; skipped, saying why, without a GPU);
  ``nox -s bench -- --dask``: Dask's overhead per step (``benchmarks/bench_dask.py``).
- ``docs``: the documentation site (``docs/``), warnings as errors (CI runs it).
- ``lint``: ruff.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "virtualenv"  # pip: see DEVELOPERS.md on torch
nox.options.sessions = ["lint", "tests", "gpu"]
# pip skips compiling every installed module to bytecode (torch's ~50 s install → ~15 s):
# Python compiles the ones a session imports when it imports them
os.environ.setdefault("PIP_NO_COMPILE", "1")


def _table():
    """portnet/backends/_table.py, run by its path: the one table of backends (which imports
    nothing but the standard library: nox's own environment need not hold portnet)."""
    table = runpy.run_path(str(Path(__file__).parent / "portnet" / "backends" / "_table.py"))
    problems = table["pin_problems"](Path(__file__).parent / "backends")
    if problems:
        raise RuntimeError("backends/ does not match the table of backends: " + "; ".join(problems))
    return table["TABLE"]


TABLE = _table()
#: one tests(<name>) session per backend that runs without a GPU, each with its pins
BACKENDS = [name for name, entry in TABLE.items() if entry.cpu]
#: what the agreement report and the benchmark install: every CPU backend's pins
ALL_CPU = [arg for name in BACKENDS for arg in ("-r", f"backends/{name}.txt")]
GPU_BACKENDS = ",".join(name for name, entry in TABLE.items() if entry.gpu is not None)
GPU_PROBE = (
    "from portnet._backend import gpu_status; "
    "print('portnet-gpu-probe:', gpu_status('cupy') or 'usable')"
)


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session: nox.Session, backend: str) -> None:
    """The test suite with NumPy and one other backend installed."""
    session.install("-r", f"backends/{backend}.txt", "-r", "backends/cli.txt")
    session.install("-e", ".[test]")
    # every session but NumPy's runs only the tests that touch its backend (tests/conftest.py):
    # the NumPy-only ones, which it would repeat, run once, in tests(numpy)
    chosen = any(a.startswith("--only-backend") for a in session.posargs)  # the caller's own
    only = [] if backend == "numpy" or chosen else ["--only-backend", backend]
    # one worker process per core (pytest-xdist; a later -n in posargs wins) and one thread per
    # worker: torch's and OpenBLAS's thread pools, one per core in every worker, would contend
    # for the cores (tests(torch) took twice as long)
    threads = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    session.run("pytest", "-n", "auto", *only, *session.posargs, env=threads)


@nox.session
def agreement(session: nox.Session) -> None:
    """The agreement report: table on the terminal, JSON and Markdown in agreement-results/."""
    session.install(*ALL_CPU)
    session.install("-e", ".")
    session.run("python", "-m", "portnet.agreement", "--out", "agreement-results", *session.posargs)


def cuda_major() -> int:
    """The CUDA major version the driver runs (``nvidia-smi``'s "CUDA Version"); 12 where
    that cannot be read (no driver: CuPy for CUDA 12 then says why no GPU is usable)."""
    try:
        text = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 12
    found = re.search(r"CUDA Version:\s*(\d+)", text)
    return int(found.group(1)) if found else 12


def _suffix() -> str:
    """The backends/*.txt suffix of this machine's CUDA: "" (12) or "-cuda13"."""
    return "-cuda13" if cuda_major() >= 13 else ""


def _require_gpu(session: nox.Session, consequence: str) -> None:
    """Install CuPy and skip the session, saying why, unless it finds a usable CUDA device."""
    session.install("-r", f"backends/cupy{_suffix()}.txt")
    probe = session.run("python", "-c", GPU_PROBE, silent=True) or ""
    status = probe.rpartition("portnet-gpu-probe:")[2].strip()
    if status != "usable":
        session.skip(f"no usable CUDA device, so {consequence}: {status}")


@nox.session
def gpu(session: nox.Session) -> None:
    """Tests and agreement report on CUDA (CuPy, JAX, torch); skipped, saying why, without a GPU."""
    session.install("-e", ".")  # the probe needs portnet and CuPy; the rest only with a GPU
    _require_gpu(session, "nothing ran on a GPU")
    session.install("-e", ".[test]", "-r", f"backends/gpu{_suffix()}.txt", "-r", "backends/cli.txt")
    chosen = any(a.startswith("--only-backend") for a in session.posargs)
    gpu_backends = [] if chosen else ["--only-backend", GPU_BACKENDS]
    threads = {"OMP_NUM_THREADS": "1", "PORTNET_TEST_GPU": "1"}
    session.run("pytest", "-n", "auto", *gpu_backends, *session.posargs, env=threads)
    agreement = [
        "python",
        "-m",
        "portnet.agreement",
        "--gpu",
        "--backends",
        f"numpy,{GPU_BACKENDS}",
    ]
    session.run(*agreement, "--out", "agreement-results-gpu")
    session.run(
        *agreement, "--precision", "tf32", "--dtypes", "float32", "--out", "agreement-results-tf32"
    )


@nox.session
def bench(session: nox.Session) -> None:
    """The batch benchmark on every CPU backend and its peers (results in bench-results/).

    ``nox -s bench -- --quick`` checks that it works in under a minute.
    """
    session.install(*ALL_CPU, "scikit-learn", "matplotlib")
    session.install("-e", ".")
    if "--dask" in session.posargs:  # Dask's overhead per step, as chunks and workers grow
        rest = [a for a in session.posargs if a != "--dask"]
        session.run("python", "benchmarks/bench_dask.py", "--out", "bench-results", *rest)
        return
    session.run("python", "benchmarks/bench.py", "--out", "bench-results", *session.posargs)


@nox.session
def bench_gpu(session: nox.Session) -> None:
    """The benchmark on CUDA (CuPy, JAX, torch); skipped, saying why, without a GPU."""
    session.install("-e", ".")
    _require_gpu(session, "nothing was timed on a GPU")
    session.install("-r", f"backends/gpu{_suffix()}.txt", "matplotlib")
    session.run("python", "benchmarks/bench_gpu.py", "--out", "bench-results-gpu", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (docs/, Sphinx + MyST + numpydoc) into docs/_build/html:
    warnings are errors, and every reference to portnet's objects and every link between
    pages is checked; its pictures are drawn by portnet's own code as it builds.
    ``nox -s docs -- --linkcheck`` also asks every web address (needs network)."""
    session.install("-r", "backends/numpy.txt", "-r", "backends/cli.txt")
    session.install("-r", "docs/requirements.txt")
    session.install("-e", ".")
    build = ["sphinx-build", "-W", "--keep-going", "-n", "-q"]
    session.run(*build, "-b", "html", "docs", "docs/_build/html", env={"MPLBACKEND": "Agg"})
    if "--linkcheck" in session.posargs:
        session.run(*build, "-b", "linkcheck", "docs", "docs/_build/linkcheck")
