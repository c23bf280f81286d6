"""One backend list, one ``backend``/``xp`` fixture, one ``dtype`` fixture; tests selected,
not skipped.

Every backend portnet supports is listed once (``portnet.backends.TABLE``); a test that
takes ``backend`` (or ``xp``) and ``dtype`` runs on every backend that can run here, and on
a read-only NumPy variant (``numpy_readonly``: NumPy fed read-only arrays), ×
{float32, float64}, with ids such as ``torch-float32``.  What a test needs is declared, never
discovered from its name or at run time: its ``backend`` parameter; ``@needs(NAME, ...)``
(``@pytest.mark.needs``) for every backend it uses besides (a second library, an autodiff
reference), all of them needed; ``@needs_one_of(NAME, ...)`` (``@pytest.mark.needs_one_of``)
where any one of them will do (the GPU libraries' CPU stand-ins, torch or JAX).  Inside a
parametrisation whose parameter is not ``backend``, each case carries its own:
``pytest.param(..., marks=needs(NAME))``.  ``@pytest.mark.backends(NAME, ...)`` marks a test
that uses whichever of NAME are installed without needing any (it runs everywhere, and in
those backends' sessions too).  A name that is not a backend is an error, not a test that
never runs.

A test that needs a backend this machine lacks (not installed; CuPy without a usable GPU) is
**deselected** at collection, not skipped, and the terminal summary says how many, for which
backend and why (with xdist too, whose own last line counts no deselected test): never
counted as passed, never a skip.  ``pytest --only-backend NAME[,NAME...]`` (how ``nox -s
tests`` runs every session but NumPy's; ``nox -s gpu`` runs ``cupy,jax,torch``) first keeps
only the tests that need or use one of them, whatever other options are given; the rest,
NumPy's own, run once, in ``tests(numpy)``.  The skips that remain say why (``-ra``): the
machine's at run time (a GPU usable or not, a torch without some setting) and the few cases
that do not apply to a backend (:func:`skip_dask_minibatches`).

GPU runs (``PORTNET_TEST_GPU=1``: ``nox -s gpu``, ``benchmarks/gpu_check.py``): CuPy and JAX
put new arrays on the GPU by themselves; a test run on backend ``torch`` runs with CUDA as
torch's default device (``torch.device("cuda")`` as a context, for that test alone), while
tests written for torch's CPU (its CPU fast paths, the autograd references) stay there.
JAX does not take 75 % of the GPU's memory per process (``XLA_PYTHON_CLIENT_PREALLOCATE``),
and the GPU libraries are imported up front, any warning they give at import (a CUDA
version note, say) recorded in the report's header instead of failing every test that
imports them under ``filterwarnings = error``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import os
import sys
import warnings
from pathlib import Path
from typing import Any

# A second host device for JAX device-placement tests; must be set before JAX is imported.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
# scikit-learn's array-API estimator checks (tests/test_sklearn.py) run only with SciPy's
# array-API mode, which must be chosen before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# test processes share one GPU (a worker per core): JAX allocates as it goes, not 75 % up front
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import numpy as np
import pytest

from portnet._backend import BACKENDS, Backend, resolve_backend, to_numpy
from portnet.backends import TABLE

DTYPES = ("float32", "float64")
GPU_RUN = os.environ.get("PORTNET_TEST_GPU") == "1"

try:  # float64 on JAX needs x64; enabled for the whole test run (tests that need it off say so)
    import jax

    jax.config.update("jax_enable_x64", True)
except ImportError:
    pass


def _import_gpu_libraries() -> list[str]:
    """CuPy, JAX and torch imported (those installed), and what they warned at import."""
    said = []
    for name in ("cupy", "jax", "torch"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        said += [f"{name}: {w.category.__name__}: {w.message}" for w in caught]
    return said


IMPORT_WARNINGS = _import_gpu_libraries() if GPU_RUN else []


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not GPU_RUN:
        return []
    return ["GPU run (PORTNET_TEST_GPU=1)"] + [f"warned at import: {w}" for w in IMPORT_WARNINGS]


def _backend_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise pytest.UsageError(
            f"--only-backend takes comma-separated names of {list(BACKENDS)}, got {text!r}"
        )
    return names


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--only-backend",
        type=_backend_names,
        default=None,
        metavar="NAME[,NAME...]",
        help="run only the tests that touch these backends (see tests/conftest.py)",
    )


@functools.cache
def unavailable(name: str) -> str | None:
    """Why backend ``name`` cannot run here (not installed; CuPy: no usable GPU), or None."""
    try:
        if importlib.util.find_spec(TABLE[name].module.split(".")[0]) is None:
            return f"backend {name!r} is not installed"
    except ValueError:  # a module without a spec (a stand-in some test put in sys.modules)
        return None
    if name == "cupy":
        import cupy

        if not cupy.is_available():
            return "CuPy is installed but cupy.is_available() is False: no usable CUDA device"
    return None


def backends_of(item: pytest.Item) -> tuple[list[tuple[str, ...]], set[str]]:
    """(what test ``item`` needs, the backends it touches).  What it needs: a list of
    alternatives, each satisfied where one of its backends can run: its ``backend``
    parameter and each backend of its ``needs`` marks alone, each ``needs_one_of`` mark's
    together.  It touches all of these, and its ``backends`` marks' (used where installed,
    not needed)."""
    callspec = getattr(item, "callspec", None)
    param = callspec.params.get("backend") if callspec else None
    needed = [(_library(param),)] if param is not None else []
    needed += [(b,) for mark in item.iter_markers("needs") for b in mark.args]
    needed += [tuple(mark.args) for mark in item.iter_markers("needs_one_of")]
    touched = {b for names in needed for b in names}
    touched |= {b for mark in item.iter_markers("backends") for b in mark.args}
    if unknown := sorted(touched - set(BACKENDS)):  # a misspelt name: never deselected quietly
        raise pytest.UsageError(
            f"{item.nodeid} names {unknown} in its backend parameter or its needs/needs_one_of/"
            f"backends marks; backends are {list(BACKENDS)}"
        )
    return needed, touched


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Select, rather than skip: with ``--only-backend NAMES``, every test that touches
    none of them is deselected (it does not concern this run); of the rest, every test that
    needs a backend this machine lacks is deselected too, and counted, by backend, for the
    summary."""
    chosen = config.getoption("only_backend")
    keep, lacking_tests, missing = [], 0, collections.Counter()
    for item in items:
        needed, touched = backends_of(item)
        if chosen is not None and not touched & set(chosen):
            continue
        lacking = {names for names in needed if all(unavailable(n) for n in names)}
        if lacking:
            lacking_tests += 1
            missing.update(" or ".join(sorted(names)) for names in lacking)
        else:
            keep.append(item)
    if len(keep) < len(items):
        kept = set(keep)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = keep
    config.stash[_LACKING] = {"tests": lacking_tests, "by_backend": dict(missing)}


_LACKING = pytest.StashKey[dict]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its count to the controller, which collects nothing itself."""
    config = session.config
    if hasattr(config, "workeroutput") and _LACKING in config.stash:
        config.workeroutput["portnet_lacking"] = config.stash[_LACKING]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """The controller of an xdist run takes the count from its workers (all of which
    collect the same tests: one's count is the run's)."""
    said = getattr(node, "workeroutput", {}).get("portnet_lacking")
    if said is not None:
        node.config.stash[_LACKING] = said


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """How many tests were deselected for a backend this machine lacks, which and why
    (xdist's own last line counts no deselected test)."""
    lacking = config.stash.get(_LACKING, None)
    if lacking and lacking["tests"]:
        said = "; ".join(
            f"{names} ({_why(names)}): {k}" for names, k in sorted(lacking["by_backend"].items())
        )
        terminalreporter.write_line(
            f"{lacking['tests']} deselected, needing a backend this machine lacks: {said}"
        )


def _why(names: str) -> str:
    """Why none of ``names`` ("jax or torch") can run here, each said once."""
    reasons = [unavailable(n) for n in names.split(" or ")]
    if len(reasons) > 1 and all(r.endswith("is not installed") for r in reasons):
        return "none of them is installed"
    return "; ".join(reasons)


@pytest.fixture(autouse=True)
def _torch_on_cuda(request: pytest.FixtureRequest):
    """In a GPU run, a test on backend torch makes its tensors on CUDA (for that test alone)."""
    callspec = getattr(request.node, "callspec", None)
    if not (GPU_RUN and callspec is not None and callspec.params.get("backend") == "torch"):
        yield
        return
    import torch

    with torch.device("cuda"):
        yield


def needs(*names: str) -> pytest.MarkDecorator:
    """``@needs("torch")``: the test runs where these backends can (and with
    ``--only-backend``, in their sessions), and is deselected elsewhere."""
    return pytest.mark.needs(*names)


def needs_one_of(*names: str) -> pytest.MarkDecorator:
    """``@needs_one_of("torch", "jax")``: the test runs where at least one of these
    backends can (and in each one's session), and is deselected where none can."""
    return pytest.mark.needs_one_of(*names)


#: the backend list's read-only NumPy variant: the test runs on "numpy", fed read-only arrays
READ_ONLY = "numpy_readonly"
_READ_ONLY_RUN: list[bool] = []  # whether the running test is the variant (one test at a time)


def _library(param: str) -> str:
    return "numpy" if param == READ_ONLY else param


@pytest.fixture(params=[*BACKENDS, READ_ONLY])
def backend(request: pytest.FixtureRequest):
    """Name of every backend that can run here (the others are deselected, not skipped),
    and the read-only NumPy variant (ids ``numpy_readonly-...``): backend "numpy", with every
    NumPy array the test module holds (its data, its configurations' data) and every array
    ``on("numpy")`` and the ``xp`` fixture make read-only, as in array-api-extra's
    ``NUMPY_READONLY``: portnet must never write into its caller's arrays."""
    if request.param != READ_ONLY:
        yield request.param
        return
    frozen = _freeze(vars(request.module).values())
    _READ_ONLY_RUN.append(True)
    try:
        yield "numpy"
    finally:
        _READ_ONLY_RUN.clear()
        for a in frozen:
            a.flags.writeable = True


def _freeze(values: Any, depth: int = 0) -> list[np.ndarray]:
    """The writeable NumPy arrays among ``values`` (and in their tuples, lists and dicts, two
    levels down) made read-only; returned, to be made writeable again."""
    frozen = []
    for v in values:
        if isinstance(v, np.ndarray) and v.flags.writeable and v.flags.owndata:
            v.flags.writeable = False
            frozen.append(v)
        elif isinstance(v, (tuple, list, dict)) and depth < 2:
            frozen += _freeze(v.values() if isinstance(v, dict) else v, depth + 1)
    return frozen


@pytest.fixture
def xp(backend: str):
    """The array namespace of ``backend`` (the read-only variant's: arrays made read-only)."""
    namespace = resolve_backend(backend).xp
    return _ReadOnlyNamespace(namespace) if _READ_ONLY_RUN else namespace


class _ReadOnlyNamespace:
    """array-api-compat's NumPy, every array its functions return made read-only (their
    ``array_namespace`` is still array-api-compat's NumPy: what portnet makes is writable)."""

    def __init__(self, xp: Any) -> None:
        self._xp = xp

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._xp, name)
        if not callable(found) or isinstance(found, type):
            return found

        def read_only(*args: Any, **kwargs: Any) -> Any:
            out = found(*args, **kwargs)
            if isinstance(out, np.ndarray):
                out.flags.writeable = False
            return out

        return read_only


@pytest.fixture(params=DTYPES)
def dtype(request: pytest.FixtureRequest) -> str:
    return request.param


def skip_dask_minibatches(backend: str, options: dict) -> None:
    """Dask's mini-batches are whole chunks, not NumPy's shuffled rows: no agreement to test
    (tests/test_dask.py checks them against a reference of their own)."""
    if backend == "dask" and options.get("batch_size") is not None:
        pytest.skip("Dask's mini-batches are whole chunks, checked in tests/test_dask.py")


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def benchmarks(monkeypatch: pytest.MonkeyPatch):
    """``import_module`` for the scripts of benchmarks/ (not a package), each forgotten
    after the test (the next one imports it afresh, with its module settings as shipped)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield importlib.import_module
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").parent == BENCHMARKS:
            del sys.modules[name]


def host(x) -> np.ndarray:
    """A NumPy float64 copy of an array of any (CPU) backend."""
    return np.asarray(to_numpy(x), dtype=np.float64)


def on(backend_name: str, device=None) -> Backend:
    """The backend (in the read-only variant, NumPy's making read-only arrays)."""
    be = resolve_backend(backend_name, device=device)
    if _READ_ONLY_RUN and be.name == "numpy":
        return _ReadOnlyBackend(be.name, be.xp, be.device)
    return be


@dataclasses.dataclass(frozen=True)
class _ReadOnlyBackend(Backend):
    """NumPy's backend, whose ``asarray`` gives read-only arrays (the tests' inputs)."""

    def asarray(self, x: Any, dtype: Any = None, *, what: str = "array") -> Any:
        out = super().asarray(x, dtype, what=what)
        if isinstance(out, np.ndarray):
            out = out.view()
            out.flags.writeable = False
        return out


def importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def can_be_denied(tmp_path):
    """Whether file permissions stop this process (not for root, who reads anything)."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"x")
    probe.chmod(0)
    try:
        probe.read_bytes()
    except PermissionError:
        return True
    finally:
        probe.chmod(0o600)
    return False
