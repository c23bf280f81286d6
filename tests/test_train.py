"""``portnet.train`` and ``Model``: course results, cross-backend agreement, devices, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import portnet
from portnet._backend import resolve_backend

from .conftest import AGREEMENT, flat, host, relative_difference, require

X_PLANAR, Y_PLANAR = portnet.datasets.planar()


def regression_data():
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (300, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - 0.3 * X[:, 0] * X[:, 1]
    return X, y


X_REG, Y_REG = regression_data()

#: name -> (X, y, options): the configurations every backend must agree on
CONFIGS = {
    "planar-tanh": (X_PLANAR, Y_PLANAR, dict(hidden=(4,), activation="tanh", learning_rate=1.2)),
    "planar-tanh-l2": (
        X_PLANAR,
        Y_PLANAR,
        dict(hidden=(4,), activation="tanh", learning_rate=1.2, l2=0.5),
    ),
    "planar-relu-deep": (
        X_PLANAR,
        Y_PLANAR,
        dict(hidden=(20, 7, 5), activation="relu", learning_rate=0.1),
    ),
    "planar-leaky-deep-l2": (
        X_PLANAR,
        Y_PLANAR,
        dict(hidden=(20, 7, 5), activation="leaky_relu", learning_rate=0.1, l2=0.7),
    ),
    "logistic": (X_PLANAR, Y_PLANAR, dict(hidden=(), learning_rate=1.0)),
    "regression-sigmoid": (
        X_REG,
        Y_REG,
        dict(hidden=(8,), activation="sigmoid", learning_rate=0.3, loss="squared_error"),
    ),
    "regression-2out-l2": (
        X_REG,
        np.stack([Y_REG, X_REG[:, 0]], axis=1),
        dict(hidden=(6, 6), activation="tanh", learning_rate=0.05, l2=0.1),
    ),
}


# -- the course's results on the planar flower ----------------------------------------------------
def test_course_shallow_network_on_planar(backend, dtype):
    """n_h = 4, tanh, learning rate 1.2, 10 000 iterations, the course's 0.01 initialisation."""
    model = portnet.train(
        X_PLANAR,
        Y_PLANAR,
        hidden=(4,),
        activation="tanh",
        learning_rate=1.2,
        iterations=10_000,
        init="small",
        backend=backend,
        dtype=dtype,
    )
    accuracy = model.score(X_PLANAR, Y_PLANAR)
    assert accuracy >= 0.89  # the course: 90 %
    assert model.history.cost[-1] <= 0.25  # the course: 0.2186 after 9 000 iterations
    assert model.history.step == list(range(0, 10_001, 1000))


def test_default_network_on_planar():
    """The README's first example, with the default initialisation ("auto" -> glorot for tanh)."""
    model = portnet.train(X_PLANAR, Y_PLANAR, hidden=(4,), activation="tanh", iterations=10_000)
    assert model.score(X_PLANAR, Y_PLANAR) >= 0.89


def test_logistic_regression_on_planar_is_near_chance():
    model = portnet.train(X_PLANAR, Y_PLANAR, hidden=(), iterations=2000)
    assert model.score(X_PLANAR, Y_PLANAR) == pytest.approx(0.47, abs=0.02)  # the course: 47 %


def test_zeros_initialisation_never_breaks_symmetry():
    """The course's warning: with W = 0 every hidden unit stays identical."""
    model = portnet.train(X_PLANAR, Y_PLANAR, hidden=(4,), init="zeros", iterations=500)
    W1 = host(model.params[0].W)
    np.testing.assert_array_equal(W1, np.broadcast_to(W1[:1], W1.shape))
    assert model.score(X_PLANAR, Y_PLANAR) < 0.8


def test_regression_fits_a_smooth_function():
    model = portnet.train(X_REG, Y_REG, hidden=(16,), learning_rate=0.1, iterations=3000)
    assert model.network.loss.name == "squared_error"  # chosen by loss="auto"
    assert not model.is_classifier
    assert model.score(X_REG, Y_REG) > 0.95
    assert model.predict(X_REG).shape == (300,)


# -- every backend starts from the same numbers and agrees with NumPy ----------------------------
def test_same_seed_gives_same_initial_parameters(backend, dtype):
    for init in ("small", "he", "glorot"):
        options = dict(hidden=(5, 3), init=init, seed=7, iterations=0, dtype=dtype)
        ours = portnet.train(X_PLANAR, Y_PLANAR, backend=backend, **options)
        reference = portnet.train(X_PLANAR, Y_PLANAR, backend="numpy", **options)
        np.testing.assert_array_equal(flat(ours.params), flat(reference.params))


@pytest.mark.parametrize("config", CONFIGS)
def test_backends_agree_with_numpy_after_100_steps(backend, dtype, config):
    X, y, options = CONFIGS[config]
    ours = portnet.train(
        X, y, iterations=100, log_every=10, backend=backend, dtype=dtype, **options
    )
    ref = portnet.train(X, y, iterations=100, log_every=10, backend="numpy", dtype=dtype, **options)
    assert relative_difference(ours.params, ref.params) <= AGREEMENT[dtype]
    np.testing.assert_allclose(ours.history.cost, ref.history.cost, rtol=AGREEMENT[dtype] * 10)
    assert ours.history.step == ref.history.step == [*range(0, 100, 10), 100]


def test_agreement_measure_is_not_trivially_small():
    """The 100-step agreement measure does see a one-step difference."""
    X, y, options = CONFIGS["planar-tanh"]
    a = portnet.train(X, y, iterations=100, **options)
    b = portnet.train(X, y, iterations=101, **options)
    assert relative_difference(a.params, b.params) > 1e-6


# -- training loop contract ----------------------------------------------------------------------
def test_history_records_cost_at_log_points():
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=250, log_every=100)
    assert model.history.step == [0, 100, 200, 250]
    assert len(model.history) == 4
    start = portnet.train(X_PLANAR, Y_PLANAR, iterations=0)
    assert model.history.cost[0] == pytest.approx(start.cost(X_PLANAR, Y_PLANAR), rel=1e-14)
    assert model.history.cost[-1] == pytest.approx(model.cost(X_PLANAR, Y_PLANAR), rel=1e-14)
    assert model.history.cost == sorted(model.history.cost, reverse=True)


def test_warm_start_continues_training(backend):
    options = dict(hidden=(4,), learning_rate=1.2, backend=backend, dtype="float64")
    straight = portnet.train(X_PLANAR, Y_PLANAR, iterations=60, **options)
    first = portnet.train(X_PLANAR, Y_PLANAR, iterations=30, **options)
    before = flat(first.params)
    second = portnet.train(X_PLANAR, Y_PLANAR, iterations=30, params=first.params, **options)
    assert relative_difference(second.params, straight.params) <= 1e-13
    np.testing.assert_array_equal(flat(first.params), before)  # pure: the input is not mutated
    assert second.hidden == (4,)


def test_warm_start_from_numpy_pairs_and_wrong_shapes():
    host_params = [(np.full((3, 2), 0.1), np.zeros(3)), (np.full((1, 3), 0.1), np.zeros(1))]
    model = portnet.train(X_PLANAR, Y_PLANAR, params=host_params, iterations=1)
    assert model.hidden == (3,)
    with pytest.raises(ValueError, match=r"params do not fit: expected layer sizes 2-4-1"):
        portnet.train(X_PLANAR, Y_PLANAR, hidden=(4,), params=host_params, iterations=1)
    with pytest.raises(ValueError, match=r"sequence of per-layer \(W, b\) pairs"):
        portnet.train(X_PLANAR, Y_PLANAR, params=[np.ones(3)], iterations=1)


def test_l2_shrinks_the_weights():
    plain = portnet.train(X_PLANAR, Y_PLANAR, hidden=(8,), iterations=2000)
    shrunk = portnet.train(X_PLANAR, Y_PLANAR, hidden=(8,), iterations=2000, l2=5.0)
    assert np.sum(flat(shrunk.params[:1]) ** 2) < 0.5 * np.sum(flat(plain.params[:1]) ** 2)


# -- everything follows the input's namespace and device -------------------------------------------
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
    assert labels.shape == proba.shape == (400,)
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


def test_array_api_strict_device1_stands_in_for_a_gpu():
    """Device("device1") refuses host conversion and device mixing: nothing may leave it."""
    require("array_api_strict")
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
    # NumPy in, NumPy out, even from a model on a device that refuses host conversion
    assert isinstance(placed.predict_proba(X_PLANAR), np.ndarray)
    assert placed.score(X_PLANAR, Y_PLANAR) == placed.score(X, y)


def test_jax_second_device():
    require("jax")
    import jax

    if len(jax.devices()) < 2:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=2 before JAX starts")
    device = jax.devices()[1]
    X = jax.device_put(X_PLANAR.astype(np.float32), device)
    model = portnet.train(X, Y_PLANAR.astype(np.float32), iterations=50)
    assert model.device == device
    assert all(W.device == device and b.device == device for W, b in model.params)
    assert model.predict(X).device == device
    on_name = portnet.train(X_PLANAR, Y_PLANAR, backend="jax", device="cpu:1", iterations=5)
    assert on_name.params[0].W.device == device


def test_no_float64_device_falls_back_to_float32():
    require("array_api_strict")
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


def test_jax_float64_without_x64_is_an_error_not_float32():
    require("jax")
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


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "extra"),
    [("cupy", "cupy"), ("jax", "jax"), ("torch", "torch"), ("array_api_strict", "strict")],
)
def test_missing_backend_names_the_extra(monkeypatch, name, extra):
    monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    with pytest.raises(ImportError, match=rf"pip install 'portnet\[{extra}\]'"):
        portnet.train(X_PLANAR, Y_PLANAR, backend=name, iterations=1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(backend="tensorflow"), ValueError, r"unknown backend 'tensorflow'; expected one of"),
        (dict(backend=42), TypeError, r"backend must be a name in"),
        (dict(activation="swish"), ValueError, r"unknown activation 'swish'; expected one of"),
        (dict(loss="hinge"), ValueError, r"unknown loss 'hinge'; expected one of"),
        (dict(init="orthogonal"), ValueError, r"unknown init 'orthogonal'; expected 'auto'"),
        (dict(hidden=(4, 0)), ValueError, r"each hidden layer size must be an integer >= 1, got 0"),
        (dict(learning_rate=0), ValueError, r"learning_rate must be a finite number > 0, got 0"),
        (dict(learning_rate=-1.0), ValueError, r"learning_rate must be a finite number > 0"),
        (dict(iterations=-5), ValueError, r"iterations must be an integer >= 0, got -5"),
        (dict(iterations=2.5), ValueError, r"iterations must be an integer >= 0, got 2.5"),
        (dict(log_every=0), ValueError, r"log_every must be an integer >= 1, got 0"),
        (dict(l2=-0.1), ValueError, r"l2 must be a finite number >= 0, got -0.1"),
        (dict(dtype="float16"), ValueError, r"dtype must be 'float32' or 'float64', got 'float16'"),
        (dict(device="gpu"), ValueError, r"cannot interpret device 'gpu' for backend 'numpy'"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        portnet.train(X_PLANAR, Y_PLANAR, **{"iterations": 1, **kwargs})


def test_bad_data_are_clear_errors():
    with pytest.raises(
        ValueError, match=r"X must be 2-D \(m samples, n features\), got shape \(400,\)"
    ):
        portnet.train(X_PLANAR[:, 0], Y_PLANAR)
    with pytest.raises(ValueError, match=r"y must have shape \(m,\) or \(m, k\) with m = 400"):
        portnet.train(X_PLANAR, Y_PLANAR[:10])
    with pytest.raises(ValueError, match=r"at least one sample and one feature, got \(0, 2\)"):
        portnet.train(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"needs labels in \{0, 1\}.*squared_error"):
        portnet.train(X_REG, Y_REG, loss="binary_crossentropy")
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=1)
    with pytest.raises(
        ValueError, match=r"X must have shape \(m, 2\) for this model, got shape \(5, 3\)"
    ):
        model.predict(np.zeros((5, 3)))
    regression = portnet.train(X_REG, Y_REG, iterations=1, learning_rate=0.1)
    with pytest.raises(AttributeError, match=r"predict_proba needs a classifier"):
        regression.predict_proba(X_REG)


def test_foreign_namespace_input_is_a_clear_error():
    require("array_api_strict")
    import array_api_strict as xp

    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=1)  # NumPy model
    with pytest.raises(TypeError, match=r"the model lives on backend 'numpy'"):
        model.predict(xp.asarray(X_PLANAR))
    on_device = xp.asarray(X_PLANAR, device=xp.Device("device1"))
    with pytest.raises(TypeError, match=r"cannot be moved to backend 'numpy'"):
        portnet.train(on_device, Y_PLANAR, backend="numpy")


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
    assert len(reads) == 1 + 4 + 1  # loss="auto" label check, steps 0/50/100/150, final


def test_training_step_is_compiled_by_the_backend(backend, monkeypatch):
    """The step goes through Backend.compile: jax.jit on JAX, the plain function elsewhere."""
    be = resolve_backend(backend)
    compiled = []
    original = type(be).compile

    def recording_compile(self, fn):
        compiled.append(original(self, fn))
        return compiled[-1]

    monkeypatch.setattr(type(be), "compile", recording_compile)
    portnet.train(X_PLANAR, Y_PLANAR, iterations=3, backend=backend, dtype="float32")
    assert compiled  # the step (and the final cost) were compiled
    jitted = [hasattr(fn, "lower") for fn in compiled]  # jax.jit's wrapper has .lower
    assert all(jitted) if backend == "jax" else not any(jitted)
