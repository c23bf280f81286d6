"""One backend list, one ``backend``/``xp`` fixture, one ``dtype`` fixture.

Every backend portnet supports is listed once; a test that takes ``backend`` (or ``xp``)
and ``dtype`` runs on every installed backend × {float32, float64}, with ids such as
``torch-float32``.  A backend that is not installed, or CuPy without a CUDA device, is
skipped with the reason printed (``pytest -ra``) — never counted as passed.

``pytest --only-backend NAME`` (how ``nox -s tests`` runs every session but NumPy's) runs
only the tests that touch backend NAME: those whose ``backend`` is NAME, whose id names it
(``...-jax`` autodiff references, tests/test_dask.py) or that are marked
``@pytest.mark.backends(NAME, ...)``; the rest, NumPy's, run once, in ``tests(numpy)``.
A test that calls :func:`require` for a backend it does not touch by that rule fails where
the backend is missing, instead of being skipped there and deselected where it is present.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

# A second host device for JAX device-placement tests; must be set before JAX is imported.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
# scikit-learn's array-API estimator checks (tests/test_sklearn.py) run only with SciPy's
# array-API mode, which must be chosen before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest

from portnet._backend import BACKENDS, Backend, resolve_backend, to_numpy

DTYPES = ("float32", "float64")

try:  # float64 on JAX needs x64; enabled for the whole test run (tests that need it off say so)
    import jax

    jax.config.update("jax_enable_x64", True)
except ImportError:
    pass

if os.environ.get("PORTNET_TEST_GPU") == "1":  # `nox -s gpu`: new torch tensors go to CUDA
    import torch  # (JAX and CuPy put new arrays on the GPU by default)

    torch.set_default_device("cuda")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--only-backend",
        choices=BACKENDS,
        default=None,
        help="run only the tests that touch this backend (see tests/conftest.py)",
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
    name = config.getoption("only_backend")
    if name is None:
        return
    keep = [item for item in items if touches(item, name)]
    config.hook.pytest_deselected(items=[item for item in items if not touches(item, name)])
    items[:] = keep


_RUNNING: list[pytest.Item] = []  # the test being run, for require()


@pytest.fixture(autouse=True)
def _running(request: pytest.FixtureRequest):
    _RUNNING[:] = [request.node]
    yield
    _RUNNING.clear()


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
