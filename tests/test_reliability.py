"""Training that goes wrong loses nothing: divergence is an error that keeps the last finite
model; Ctrl-C returns the model trained so far."""

from __future__ import annotations

import os
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
    assert not np.isfinite(model.history.cost[-1])
    assert np.all(np.isfinite(model.history.cost[:-1]))
    for W, b in model.params:
        assert np.all(np.isfinite(host(W)))
        assert np.all(np.isfinite(host(b)))
    assert np.isfinite(model.cost(X, y))
    assert model.backend == backend


def test_divergence_at_the_first_log_point_keeps_the_starting_parameters(planar):
    X, _ = planar
    huge = [(np.full((4, 2), 1e200), np.zeros(4)), (np.full((1, 4), 1e200), np.zeros(1))]
    with pytest.raises(portnet.DivergenceError, match="the starting parameters already") as e:
        portnet.train(X, X[:, 0], params=huge, activation="identity", iterations=10)
    assert e.value.step == 0
    assert e.value.model.n_steps == 0
    np.testing.assert_array_equal(e.value.model.params[0].W, huge[0][0])


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


def test_an_interrupt_in_a_callback_returns_the_model_so_far(backend, planar):
    X, y = planar
    be = on(backend)
    Xb, yb = be.asarray(X, be.dtype("float32")), be.asarray(y)

    def stop_at_300(step, cost, model):
        if step == 300:
            raise KeyboardInterrupt

    common = {"hidden": (4,), "learning_rate": 1.2, "log_every": 100}
    model = portnet.train(Xb, yb, iterations=1000, callbacks=stop_at_300, **common)
    assert model.stop_reason == "interrupted"
    assert model.n_steps == 300
    assert model.history.step == [0, 100, 200, 300]
    straight = portnet.train(Xb, yb, iterations=300, **common)
    for (W, b), (W0, b0) in zip(model.params, straight.params, strict=True):
        np.testing.assert_array_equal(host(W), host(W0))
        np.testing.assert_array_equal(host(b), host(b0))


@pytest.mark.parametrize("batch_size", [None, 50])
def test_a_real_ctrl_c_returns_a_whole_model(planar, batch_size):
    X, y = planar
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        model = portnet.train(
            X, y, hidden=(4,), iterations=10_000_000, log_every=500, batch_size=batch_size
        )
    finally:
        timer.cancel()
    assert model.stop_reason == "interrupted"
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
