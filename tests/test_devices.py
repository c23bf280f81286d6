"""Everything follows the input: namespaces, devices, moving models, choosing the backend.

Our GPU stand-ins: array-api-strict's ``Device("device1")`` (refuses host conversion and
device mixing), a second JAX host device (``XLA_FLAGS`` set in ``conftest.py``), torch CPU.
"""

from __future__ import annotations

import logging
import sys
import types

import array_api_compat as aac
import numpy as np
import pytest

import portnet
from portnet._backend import ENV_VAR, gpu_status, resolve_backend
from portnet.agreement import relative_difference

from .conftest import host, needs

X_PLANAR, Y_PLANAR = portnet.datasets.planar()


def test_outputs_follow_the_input_namespace(backend, dtype):
    be = resolve_backend(backend)
    Xb = be.asarray(X_PLANAR, be.dtype(dtype))
    yb = be.asarray(Y_PLANAR)
    model = portnet.train(Xb, yb, iterations=50)  # backend inferred from X
    assert model.backend == backend
    assert model.dtype == be.dtype(dtype)
    for W, b in model.params:
        assert type(W) is type(Xb)
        assert type(b) is type(Xb)
    labels, proba = model.predict(Xb), model.predict_proba(Xb)
    assert type(labels) is type(Xb)
    assert type(proba) is type(Xb)
    assert labels.shape == (400,)
    assert proba.shape == (400, 2)  # one column per class
    assert labels.dtype == yb.dtype  # the labels' own values and dtype
    for out in (labels, proba, *model.params[0]):
        assert aac.device(out) == aac.device(Xb)
    assert proba.dtype == model.dtype
    # NumPy input to a model on another backend gives NumPy output
    assert isinstance(model.predict(X_PLANAR), np.ndarray)
    np.testing.assert_array_equal(model.predict(X_PLANAR), host(labels))
    assert 0 <= model.score(Xb, yb) <= 1


def test_backend_names_and_namespaces(backend):
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=5, backend=backend, dtype="float32")
    assert model.backend == backend
    by_namespace = portnet.train(
        X_PLANAR, Y_PLANAR, iterations=5, backend=resolve_backend(backend).xp, dtype="float32"
    )
    assert by_namespace.backend == backend
    assert "float32" in repr(model)


@needs("array_api_strict")
def test_array_api_strict_device1_stands_in_for_a_gpu():
    """Device("device1") refuses host conversion and device mixing: nothing may leave it."""
    import array_api_strict as xp

    device = xp.Device("device1")
    X = xp.asarray(X_PLANAR, device=device)
    y = xp.asarray(Y_PLANAR, device=device)
    model = portnet.train(X, y, hidden=(4,), iterations=300, log_every=100)
    assert model.device == device
    assert all(W.device == device and b.device == device for W, b in model.params)
    assert model.predict(X).device == device
    assert model.predict_proba(X).device == device
    assert model.score(X, y) > 0.5
    with pytest.raises(RuntimeError, match="Can't convert"):
        np.asarray(model.predict(X))  # really on the stand-in device
    # NumPy input placed on the device by name
    placed = portnet.train(
        X_PLANAR, Y_PLANAR, backend="array_api_strict", device="device1", iterations=300
    )
    assert placed.device == device
    assert all(W.device == device for W, _ in placed.params)
    assert placed.predict(X).device == device
    # input on another device of the same namespace: the parameters follow it there
    X2 = xp.asarray(X_PLANAR, device=xp.Device("device2"))
    assert placed.predict_proba(X2).device == xp.Device("device2")
    # NumPy in, NumPy out, even from a model on a device that refuses host conversion
    assert isinstance(placed.predict_proba(X_PLANAR), np.ndarray)
    assert placed.score(X_PLANAR, Y_PLANAR) == placed.score(X, y)


@needs("jax")
def test_jax_second_device():
    import jax

    if len(jax.devices()) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts")
    device = jax.devices()[1]
    X = jax.device_put(X_PLANAR.astype(np.float32), device)
    model = portnet.train(X, Y_PLANAR.astype(np.float32), iterations=50)
    assert model.device == device
    assert all(W.device == device and b.device == device for W, b in model.params)
    assert model.predict(X).device == device
    assert model.predict_proba(X).device == device
    assert 0.5 < model.score(X, Y_PLANAR.astype(np.float32)) <= 1
    back = model.to(device="cpu:0")
    assert back.params[0].W.device == jax.devices()[0]
    np.testing.assert_array_equal(host(back.predict_proba(X_PLANAR)), host(model.predict_proba(X)))
    on_name = portnet.train(X_PLANAR, Y_PLANAR, backend="jax", device="cpu:1", iterations=5)
    assert on_name.params[0].W.device == device


@needs("jax")
@pytest.mark.parametrize("x64", [True, False], ids=["x64", "no-x64"])
@pytest.mark.parametrize("source", ["float64", "float32", "int64", "int32", "uint8", "bool"])
def test_jax_placement_is_jnp_asarrays_and_never_the_callers_memory(source, x64):
    import jax
    import jax.numpy as jnp

    device = jax.devices()[-1]  # the second host device where there is one
    jax.config.update("jax_enable_x64", x64)
    try:
        be = resolve_backend("jax", device=device)
        for dtype in (None, be.dtype("float32"), *([be.dtype("float64")] if x64 else [])):
            given = np.arange(64 * 64).reshape(64, 64).astype(source)
            placed = be.asarray(given, dtype)
            want = jnp.asarray(given, dtype=dtype, device=device)
            assert (placed.dtype, placed.devices()) == (want.dtype, want.devices())
            expected = np.array(want, copy=True)
            np.testing.assert_array_equal(np.asarray(placed), expected)
            given[...] = 0  # the caller reuses its array: what was placed must not change
            np.testing.assert_array_equal(np.asarray(placed), expected)
    finally:
        jax.config.update("jax_enable_x64", True)


@needs("array_api_strict")
def test_no_float64_device_falls_back_to_float32():
    import array_api_strict as xp

    model = portnet.train(
        [[0.0, 1.0], [1.0, 0.0]],
        [0, 1],
        backend="array_api_strict",
        device="no_float64",
        iterations=3,
    )
    assert model.dtype == xp.float32
    with pytest.raises(ValueError, match=r"float64 is not supported .*no_float64"):
        portnet.train(
            X_PLANAR, Y_PLANAR, backend="array_api_strict", device="no_float64", dtype="float64"
        )


@needs("jax")
def test_jax_float64_without_x64_is_an_error_not_float32():
    import jax

    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match=r"float64 on JAX needs x64 mode \(X has dtype"):
            portnet.train(X_PLANAR, Y_PLANAR, backend="jax")
        with pytest.raises(ValueError, match=r"float64 on JAX needs x64.*JAX_ENABLE_X64=1"):
            portnet.train(X_PLANAR, Y_PLANAR, backend="jax", dtype="float64")
        model = portnet.train(X_PLANAR, Y_PLANAR, backend="jax", dtype="float32", iterations=5)
        assert str(model.dtype) == "float32"
    finally:
        jax.config.update("jax_enable_x64", True)


@needs("array_api_strict")
def test_foreign_namespace_input_is_a_clear_error():
    import array_api_strict as xp

    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=1)  # NumPy model
    with pytest.raises(TypeError, match=r"the model lives on backend 'numpy'"):
        model.predict(xp.asarray(X_PLANAR))
    on_device = xp.asarray(X_PLANAR, device=xp.Device("device1"))
    copied = portnet.train(on_device, Y_PLANAR, backend="numpy", iterations=2)  # as from a GPU
    assert copied.backend == "numpy"


def test_cost_is_read_back_only_at_log_points(backend, monkeypatch):
    """Between log points the loop never synchronises with the device (jitted on JAX)."""
    be = resolve_backend(backend)
    X, y = be.asarray(X_PLANAR, be.dtype("float32")), be.asarray(Y_PLANAR)
    reads = []
    original = type(be).read

    def counting_read(self, x):
        reads.append(x)
        return original(self, x)

    monkeypatch.setattr(type(be), "read", counting_read)
    portnet.train(X, y, iterations=200, log_every=50)
    # the finiteness check of X, the loss="auto" label check, steps 0/50/100/150, final
    assert len(reads) == 1 + 1 + 4 + 1


# -- model.to ------------------------------------------------------------------------------------
def test_model_to_moves_parameters_and_keeps_predictions(backend, dtype):
    model = portnet.train(X_PLANAR, Y_PLANAR, hidden=(5,), iterations=200, dtype=dtype)
    moved = model.to(backend)
    assert moved.backend == backend
    assert moved.dtype == resolve_backend(backend).dtype(dtype)
    assert all(aac.device(W) == moved.device for W, _ in moved.params)
    assert moved.history.cost == model.history.cost
    np.testing.assert_array_equal(
        portnet.agreement.flat_params(moved.params), portnet.agreement.flat_params(model.params)
    )
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert relative_difference(moved.predict_proba(X_PLANAR), model.predict_proba(X_PLANAR)) <= tol
    # continuing to train the moved model agrees with continuing on NumPy
    more = dict(iterations=100, hidden=(5,), dtype=dtype)
    on_backend = portnet.train(X_PLANAR, Y_PLANAR, params=moved.params, backend=backend, **more)
    on_numpy = portnet.train(X_PLANAR, Y_PLANAR, params=model.params, **more)
    assert relative_difference(on_backend.params, on_numpy.params) <= (
        1e-12 if dtype == "float64" else 1e-4
    )


@needs("array_api_strict")
def test_model_to_dtype_and_device_errors():
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=10)
    assert str(model.to(dtype="float32").dtype) == "float32"
    on_device = model.to("array_api_strict", "device1")
    assert on_device.params[0].W.device.__repr__().endswith("'device1')")
    assert isinstance(on_device.to("numpy").params[0].W, np.ndarray)  # back to the host
    with pytest.raises(ValueError, match=r"float64 is not supported .*no_float64"):
        model.to("array_api_strict", "no_float64")
    assert str(model.to("array_api_strict", "no_float64", dtype="float32").dtype).endswith("32")


# -- no host synchronisation between log points ---------------------------------------------------
HOST_CONVERSIONS = ("__array__", "__bool__", "__complex__", "__dlpack__", "__float__", "__index__")
HOST_CONVERSIONS += ("__int__", "__iter__")


@needs("array_api_strict")
@pytest.mark.parametrize(
    ("options", "reads_per_log_point"),
    [
        ({}, 1),
        ({"optimizer": "adam", "batch_size": 64}, 1),
        ({"optimizer": "momentum", "batch_size": 50, "early_stopping": True}, 2),
    ],
    ids=["full-batch-sgd", "mini-batch-adam", "mini-batch-momentum-early-stopping"],
)
def test_no_host_synchronisation_between_log_points(monkeypatch, options, reads_per_log_point):
    """Every way an array-api-strict array can reach the host is counted during training.

    (JAX's ``transfer_guard_device_to_host`` cannot show this on CPU: there a device-to-host
    "transfer" is zero-copy and the guard never fires; the next test uses it on a GPU.)
    """
    import array_api_strict as xp

    device = xp.Device("device1")
    X, y = xp.asarray(X_PLANAR, device=device), xp.asarray(Y_PLANAR, device=device)
    array_type = type(X)
    conversions = []
    for name in HOST_CONVERSIONS:
        original = getattr(array_type, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            conversions.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(array_type, name, counted)
    options = {**options, "n_iter_no_change": 10_000}  # early stopping never triggers here
    model = portnet.train(X, y, iterations=1000, log_every=250, **options)
    short = list(conversions)
    conversions.clear()
    portnet.train(X, y, iterations=2000, log_every=250, **options)
    # 1000 more steps add exactly the reads at steps 1000, 1250, 1500, 1750: nothing per step
    assert len(conversions) - len(short) == 4 * reads_per_log_point
    assert set(short + conversions) == {"__float__"}
    assert len(short) <= 5 * reads_per_log_point + 2  # log points, and the labels' inspection
    assert model.history.step == [0, 250, 500, 750, 1000]


@needs("jax")
def test_jax_transfer_guard_on_a_gpu():
    import jax
    import jax.numpy as jnp

    if jax.default_backend() == "cpu":
        pytest.skip("JAX runs on the CPU here: its device-to-host guard never fires on CPU")
    X, y = jnp.asarray(X_PLANAR, dtype=jnp.float32), jnp.asarray(Y_PLANAR, dtype=jnp.float32)
    portnet.train(X, y, iterations=2, log_every=1)  # compile outside the guard (same shapes)
    with jax.transfer_guard_device_to_host("disallow"):
        with pytest.raises(Exception, match="Disallowed device-to-host transfer"):
            float(jnp.sum(X))  # the guard is live: an implicit read fails
        model = portnet.train(X, y, iterations=300, log_every=100)  # reads are explicit
    assert model.history.step == [0, 100, 200, 300]


# -- choosing the backend ----------------------------------------------------------------------
def _usable_gpus() -> list[str]:
    usable = []
    for name in ("cupy", "jax", "torch"):
        try:
            if gpu_status(name) is None:
                usable.append(name)
        except ImportError:
            pass
    return usable


def test_auto_falls_back_to_numpy_without_a_gpu_and_says_why(monkeypatch, caplog):
    monkeypatch.delenv(ENV_VAR, raising=False)
    if _usable_gpus():
        pytest.skip(f"a GPU is usable here ({_usable_gpus()}): auto would rightly pick it")
    with caplog.at_level(logging.INFO, logger="portnet"):
        model = portnet.train(X_PLANAR, Y_PLANAR, backend="auto", iterations=5)
    assert model.backend == "numpy"
    (line,) = [r.getMessage() for r in caplog.records if "backend='auto'" in r.getMessage()]
    assert line.startswith("backend='auto' chose 'numpy': no usable GPU (cupy: ")
    assert "torch: " in line
    assert "jax: " in line


@pytest.mark.backends("cupy", "jax", "torch")
def test_auto_picks_a_usable_gpu(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    usable = _usable_gpus()
    if not usable:
        pytest.skip("no usable CUDA GPU here (cupy, jax and torch report none)")
    model = portnet.train(X_PLANAR, Y_PLANAR, backend="auto", iterations=5, dtype="float32")
    assert model.backend == usable[0]


def test_environment_variable_sets_the_default_backend(backend, monkeypatch):
    monkeypatch.setenv(ENV_VAR, backend)
    plain = portnet.train(X_PLANAR, Y_PLANAR, iterations=3, dtype="float32")
    auto = portnet.train(X_PLANAR, Y_PLANAR, backend="auto", iterations=3, dtype="float32")
    assert plain.backend == auto.backend == backend
    explicit = portnet.train(X_PLANAR, Y_PLANAR, backend="numpy", iterations=3)
    assert explicit.backend == "numpy"  # an explicit choice wins over the variable


@needs("torch")
def test_environment_variable_does_not_override_the_inputs_namespace(monkeypatch):
    import torch

    monkeypatch.setenv(ENV_VAR, "numpy")
    model = portnet.train(torch.asarray(X_PLANAR), torch.asarray(Y_PLANAR), iterations=3)
    assert model.backend == "torch"


def test_bad_environment_variable_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "tensorflow")
    with pytest.raises(ValueError, match=r"PORTNET_BACKEND='tensorflow' is not a backend"):
        portnet.train(X_PLANAR, Y_PLANAR, iterations=1)


@needs("torch")
def test_explicit_torch_cuda_without_a_gpu_is_an_error_not_a_cpu_run():
    if "torch" in _usable_gpus():
        pytest.skip("torch has a usable CUDA device here")
    with pytest.raises(RuntimeError) as info:
        portnet.train(X_PLANAR, Y_PLANAR, backend="torch", device="cuda", iterations=1)
    message = str(info.value)
    assert "needs a usable CUDA GPU, but torch.cuda.is_available() is False" in message
    assert "backend='auto'" in message
    assert "PORTNET_BACKEND=numpy" in message


@needs("jax")
def test_explicit_jax_gpu_without_a_gpu_is_an_error_not_a_cpu_run():
    if "jax" in _usable_gpus():
        pytest.skip("JAX has a usable GPU here")
    with pytest.raises(RuntimeError, match=r"needs a usable CUDA GPU, but JAX has no GPU platform"):
        portnet.train(X_PLANAR, Y_PLANAR, backend="jax", device="gpu", iterations=1)


def test_explicit_cupy_without_a_gpu_is_an_error_naming_the_reason(monkeypatch):
    """A stand-in for CuPy installed on a machine without a CUDA driver.

    (Real cupy-cuda12x 14.2 on this machine says: "cudaErrorInsufficientDriver: CUDA driver
    version is insufficient for CUDA runtime version".)
    """

    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.is_available = lambda: False
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError) as info:
        portnet.train(X_PLANAR, Y_PLANAR, backend="cupy", iterations=1)
    message = str(info.value)
    assert message.startswith("backend 'cupy' needs a usable CUDA GPU, but cupy.is_available()")
    assert "cudaErrorNoDevice: no CUDA-capable device is detected" in message
    assert "backend='auto'" in message
    assert "PORTNET_BACKEND=numpy" in message
