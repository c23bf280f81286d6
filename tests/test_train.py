"""``portnet.train`` and ``Model``: course results, cross-backend agreement, the loop, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import portnet
from portnet import agreement
from portnet._backend import resolve_backend, to_numpy
from portnet.agreement import TOLERANCE, flat_params, regression_data, relative_difference

from .conftest import host, needs, on, skip_dask_minibatches

X_PLANAR, Y_PLANAR = portnet.datasets.planar()


X_REG, Y_REG = regression_data()

#: the agreement report's configurations, and a few more shapes of network
CONFIGS = {
    **agreement.CONFIGS,
    "planar-leaky-3-l2": (
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
        np.testing.assert_array_equal(flat_params(ours.params), flat_params(reference.params))


@pytest.mark.parametrize("config", CONFIGS)
def test_backends_agree_with_numpy_after_100_steps(backend, dtype, config):
    X, y, options = CONFIGS[config]
    skip_dask_minibatches(backend, options)
    ours = portnet.train(
        X, y, iterations=100, log_every=10, backend=backend, dtype=dtype, **options
    )
    ref = portnet.train(X, y, iterations=100, log_every=10, backend="numpy", dtype=dtype, **options)
    assert relative_difference(ours.params, ref.params) <= TOLERANCE[dtype]
    np.testing.assert_allclose(ours.history.cost, ref.history.cost, rtol=TOLERANCE[dtype] * 10)
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
    before = flat_params(first.params)
    second = portnet.train(X_PLANAR, Y_PLANAR, iterations=30, params=first.params, **options)
    assert relative_difference(second.params, straight.params) <= 1e-13
    np.testing.assert_array_equal(
        flat_params(first.params), before
    )  # pure: the input is not mutated
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
    assert np.sum(flat_params(shrunk.params[:1]) ** 2) < 0.5 * np.sum(
        flat_params(plain.params[:1]) ** 2
    )


# -- everything follows the input's namespace and device -------------------------------------------
# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "extra"),  # each made missing: in its own session too, where it is installed
    [pytest.param(name, extra, marks=pytest.mark.backends(name)) for name, extra in
     [("cupy", "cupy"), ("jax", "jax"), ("torch", "torch"), ("array_api_strict", "strict")]],
)  # fmt: skip
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
    with pytest.raises(
        ValueError, match=r"needs class labels, but y has non-integer values.*squared_error"
    ):
        portnet.train(X_REG, Y_REG, loss="binary_crossentropy")
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=1)
    with pytest.raises(
        ValueError, match=r"X must have shape \(m, 2\) for this model, got shape \(5, 3\)"
    ):
        model.predict(np.zeros((5, 3)))
    regression = portnet.train(X_REG, Y_REG, iterations=1, learning_rate=0.1)
    with pytest.raises(AttributeError, match=r"predict_proba needs a classifier"):
        regression.predict_proba(X_REG)


@pytest.mark.parametrize("batch_size", [None, 100], ids=["full-batch", "mini-batch"])
def test_training_step_is_compiled_by_the_backend(backend, monkeypatch, batch_size):
    """The steps go through the backend: one jax.jit program per run of steps between log
    points (full batch) or per step (mini-batch) on JAX, plain Python elsewhere."""
    be = resolve_backend(backend)
    compiled = []
    for method in ("compile", "compile_repeat"):
        original = getattr(type(be), method)

        def recording(self, fn, _original=original, **static):
            made = _original(self, fn, **static)
            compiled.append(getattr(made, "func", made))  # the function behind the partial
            return made

        monkeypatch.setattr(type(be), method, recording)
    portnet.train(
        X_PLANAR, Y_PLANAR, iterations=3, backend=backend, dtype="float32", batch_size=batch_size
    )
    assert len(compiled) >= 3  # the cost, the validation loss, and the step or run of steps
    jitted = [hasattr(fn, "lower") for fn in compiled]  # jax.jit's wrapper has .lower
    assert all(jitted) if backend == "jax" else not any(jitted)


def test_full_batch_layout_is_numpy_column_major_and_a_copy_only_where_needed(backend):
    be = resolve_backend(backend)
    X = be.asarray(np.arange(12.0).reshape(4, 3))
    y = be.asarray(np.arange(4.0))
    X_out, y_out = be.full_batch(X, y)
    if backend != "numpy":
        assert X_out is X  # as they are
        assert y_out is y
        return
    assert X_out.flags.f_contiguous
    assert not X_out.flags.c_contiguous
    np.testing.assert_array_equal(X_out, X)
    assert y_out is y  # 1-D: nothing to lay out
    assert be.full_batch(X_out)[0] is X_out  # already column-major: no second copy
    column = np.ones((4, 1))
    assert be.full_batch(column)[0] is column  # (m, 1) is both: no copy


@pytest.mark.parametrize(
    "options",
    [{}, {"batch_size": 100}, {"early_stopping": True}],
    ids=["full-batch", "mini-batch", "full-batch-early-stopping"],
)
def test_training_loop_gets_x_column_major_only_for_full_batch_numpy_steps(monkeypatch, options):
    """Full-batch steps read X laid out as Backend.full_batch lays it out (NumPy: column-major,
    the products' faster layout); mini-batches keep row-major X, whose rows they gather."""
    from portnet import model

    seen = []
    original = model.prepare

    def recording(*args, **kwargs):
        run = original(*args, **kwargs)
        seen.append(run.X)  # what the loop reads
        return run

    monkeypatch.setattr(model, "prepare", recording)
    X = np.ascontiguousarray(X_PLANAR)  # row-major, as most data come
    portnet.train(X, Y_PLANAR, iterations=3, hidden=(3,), **options)
    (X_loop,) = seen
    full = "batch_size" not in options
    assert X_loop.flags.f_contiguous == full
    assert X_loop.flags.c_contiguous == (not full)
    if not options:  # the same numbers, laid out anew
        np.testing.assert_array_equal(X_loop, X)


@needs("jax")
def test_jax_reuses_the_compiled_run_across_train_calls():
    from portnet._loop import advance
    from portnet.backends.jax import _jitted_repeat

    options = dict(hidden=(3,), iterations=5, backend="jax", dtype="float32", optimizer="adam")
    portnet.train(X_PLANAR, Y_PLANAR, **options)
    run = _jitted_repeat(advance, ("gradients", "net", "optimizer"))  # compile_repeat's key
    compiled = run._cache_size()
    assert compiled >= 1  # the program train compiled is the one looked up here
    portnet.train(X_PLANAR, Y_PLANAR, **options)  # same network, optimiser and shapes
    portnet.train(X_PLANAR, Y_PLANAR, **{**options, "iterations": 50, "log_every": 7})
    assert run._cache_size() == compiled  # any number of steps per run: one program
    portnet.train(X_PLANAR, Y_PLANAR, **{**options, "hidden": (5,)})  # new shapes: compiled
    assert run._cache_size() == compiled + 1


# -- issue 28: the data train and the model's methods take ----------------------------------------
def _same_model(a, b):
    """The parameters of two models, bit for bit (and their dtypes)."""
    for (Wa, ba), (Wb, bb) in zip(a.params, b.params, strict=True):
        for p, q in ((Wa, Wb), (ba, bb)):
            p, q = to_numpy(p), to_numpy(q)
            assert p.dtype == q.dtype
            np.testing.assert_array_equal(p, q)


def test_predictions_check_x_and_y_as_training_does(backend):
    """NaN and infinity in X at predict, predict_proba, score and cost, and in a regressor's
    y at score and cost: training's error, on every backend (Dask's lazy predictions: when
    computed)."""
    be = on(backend)
    rows, labels = X_PLANAR[::10].copy(), Y_PLANAR[::10].copy()  # 40, of both classes
    bad = rows.copy()
    bad[3, 1], bad[30, 0] = np.nan, -np.inf
    X, X_bad, y = be.asarray(rows), be.asarray(bad), be.asarray(labels)
    model = portnet.train(X, y, hidden=(3,), iterations=2)
    for call in (
        lambda: portnet.train(X_bad, y, iterations=1),
        lambda: model.predict(X_bad),
        lambda: model.predict_proba(X_bad),
        lambda: model.score(X_bad, y),
        lambda: model.cost(X_bad, y),
    ):
        with pytest.raises(ValueError, match="X must be finite, but it holds 2 NaN or infinite"):
            to_numpy(call())  # computed: Dask's predictions are lazy
    targets = rows[:, 0].copy()
    regressor = portnet.train(X, be.asarray(targets), hidden=(3,), iterations=2)
    targets[7] = np.nan
    for call in (regressor.score, regressor.cost):
        with pytest.raises(ValueError, match="y must be finite, but it holds 1 NaN or infinite"):
            call(X, be.asarray(targets))
    np.testing.assert_array_equal(host(model.predict(X)), host(model.predict(rows)))  # still


@needs("dask")
def test_dask_predictions_stay_lazy_and_name_the_rows_of_a_bad_chunk():
    import dask.array as da

    X = da.from_array(X_PLANAR, chunks=(100, 2))
    model = portnet.train(X, da.from_array(Y_PLANAR, chunks=100), hidden=(3,), iterations=2)
    bad = X_PLANAR.copy()
    bad[150, 1] = np.nan
    predicted = model.predict(da.from_array(bad, chunks=(100, 2)))
    assert isinstance(predicted, da.Array)  # nothing read yet
    with pytest.raises(ValueError, match=r"holds 1 NaN or infinite value \(in rows 100 to 199\)"):
        predicted.compute()


@needs("torch")
def test_torch_tensors_that_require_grad_are_used_as_their_numbers():
    import torch

    X = torch.tensor(X_PLANAR, requires_grad=True)
    targets = torch.tensor(X_PLANAR[:, 0] ** 2, requires_grad=True)
    for y in (torch.tensor(Y_PLANAR), targets):
        model = portnet.train(X, y, hidden=(3,), iterations=5)
        _same_model(model, portnet.train(X.detach(), y.detach(), hidden=(3,), iterations=5))
        predicted = model.predict(X)
        assert not predicted.requires_grad
        np.testing.assert_array_equal(to_numpy(predicted), to_numpy(model.predict(X.detach())))
        assert model.score(X, y) == model.score(X.detach(), y.detach())
    assert X.grad is None  # nothing flowed back into the caller's graph


def test_pandas_frames_with_nullable_and_bool_columns_are_their_numbers():
    pandas = pytest.importorskip("pandas", reason="pandas is not installed")
    frame = pandas.DataFrame(X_PLANAR, columns=["a", "b"]).convert_dtypes()
    assert [str(t) for t in frame.dtypes] == ["Float64", "Float64"]
    labels = pandas.Series(Y_PLANAR).convert_dtypes()  # Int64
    reference = portnet.train(X_PLANAR, Y_PLANAR, hidden=(3,), iterations=5)
    model = portnet.train(frame, labels, hidden=(3,), iterations=5)
    _same_model(model, reference)
    np.testing.assert_array_equal(model.predict(frame), reference.predict(X_PLANAR))
    assert model.score(frame, labels) == reference.score(X_PLANAR, Y_PLANAR)
    # a boolean column (NumPy's and pandas' nullable) beside whole numbers (Int64): floats
    numbers = np.stack([X_PLANAR[:, 0] > 0, X_PLANAR[:, 1] < 0, np.round(X_PLANAR[:, 1])], 1)
    mixed = pandas.DataFrame(
        {
            "up": X_PLANAR[:, 0] > 0,
            "down": pandas.array(X_PLANAR[:, 1] < 0, dtype="boolean"),
            "whole": pandas.array(np.round(X_PLANAR[:, 1]).astype(np.int64), dtype="Int64"),
        }
    )
    reference = portnet.train(numbers.astype(np.float64), Y_PLANAR, hidden=(3,), iterations=5)
    _same_model(portnet.train(mixed, Y_PLANAR, hidden=(3,), iterations=5), reference)
    # text labels from a Series of pandas' string dtype
    text = pandas.Series(np.where(Y_PLANAR == 1, "sun", "moon"), dtype="string")
    model = portnet.train(X_PLANAR, text, hidden=(3,), iterations=5)
    np.testing.assert_array_equal(model.classes_, ["moon", "sun"])
    _same_model(model, reference := portnet.train(X_PLANAR, Y_PLANAR, hidden=(3,), iterations=5))
    assert model.score(X_PLANAR, text) == reference.score(X_PLANAR, Y_PLANAR)


def test_masked_arrays_without_a_masked_value_are_their_numbers():
    reference = portnet.train(X_PLANAR, Y_PLANAR, hidden=(3,), iterations=5)
    model = portnet.train(np.ma.masked_array(X_PLANAR), np.ma.masked_array(Y_PLANAR, mask=False),
                          hidden=(3,), iterations=5)  # fmt: skip
    _same_model(model, reference)
    predicted = model.predict(np.ma.masked_array(X_PLANAR, mask=False))
    assert type(predicted) is np.ndarray
    np.testing.assert_array_equal(predicted, reference.predict(X_PLANAR))


def test_a_loss_of_ones_own_is_the_one_trained():
    """A custom Loss trains as itself (it was once swapped for the built-in of its targets):
    binary cross-entropy doubled, at half the learning rate, gives the built-in's parameters
    bit for bit (doubling is exact) and twice its costs."""
    from portnet.losses import Loss, binary_crossentropy

    bce = binary_crossentropy
    double = Loss(
        "double_bce",
        bce.output,
        lambda z, y, **w: 2 * bce.value(z, y, **w),
        lambda z, a, y, **w: 2 * bce.gradient(z, a, y, **w),
    )
    X, y = portnet.datasets.planar()
    mine = portnet.train(X, y, loss=double, learning_rate=0.6, iterations=300, log_every=100)
    built_in = portnet.train(X, y, learning_rate=1.2, iterations=300, log_every=100)
    assert mine.network.loss is double
    np.testing.assert_array_equal(mine.params[0].W, built_in.params[0].W)
    np.testing.assert_array_equal(mine.history.cost, 2 * np.asarray(built_in.history.cost))
    odd = Loss("tanh_out", portnet.activations.tanh, bce.value, bce.gradient)
    with pytest.raises(ValueError, match="a loss of your own needs the output of a built-in"):
        portnet.train(X, y, loss=odd, iterations=1)


# -- issue 29: the options behind scikit-learn's MLP drop-ins ------------------------------------
EPOCHS = dict(hidden=(5,), optimizer="adam", learning_rate=0.02, batch_size=64, log_every="epoch")


def test_epoch_log_points_hold_the_mean_of_the_batch_costs(backend):
    """``log_every="epoch"``: one log point an epoch, its cost the batches' costs, each at
    the parameters before its update, weighted by their rows (the first epoch's, recomputed
    with ``Model.cost`` of each batch at the parameters after the batches before it)."""
    be = on(backend)
    X, y = be.asarray(X_PLANAR, be.dtype("float64")), be.asarray(Y_PLANAR)
    skip_dask_minibatches(backend, EPOCHS)
    model = portnet.train(X, y, epochs=3, shuffle=False, **EPOCHS)
    assert model.history.step == [7, 14, 21]  # 400 samples: 6 batches of 64, one of 16
    assert model.stop_reason is None
    total = 0.0
    for k in range(7):  # the first epoch, batch by batch, in order
        rows = slice(64 * k, min(64 * (k + 1), 400))
        before = portnet.train(X, y, iterations=k, shuffle=False, **{**EPOCHS, "log_every": 100})
        total += before.cost(X[rows, :], y[rows]) * (rows.stop - rows.start)
    assert model.history.cost[0] == pytest.approx(total / 400, rel=1e-12)


def test_an_optimizer_state_goes_on_where_it_stopped(backend):
    """Two epochs, then two more from the model's parameters and ``optimizer_state``: the
    four-epoch run (Adam's moments and step count carried; batches in order)."""
    be = on(backend)
    X, y = be.asarray(X_PLANAR, be.dtype("float64")), be.asarray(Y_PLANAR)
    skip_dask_minibatches(backend, EPOCHS)
    whole = portnet.train(X, y, epochs=4, shuffle=False, **EPOCHS)
    half = portnet.train(X, y, epochs=2, shuffle=False, **EPOCHS)
    rest = portnet.train(
        X, y, epochs=2, shuffle=False, params=half.params, state=half.optimizer_state, **EPOCHS
    )
    assert rest.history.cost == pytest.approx(whole.history.cost[2:], rel=1e-12)
    np.testing.assert_allclose(
        flat_params(rest.params), flat_params(whole.params), rtol=1e-12, atol=1e-15
    )
    afresh = portnet.train(X, y, epochs=2, shuffle=False, params=half.params, **EPOCHS)
    assert afresh.history.cost[0] != pytest.approx(whole.history.cost[2], rel=1e-6)


def test_a_checkpoint_at_an_epoch_end_resumes_the_same_run(tmp_path):
    """Checkpoints at epoch ends; the held rate (here set by the samples seen) resumed too."""
    rate = portnet.optimizers.inverse_scaling(0.5, 0.5, per="sample")
    options = dict(EPOCHS, epochs=6, optimizer="nesterov", learning_rate=rate)
    whole = portnet.train(X_PLANAR, Y_PLANAR, **options)
    path = tmp_path / "run.npz"
    portnet.train(X_PLANAR, Y_PLANAR, **{**options, "epochs": 3}, checkpoint=path)
    resumed = portnet.train(X_PLANAR, Y_PLANAR, **options, resume=path)
    assert resumed.history.cost == pytest.approx(whole.history.cost, rel=1e-12)
    assert float(resumed.optimizer_state.rate) == pytest.approx(0.5 / (6 * 400 + 1) ** 0.5)


def test_early_stopping_on_the_validation_score_is_saved_with_the_model(tmp_path):
    model = portnet.train(
        X_PLANAR, Y_PLANAR, epochs=30, early_stopping=True, validation_metric="score",
        tol_reference="best", n_iter_no_change=3, **EPOCHS,
    )  # fmt: skip
    assert len(model.history.val_score) == len(model.history.cost) > 0
    assert model.history.val_cost == []
    assert all(0 <= s <= 1 for s in model.history.val_score)
    best = int(np.argmax(model.history.val_score))
    assert model.best_step == model.history.step[best]
    loaded = portnet.load(model.save(tmp_path / "m.npz"))
    assert loaded.history.val_score == model.history.val_score
