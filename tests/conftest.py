"""One backend list, one ``backend``/``xp`` fixture, one ``dtype`` fixture.

Every backend portnet supports is listed once; a test that takes ``backend`` (or ``xp``)
and ``dtype`` runs on every installed backend × {float32, float64}, with ids such as
``torch-float32``.  A backend that is not installed, or CuPy without a CUDA device, is
skipped with the reason printed (``pytest -ra``) — never counted as passed.
"""

from __future__ import annotations

import importlib
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


def require(name: str) -> None:
    """Skip (with the reason) unless backend ``name`` can run here."""
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
