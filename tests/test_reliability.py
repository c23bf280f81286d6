"""Training that goes wrong loses nothing: divergence (a cost that is not finite, or has grown
more than a thousandfold) is an error that keeps the last good model; Ctrl-C stops the caller
with the model trained so far on the exception; a resume must be the same run."""

from __future__ import annotations

import os
import re
import signal
import threading

import numpy as np
import pytest

import portnet
from portnet.cli import main

from .conftest import host, on


@pytest.fixture(scope="module")
def planar():
    return portnet.datasets.planar()


def _diverging(backend, dtype, planar, **options):
    """A regression net with identity units and a far too large step: the cost blows up."""
    X, _ = planar
    be = on(backend)
    Xb = be.asarray(X, be.dtype(dtype))
    yb = be.asarray(X[:, 0] * 3.0, be.dtype(dtype))
    options = {
        "hidden": (4,),
        "activation": "identity",
        "learning_rate": 3.0,
        "iterations": 5000,
        "log_every": 10,
        **options,
    }
    return Xb, yb, options


def test_divergence_names_the_step_and_keeps_the_last_finite_model(backend, dtype, planar):
    X, y, options = _diverging(backend, dtype, planar)
    with pytest.raises(portnet.DivergenceError) as caught:  # and no overflow warnings
        portnet.train(X, y, **options)
    error = caught.value
    assert error.step % 10 == 0
    assert error.step > 0
    message = str(error)
    assert "training diverged: the cost is " in message
    assert f"at iteration {error.step}; it was " in message
    assert f"at iteration {error.step - 10}. Try a smaller learning_rate (now 3)" in message
    model = error.model
    assert model.n_steps == error.step - 10
    assert model.stop_reason == "diverged"
    assert model.history.step[-1] == error.step
    cost = model.history.cost
    assert not np.isfinite(cost[-1]) or cost[-1] > 1000 * max(cost[0], 1)
    assert np.all(np.isfinite(cost[:-1]))
    assert max(cost[:-1]) <= 1000 * max(cost[0], 1)
    for W, b in model.params:
        assert np.all(np.isfinite(host(W)))
        assert np.all(np.isfinite(host(b)))
    assert np.isfinite(model.cost(X, y))
    assert model.backend == backend


def test_divergence_at_the_first_log_point_keeps_the_starting_parameters(planar):
    X, _ = planar
    huge = [(np.full((4, 2), 1e200), np.zeros(4)), (np.full((1, 4), 1e200), np.zeros(1))]
    with pytest.raises(portnet.DivergenceError) as e:
        portnet.train(X, X[:, 0], params=huge, activation="identity", iterations=10)
    assert str(e.value) == (
        "training cannot start: the cost of the starting parameters is inf at iteration 0, "
        "before any update (the learning rate is not the cause): the numbers overflow float64 "
        "(largest |W| 1e+200, largest |X| 4.21, largest |y| 4.21). Scale the data (e.g. "
        "standardise X and y)"
    )
    assert e.value.step == 0
    assert e.value.model.n_steps == 0
    np.testing.assert_array_equal(e.value.model.params[0].W, huge[0][0])


def test_a_finite_cost_grown_a_thousandfold_is_divergence(backend, dtype, planar):
    X, y = planar
    be = on(backend)
    Xb, yb = be.asarray(X, be.dtype(dtype)), be.asarray(y)
    with pytest.raises(portnet.DivergenceError) as caught:
        portnet.train(Xb, yb, learning_rate=1e6, iterations=3000, log_every=500)
    message = str(caught.value)
    assert re.fullmatch(
        r"training diverged: the cost is [0-9.e+]+ at iteration 500, more than 1000 times its "
        r"starting 0\.6887\d*; it was 0\.6887\d* at iteration 0\. Try a smaller learning_rate "
        r"\(now 1e\+06\); the error's \.model holds the parameters of iteration 0",
        message,
    ), message
    cost = caught.value.model.history.cost
    assert np.isfinite(cost[-1])
    assert cost[-1] > 1000 * cost[0]
    assert caught.value.model.n_steps == 0


def test_the_learning_rate_is_not_blamed_for_nan_starting_parameters(planar):
    X, y = planar
    params = [(np.zeros((4, 2)), np.zeros(4)), (np.zeros((1, 4)), np.array([np.nan]))]
    with pytest.raises(portnet.DivergenceError) as caught:
        portnet.train(X, y, params=params, iterations=10)
    assert str(caught.value) == (
        "training cannot start: the starting parameters (from params=) hold NaN or infinite "
        "values, so the cost is nan at iteration 0, before any update"
    )


def test_the_command_reports_divergence_and_saves_the_kept_model(tmp_path, capsys):
    X, _ = portnet.datasets.planar()
    np.savez(tmp_path / "d.npz", X=X, y=X[:, 0] * 3.0)
    argv = ["train", "--data", str(tmp_path / "d.npz"), "--activation", "identity"]
    argv += ["--learning-rate", "3", "--log-every", "10", "--out", str(tmp_path / "o")]
    assert main([*argv, "--no-plot"]) == 1
    err = capsys.readouterr().err
    assert "portnet: error: training diverged" in err
    kept = portnet.load(tmp_path / "o" / "model.npz")
    assert kept.stop_reason == "diverged"
    assert np.all(np.isfinite(kept.params[0].W))


def test_an_interrupt_in_a_callback_stops_the_caller_with_the_model_so_far(backend, planar):
    X, y = planar
    be = on(backend)
    Xb, yb = be.asarray(X, be.dtype("float32")), be.asarray(y)

    def stop_at_300(step, cost, model):
        if step == 300:
            raise KeyboardInterrupt

    common = {"hidden": (4,), "learning_rate": 1.2, "log_every": 100}
    with pytest.raises(portnet.TrainingInterrupted) as caught:
        portnet.train(Xb, yb, iterations=1000, callbacks=stop_at_300, **common)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert str(caught.value) == (
        "training interrupted at iteration 300; the exception's .model holds the model trained "
        "so far"
    )
    model = caught.value.model
    assert caught.value.step == 300
    assert model.stop_reason == "interrupted"
    assert model.n_steps == 300
    assert model.history.step == [0, 100, 200, 300]
    straight = portnet.train(Xb, yb, iterations=300, **common)
    for (W, b), (W0, b0) in zip(model.params, straight.params, strict=True):
        np.testing.assert_array_equal(host(W), host(W0))
        np.testing.assert_array_equal(host(b), host(b0))


def _ctrl_c_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("batch_size", [None, 50])
def test_a_real_ctrl_c_stops_with_a_whole_model(planar, batch_size):
    X, y = planar
    timer = _ctrl_c_after(0.5)
    try:
        with pytest.raises(portnet.TrainingInterrupted) as caught:
            portnet.train(
                X, y, hidden=(4,), iterations=10_000_000, log_every=500, batch_size=batch_size
            )
    finally:
        timer.cancel()
    model = caught.value.model
    assert model.stop_reason == "interrupted"
    assert caught.value.step == model.n_steps
    assert 0 < model.n_steps < 10_000_000
    assert model.history.step[0] == 0
    assert model.history.step[-1] <= model.n_steps
    for W, b in model.params:
        assert np.all(np.isfinite(W))
        assert np.all(np.isfinite(b))
    assert model.score(X, y) > 0.5


@pytest.mark.parametrize(
    ("optimizer", "batch_size"), [("sgd", None), ("adam", None), ("adam", 64), ("momentum", 150)]
)
def test_resuming_a_checkpoint_gives_the_uninterrupted_result(
    backend, planar, tmp_path, optimizer, batch_size
):
    X, y = planar
    be = on(backend)
    Xb, yb = be.asarray(X, be.dtype("float64")), be.asarray(y)
    common = {"hidden": (4,), "optimizer": optimizer, "batch_size": batch_size, "log_every": 50}
    straight = portnet.train(Xb, yb, iterations=500, **common)

    def crash_at_350(step, cost, model):
        if step == 350:
            raise KeyboardInterrupt  # stands for a crash: only the checkpoint survives

    path = tmp_path / "ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        portnet.train(
            Xb,
            yb,
            iterations=500,
            checkpoint=path,
            checkpoint_every=100,
            callbacks=crash_at_350,
            **common,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]  # no temporaries
    resumed = portnet.train(Xb, yb, iterations=500, resume=path, **common)
    assert resumed.n_steps == 500
    assert resumed.history.step == straight.history.step
    np.testing.assert_allclose(resumed.history.cost, straight.history.cost, rtol=1e-12)
    for (W, b), (W0, b0) in zip(resumed.params, straight.params, strict=True):
        np.testing.assert_allclose(host(W), host(W0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(host(b), host(b0), rtol=1e-12, atol=1e-15)
    assert portnet.load(path).n_steps == 300  # a checkpoint is also a model file


def test_checkpoint_errors(planar, tmp_path):
    X, y = planar
    with pytest.raises(
        ValueError, match=r"checkpoint_every must be a multiple of log_every \(50\), got 75"
    ):
        portnet.train(X, y, log_every=50, checkpoint=tmp_path / "c.npz", checkpoint_every=75)
    model_file = portnet.train(X, y, iterations=5).save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match="is a model file, not a checkpoint"):
        portnet.train(X, y, resume=model_file)
    portnet.train(X, y, iterations=100, log_every=50, checkpoint=tmp_path / "c.npz")
    with pytest.raises(ValueError, match="holds a network of another shape than this one"):
        portnet.train(X, y, hidden=(7,), resume=tmp_path / "c.npz")
    with pytest.raises(ValueError, match="holds the state of another optimiser"):
        portnet.train(X, y, optimizer="adam", resume=tmp_path / "c.npz")


def test_ctrl_c_stops_cross_validation_not_just_one_fit(planar):
    """scikit-learn's model selection catches Exception, not KeyboardInterrupt: the interrupt
    of one fit reaches cross_val_score's caller, instead of scores of half-trained models."""
    sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.model_selection import cross_val_score

    from portnet.sklearn import PortnetClassifier

    assert sklearn is not None
    X, y = planar
    timer = _ctrl_c_after(0.5)
    try:
        with pytest.raises(portnet.TrainingInterrupted) as caught:
            cross_val_score(PortnetClassifier(iterations=10_000_000, log_every=500), X, y, cv=3)
    finally:
        timer.cancel()
    assert 0 < caught.value.model.n_steps < 10_000_000


def test_an_interrupted_jax_run_waits_for_its_dispatched_program(planar, monkeypatch):
    """JAX runs a dispatched program on after Ctrl-C: the interrupted call waits for it (the
    next call does not stall behind it), and keeps whole parameters."""
    pytest.importorskip("jax", reason="JAX is not installed")
    from portnet.backends import jax as jax_backend

    waited = []
    wait = jax_backend.JaxAdapter.wait

    def spy(self, tree):
        wait(self, tree)
        waited.append([leaf for layer in tree[0] for leaf in layer])

    monkeypatch.setattr(jax_backend.JaxAdapter, "wait", spy)
    X, y = planar
    be = on("jax")
    Xb, yb = be.asarray(X, be.dtype("float32")), be.asarray(y)
    timer = _ctrl_c_after(1.0)
    try:
        with pytest.raises(portnet.TrainingInterrupted) as caught:
            portnet.train(Xb, yb, iterations=10_000_000, log_every=20_000)
    finally:
        timer.cancel()
    assert len(waited) == 1
    assert waited[0]
    assert all(leaf.is_ready() for leaf in waited[0])  # the dispatched program has finished
    for W, b in caught.value.model.params:
        assert np.all(np.isfinite(host(W)))
        assert np.all(np.isfinite(host(b)))


def test_a_callback_returning_numpys_false_stops(planar):
    X, y = planar
    model = portnet.train(
        X, y, iterations=1000, log_every=100, callbacks=lambda s, c, m: np.bool_(s < 200)
    )
    assert model.stop_reason == "callback"
    assert model.n_steps == 200


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        ({"learning_rate": 0.1}, "learning_rate (0.1; the checkpoint's: 1.2)"),
        ({"l2": 0.5}, "l2 (0.5; the checkpoint's: 0.0)"),
        ({"dtype": "float32"}, "dtype (float32; the checkpoint's: float64)"),
        ({"batch_size": 50}, "batch_size (50; the checkpoint's: 400)"),
        ({"X": "scaled"}, "the data (X and y) (other values, same shape (400, 2))"),
        ({"X": "fewer"}, "the data (X and y) (300 samples × 2 features; the checkpoint's: 400"),
        ({"early_stopping": True}, "the validation split (early_stopping, validation_fraction"),
    ],
)
def test_a_resume_must_be_the_same_run(planar, tmp_path, change, difference):
    X, y = planar
    path = tmp_path / "c.npz"
    portnet.train(X, y, iterations=200, log_every=100, checkpoint=path)
    change = dict(change)
    data = change.pop("X", None)
    if data == "scaled":
        X = X * 2
    elif data == "fewer":
        X, y = X[:300], y[:300]
    with pytest.raises(ValueError, match="cannot resume from") as caught:
        portnet.train(X, y, iterations=400, log_every=100, resume=path, **change)
    message = str(caught.value)
    assert "this run is not the one that wrote it, it differs in " in message
    assert difference in message
    assert message.endswith(
        "A resume continues the same run; to train on from its parameters with other data or "
        "options, pass params=portnet.load(path).params instead"
    )


def test_a_resume_cannot_go_back(planar, tmp_path):
    X, y = planar
    path = tmp_path / "c.npz"
    portnet.train(X, y, iterations=300, log_every=100, checkpoint=path)
    with pytest.raises(ValueError, match="cannot resume") as caught:
        portnet.train(X, y, iterations=200, log_every=100, resume=path)
    assert str(caught.value) == (
        f"cannot resume from {path}: it is at iteration 300, past iterations=200; ask for at "
        "least 300 iterations, or load the model it holds with portnet.load"
    )
    same = portnet.train(X, y, iterations=300, log_every=100, resume=path)  # nothing left to do
    np.testing.assert_array_equal(same.params[0].W, portnet.load(path).params[0].W)


def test_the_command_saves_an_interrupted_model_and_exits_130(tmp_path, capsys):
    timer = _ctrl_c_after(1.0)
    try:
        status = main(
            ["train", "--iterations", "100000000", "--out", str(tmp_path), "--no-plot", "--quiet"]
        )
    finally:
        timer.cancel()
    assert status == 130
    err = capsys.readouterr().err
    assert re.search(
        r"portnet: interrupted at iteration \d+; the model trained so far is kept", err
    )
    kept = portnet.load(tmp_path / "model.npz")
    assert kept.stop_reason == "interrupted"
    assert kept.n_steps > 0
