"""One backend list, one ``backend``/``xp`` fixture, one ``dtype`` fixture.

Every backend portnet supports is listed once; a test that takes ``backend`` (or ``xp``)
and ``dtype`` runs on every installed backend × {float32, float64}, with ids such as
``torch-float32``.  A backend that is not installed, or CuPy without a CUDA device, is
skipped with the reason printed (``pytest -ra``) — never counted as passed.

``pytest --only-backend NAME`` (how ``nox -s tests`` runs every session but NumPy's) runs
only the tests that touch backend NAME: those whose ``backend`` is NAME, whose id names it
(``...-jax`` autodiff references, tests/test_dask.py) or that are marked
``@pytest.mark.backends(NAME, ...)``; the rest, NumPy's, run once, in ``tests(numpy)``.
``--only-backend cupy,jax,torch`` runs the tests that touch any of them (the GPU run).
A test that calls :func:`require` for a backend it does not touch by that rule fails where
the backend is missing, instead of being skipped there and deselected where it is present.

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

import contextlib
import importlib
import importlib.util
import os
import sys
import warnings
from pathlib import Path

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


def touches(item: pytest.Item, name: str) -> bool:
    """Whether test ``item`` touches backend ``name``: its ``backend`` parameter, its id or
    its ``backends`` mark names it."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("backend") == name:
        return True
    marked = {b for mark in item.iter_markers("backends") for b in mark.args}
    return name in marked or name in item.nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    names = config.getoption("only_backend")
    if names is None:
        return
    keep = [item for item in items if any(touches(item, n) for n in names)]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


_RUNNING: list[pytest.Item] = []  # the test being run, for require()


@pytest.fixture(autouse=True)
def _running(request: pytest.FixtureRequest):
    _RUNNING[:] = [request.node]
    yield
    _RUNNING.clear()


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


def require(name: str) -> None:
    """Skip (with the reason) unless backend ``name`` can run here."""
    # missing here and not touched by the test: skipped here, deselected in tests(name)
    untouched = name != "cupy" and _RUNNING and not touches(_RUNNING[0], name)
    if untouched and importlib.util.find_spec(name) is None:
        pytest.fail(
            f"{_RUNNING[0].nodeid} needs backend {name!r}, but neither takes it as its "
            f"backend, names it in its id, nor is marked @pytest.mark.backends({name!r}): "
            f"`pytest --only-backend {name}` (nox -s tests) would never run it"
        )
    if name == "cupy":
        cupy = pytest.importorskip("cupy", reason="CuPy is not installed (no GPU backend here)")
        if not cupy.is_available():
            pytest.skip("CuPy is installed but cupy.is_available() is False: no CUDA device")
        return
    module = {"array_api_strict": "array_api_strict"}.get(name, name)
    pytest.importorskip(module, reason=f"backend {name!r} is not installed")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of every installed backend."""
    require(request.param)
    return request.param


@pytest.fixture
def xp(backend: str):
    """The array namespace of ``backend``."""
    return resolve_backend(backend).xp


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
    return resolve_backend(backend_name, device=device)


def importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True
