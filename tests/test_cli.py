"""The ``portnet`` command."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import portnet
from portnet.cli import backends_report, main

from .conftest import can_be_denied, importable, needs


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Every command runs in its own folder: `portnet train` writes portnet-out/ there."""
    monkeypatch.chdir(tmp_path)


def test_train_defaults_reproduce_the_course(capsys, tmp_path):
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    assert "data: planar (400 samples, 2 features)" in out
    costs = re.findall(r"Cost after iteration (\d+): ([0-9.]+)", out)
    assert [int(step) for step, _ in costs] == list(range(0, 10_001, 1000))
    assert float(costs[-1][1]) < float(costs[0][1])
    assert "Model(2-4-1, activation='tanh', loss='binary_crossentropy', backend='numpy'" in out
    accuracy = float(re.search(r"training accuracy: ([0-9.]+)", out).group(1))
    assert accuracy >= 0.89
    out_dir = tmp_path / "portnet-out"
    assert "wrote: portnet-out/model.npz" in out
    model = portnet.load(out_dir / "model.npz")
    assert model.score(*portnet.datasets.planar()) == accuracy
    if importable("matplotlib"):  # the plots are written when matplotlib is there
        for name in ("cost.png", "boundary.png"):
            assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_options(capsys):
    argv = ["train", "--data", "noisy_moons", "--hidden", "8,4", "--activation", "relu"]
    argv += ["--learning-rate", "0.3", "--iterations", "300", "--log-every", "100"]
    argv += ["--dtype", "float32", "--seed", "3", "--optimizer", "momentum", "--batch-size", "50"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "data: noisy_moons (200 samples, 2 features)" in out
    assert "Model(2-8-4-1, activation='relu'" in out
    assert "dtype=float32" in out
    assert len(re.findall(r"Cost after iteration", out)) == 4
    assert "time: " in out


@needs("dask")
def test_train_on_dask_in_chunks(capsys, tmp_path):
    argv = ["train", "--backend", "dask", "--chunks", "100", "--iterations", "300"]
    assert main([*argv, "--log-every", "100", "--out", str(tmp_path), "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "backend='dask'" in out
    assert len(re.findall(r"Cost after iteration", out)) == 4
    assert main([*argv, "--backend", "numpy"]) == 2
    assert "chunks= splits the data of backend 'dask'" in capsys.readouterr().err


def test_epochs_and_adam(capsys):
    argv = ["train", "--optimizer", "adam", "--epochs", "20", "--batch-size", "40"]
    assert main([*argv, "--log-every", "50"]) == 0
    out = capsys.readouterr().out
    assert "for 200 iterations" in out  # 20 epochs of 400 / 40 batches
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "2", "--iterations", "5"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_logistic_regression_from_the_command_line(capsys):
    assert main(["train", "--hidden", "none", "--iterations", "2000"]) == 0
    out = capsys.readouterr().out
    assert "Model(2-1," in out
    assert "training accuracy: 0.47" in out


def test_errors_go_to_stderr_with_exit_code_2(capsys):
    assert main(["train", "--learning-rate", "-1"]) == 2
    err = capsys.readouterr().err
    assert "portnet: error: --learning-rate must be a finite number > 0, got -1.0" in err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--hidden", "4,x"])
    assert exc.value.code == 2
    assert (
        "expected comma-separated layer widths such as 20,7,5, got '4,x'" in capsys.readouterr().err
    )


def test_python_dash_m_portnet_help():
    result = subprocess.run(
        [sys.executable, "-m", "portnet", "train", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "--learning-rate" in result.stdout
    assert "--backend" in result.stdout


def _csv(path, X, y, header=True):
    lines = ["x1,x2,kind"] if header else []
    lines += [f"{a},{b},{c}" for (a, b), c in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_on_a_csv_then_predict_from_files(capsys, tmp_path):
    X, y = portnet.datasets.noisy_moons()
    kinds = np.array(["moon", "sun"])[y]
    data = _csv(tmp_path / "moons.csv", X, kinds)
    argv = ["train", "--data", str(data), "--hidden", "6", "--iterations", "500"]
    assert main([*argv, "--out", "run", "--no-plot", "--log-every", "250"]) == 0
    out = capsys.readouterr().out
    assert "data: " in out
    assert "(200 samples, 2 features)" in out
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model.npz"]
    model = portnet.load(tmp_path / "run" / "model.npz")
    np.testing.assert_array_equal(model.classes_, ["moon", "sun"])

    assert main(["predict", "run/model.npz", str(data)]) == 0  # label column present: scored
    captured = capsys.readouterr()
    predicted = captured.out.split()
    assert len(predicted) == 200
    assert set(predicted) <= {"moon", "sun"}
    np.testing.assert_array_equal(predicted, model.predict(X))
    assert f"accuracy on {data}: {model.score(X, kinds):.4f}" in captured.err

    np.save(tmp_path / "features.npy", X)  # features only: n_features columns
    assert main(["predict", "run/model.npz", "features.npy", "--proba", "--out", "p.csv"]) == 0
    proba = np.loadtxt(tmp_path / "p.csv", delimiter=",")
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-7)
    assert main(["predict", "run/model.npz", "features.npy", "--out", "p.npy"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict(X))


def test_train_on_npz_and_npy_files_with_a_label_column(capsys, tmp_path):
    X, y = portnet.datasets.blobs()
    np.savez(tmp_path / "blobs.npz", X=X, y=y)
    assert main(["train", "--data", "blobs.npz", "--iterations", "50", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    table = np.column_stack([y, X])  # label first
    np.save(tmp_path / "blobs.npy", table)
    argv = ["train", "--data", "blobs.npy", "--label", "0", "--iterations", "50", "--out", "b"]
    assert main([*argv, "--quiet"]) == 0
    assert portnet.load(tmp_path / "b" / "model.npz").n_features_in_ == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "flowers"], "--data must be a built-in data set (planar"),
        (["train", "--data", "missing.csv"], "cannot read missing.csv: no such file"),
        (["train", "--data", "planar", "--label", "y"], "--label is for data files"),
        (
            ["train", "--data", "bad.csv"],
            "cannot read bad.csv: row 3 has 2 columns, the first has 3",
        ),
        (["train", "--data", "ok.csv", "--label", "z"], "no column named 'z'; the header has"),
        (["train", "--data", "ok.csv", "--label", "5"], "label column 5 is out of range for 3"),
        (["train", "--data", "text.csv"], "feature columns must be numbers"),
        (["train", "--data", "x.npz"], "expected arrays 'X' and 'y', found ['Z']"),
        (["predict", "nomodel.npz", "x.npz"], "nomodel.npz"),
        (["predict", "m.npz", "wide.npy"], "the model takes 2 features, so the file must have 2"),
        (["predict", "m.npz", "wide.npy", "--out", "p.txt"], "the model takes 2 features"),
    ],
)
def test_command_errors_name_what_was_expected(capsys, tmp_path, argv, message):
    (tmp_path / "bad.csv").write_text("a,b,y\n1,2,0\n3,4\n")
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    (tmp_path / "text.csv").write_text("1,red,0\n3,blue,1\n")
    np.savez(tmp_path / "x.npz", Z=np.zeros((2, 2)))
    np.save(tmp_path / "wide.npy", np.zeros((5, 7)))
    X, y = portnet.datasets.planar()
    portnet.train(X, y, hidden=(2,), iterations=2).save(tmp_path / "m.npz")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("portnet: error: ")
    assert message in err


def test_predict_out_must_be_csv_or_npy(capsys, tmp_path):
    X, y = portnet.datasets.planar()
    portnet.train(X, y, hidden=(2,), iterations=2).save(tmp_path / "m.npz")
    np.save(tmp_path / "f.npy", X)
    assert main(["predict", "m.npz", "f.npy", "--out", "p.txt"]) == 2
    assert "--out must be a .csv or .npy file, got 'p.txt'" in capsys.readouterr().err


@pytest.mark.backends("array_api_strict", "torch")  # their rows, where installed
def test_backends_lists_every_backend(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    rows = {row["backend"]: row for row in backends_report()}
    assert list(rows) == list(portnet.BACKENDS)
    assert rows["numpy"]["version"] == np.__version__
    assert rows["numpy"]["float64"] == "yes"
    assert rows["numpy"]["devices"] == "cpu"
    for name, row in rows.items():
        assert out.count(f"{name}: ") == 1
        extra = {"array_api_strict": "strict"}.get(name, name)
        if not importable(name):
            assert row["version"] == f"not installed: pip install 'portnet[{extra}]'"
    if importable("array_api_strict"):
        assert "device1" in rows["array_api_strict"]["devices"]
    if importable("torch"):
        assert rows["torch"]["GPU"].startswith(("usable", "no: torch.cuda.is_available() is False"))


# -- issue 28: one error contract; nothing lost -------------------------------------------------
def _failed(capsys, status, message):
    """The command failed as the contract says: exit 2, one error line, no traceback."""
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("portnet: error: ")
    assert message in captured.err
    assert "Traceback" not in captured.err
    return captured


def _saved_models(tmp_path):
    X, y = portnet.datasets.planar()
    portnet.train(X, y, hidden=(2,), iterations=2).save(tmp_path / "m.npz")
    portnet.train(X, X[:, 0], hidden=(2,), iterations=2).save(tmp_path / "r.npz")
    np.save(tmp_path / "f.npy", X)


def test_proba_of_a_regressor_is_an_error_not_a_traceback(capsys, tmp_path):
    _saved_models(tmp_path)
    status = main(["predict", "r.npz", "f.npy", "--proba"])
    _failed(capsys, status, "--proba needs a classifier; r.npz is a regression model (loss ")


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("afile", "cannot write the model (--out) to afile/model.npz: "),
        ("afile/deeper", "afile is a file, not a folder"),
        ("run", "cannot write the model (--out) to run/model.npz: it is a folder, not a file"),
    ],
)
def test_an_out_that_cannot_be_written_is_found_before_training(capsys, tmp_path, out, message):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "run" / "model.npz").mkdir(parents=True)
    captured = _failed(capsys, main(["train", "--out", out]), message)
    assert "Cost after" not in captured.out  # nothing was trained for nothing


def test_a_read_only_out_is_found_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(portnet.serialization.os, "access", lambda *args, **kwargs: False)
    captured = _failed(capsys, main(["train", "--out", "new"]), "is not writable by this user")
    assert "Cost after" not in captured.out
    assert not (tmp_path / "new").exists()


def test_predictions_out_that_cannot_be_written(capsys, tmp_path):
    _saved_models(tmp_path)
    (tmp_path / "sub.csv").mkdir()
    status = main(["predict", "m.npz", "f.npy", "--out", "sub.csv"])
    _failed(capsys, status, "cannot write the predictions (--out) to sub.csv: it is a folder")
    status = main(["predict", "m.npz", "f.npy", "--out", "no/p.npy"])
    _failed(capsys, status, "cannot write the predictions (--out) to no/p.npy: the folder ")


def test_unreadable_and_unwritable_files_are_errors_not_tracebacks(capsys, tmp_path):
    if not can_be_denied(tmp_path):
        pytest.skip("file permissions do not stop this user (root reads and writes anything)")
    _saved_models(tmp_path)
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    (tmp_path / "locked").mkdir(mode=0o555)
    for name in ("m.npz", "d.csv"):
        (tmp_path / name).chmod(0)
    try:
        status = main(["predict", "m.npz", "f.npy"])
        _failed(capsys, status, "cannot read m.npz: permission denied")
        _failed(capsys, main(["train", "--data", "d.csv"]), "permission denied")
        status = main(["train", "--out", "locked/run"])
        _failed(capsys, status, "the folder {} is not writable".format(tmp_path / "locked"))
    finally:
        for name in ("m.npz", "d.csv"):
            (tmp_path / name).chmod(0o600)
        (tmp_path / "locked").chmod(0o755)


def test_a_model_file_that_is_not_one_says_what_it_is(capsys, tmp_path):
    _saved_models(tmp_path)
    status = main(["predict", "f.npy", "f.npy"])
    _failed(capsys, status, "f.npy is not a portnet model file (expected a .npz written by ")
    assert "allow_pickle" not in capsys.readouterr().err


def _command(*args):
    return [sys.executable, "-m", "portnet", *args]


def test_a_pipe_closed_early_ends_predict_quietly(tmp_path):
    _saved_models(tmp_path)
    np.save(tmp_path / "big.npy", np.zeros((100_000, 2)))  # far more than a pipe holds
    argv = _command("predict", "m.npz", "big.npy", "--proba")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout.readline()  # as `| head -1`: one line, then the pipe closes
        child.stdout.close()
        err = child.stderr.read().decode()
        status = child.wait()
    assert status == 141
    assert err == ""


def test_a_pipe_closed_early_does_not_stop_training(tmp_path):
    argv = _command("train", "--iterations", "3000", "--log-every", "1", "--no-plot")
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout.readline().startswith(b"data: planar")
        child.stdout.close()
        err = child.stderr.read().decode()
        status = child.wait()
    assert (status, err) == (0, "")
    assert portnet.load(tmp_path / "portnet-out" / "model.npz").n_steps == 3000


def test_ctrl_c_saves_the_model_so_far_and_exits_130(capsys, tmp_path, monkeypatch):
    from portnet import cli

    def ctrl_c_at_2000(self, step, cost, model):
        if step == 2000:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Progress, "__call__", ctrl_c_at_2000)
    assert main(["train", "--no-plot"]) == 130
    captured = capsys.readouterr()
    assert "portnet: interrupted at iteration 2000; the model trained so far is kept" in (
        captured.err
    )
    assert "wrote: portnet-out/model.npz" in captured.out
    kept = portnet.load(tmp_path / "portnet-out" / "model.npz")
    assert (kept.n_steps, kept.stop_reason) == (2000, "interrupted")


def test_an_unexpected_error_is_still_one_line(capsys, monkeypatch):
    from portnet import cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(cli, "_backends", broken)
    status = main(["backends"])
    _failed(capsys, status, "portnet: error: unexpected KeyError: 'boom' (a bug in portnet")


@pytest.mark.parametrize("command", ["train", "predict"])
def test_help_states_each_default_once_and_correctly(command):
    from portnet.cli import _parser

    parser = _parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    text = sub.format_help()
    blocks = re.split(r"\n  (?=-)", text.split("options:", 1)[1])[1:]
    assert blocks
    for block in blocks:
        assert block.count("default") <= 1, block
        assert "None" not in block, block
    for action in sub._actions:
        if action.default not in (None, False, "==SUPPRESS==") and action.option_strings:
            block = next(b for b in blocks if b.startswith(action.option_strings[0]))
            shown = {(4,): "4"}.get(action.default, str(action.default))
            assert re.search(rf"default: {re.escape(shown)}\b", " ".join(block.split())), block


@needs("jax")
def test_jax_from_the_command_just_works_in_float32(capsys, tmp_path):
    import jax

    jax.config.update("jax_enable_x64", False)  # as out of the box
    try:
        argv = ["train", "--backend", "jax", "--iterations", "200", "--log-every", "100"]
        assert main([*argv, "--no-plot"]) == 0
        out = capsys.readouterr().out
        assert "backend='jax'" in out
        assert "dtype=float32" in out
        assert re.search(r"time: [0-9.]+ s for 200 iterations", out)
        if hasattr(jax.monitoring, "unregister_event_duration_listener"):  # else not measured
            assert re.search(r"200 iterations, of which [0-9.]+ s compiling", out)
        model = "portnet-out/model.npz"
        assert (
            main(["predict", model, str(_csv(tmp_path / "d.csv", *portnet.datasets.planar()))]) == 0
        )
    finally:
        jax.config.update("jax_enable_x64", True)


@needs("array_api_strict")
def test_advice_is_phrased_for_the_command(capsys):
    argv = ["train", "--backend", "array_api_strict", "--device", "no_float64", "--dtype"]
    _failed(capsys, main([*argv, "float64"]), "pass --dtype float32")


def test_train_and_predict_on_real_world_csv_files(capsys, tmp_path):
    """A spreadsheet's export (BOM, semicolons, decimal commas, .CSV) and a pandas frame's
    to_csv (its index first) train on their two features; a .TSV predicts."""
    X, y = portnet.datasets.noisy_moons()
    kinds = np.array(["moon", "sun"])[y]
    rows = [f"{a:.6f};{b:.6f};{k}".replace(".", ",") for (a, b), k in zip(X, kinds, strict=True)]
    (tmp_path / "moons.CSV").write_bytes("\ufeffx1;x2;kind\n".encode() + "\n".join(rows).encode())
    argv = ["train", "--data", "moons.CSV", "--hidden", "4", "--iterations", "20", "--no-plot"]
    assert main([*argv, "--out", "run"]) == 0
    assert "data: moons.CSV (200 samples, 2 features)" in capsys.readouterr().out
    model = portnet.load(tmp_path / "run" / "model.npz")
    np.testing.assert_array_equal(model.classes_, ["moon", "sun"])

    index = ",x1,x2,kind\n" + "".join(
        f"{i},{a},{b},{k}\n" for i, ((a, b), k) in enumerate(zip(X, kinds, strict=True))
    )
    (tmp_path / "frame.csv").write_text(index)
    assert main(["train", "--data", "frame.csv", "--iterations", "20", "--no-plot"]) == 0
    assert "data: frame.csv (200 samples, 2 features)" in capsys.readouterr().out

    (tmp_path / "new.TSV").write_text("".join(f"{a}\t{b}\n" for a, b in X[:5]))
    assert main(["predict", "run/model.npz", "new.TSV"]) == 0
    assert capsys.readouterr().out.split() == list(model.predict(X[:5]))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,b,y\n1,2,cat\n3,4,\n", "d.csv: row 3, column 'y' (the label) is empty"),
        (b"a,b,y\n1,2,cat\n3,,dog\n", "d.csv: feature columns must be numbers: row 3, column 'b'"),
        (b"a,b,y\n1,2,caf\xe9\n", "d.csv: not UTF-8 text: row 2 holds byte 0xe9"),
        (b"a;b;y\n1;2;0\n3;4\n", "d.csv: row 3 has 2 columns, the first has 3"),
    ],
)
def test_a_bad_csv_is_an_error_naming_file_row_and_column(capsys, content, message, tmp_path):
    (tmp_path / "d.csv").write_bytes(content)
    assert main(["train", "--data", "d.csv", "--iterations", "2", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portnet: error: cannot read ")
    assert message in err


def test_the_boundary_picture_is_labelled_with_the_csv_header(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the picture needs matplotlib")
    X, y = portnet.datasets.planar()
    rows = "\n".join(f"{a},{b},{int(c)}" for (a, b), c in zip(X, y, strict=True))
    (tmp_path / "d.csv").write_text("petal,sepal,kind\n" + rows + "\n")
    seen = {}
    draw = portnet.plots.decision_boundary

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return draw(*args, **kwargs)

    monkeypatch.setattr(portnet.plots, "decision_boundary", spy)
    assert main(["train", "--data", "d.csv", "--iterations", "10", "--quiet"]) == 0
    assert seen["feature_names"] == ("petal", "sepal")
    assert (tmp_path / "portnet-out" / "boundary.png").is_file()


def test_predict_refuses_a_nan_row_instead_of_labelling_it(capsys, tmp_path):
    _saved_models(tmp_path)
    X = np.load(tmp_path / "f.npy")
    X[7, 1] = np.nan
    np.save(tmp_path / "g.npy", X)
    status = main(["predict", "m.npz", "g.npy"])
    captured = _failed(capsys, status, "X must be finite, but it holds 1 NaN or infinite value")
    assert captured.out == ""  # no labels printed before the error


def test_lbfgs_from_the_command_line(capsys):
    argv = ["train", "--optimizer", "lbfgs", "--iterations", "200", "--max-fun", "300"]
    assert main([*argv, "--log-every", "50", "--no-plot"]) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"training accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.85
    status = main(["train", "--optimizer", "lbfgs", "--batch-size", "20", "--no-plot"])
    _failed(capsys, status, "--optimizer lbfgs trains on the full batch")


# -- issue 29: weights and epoch log points from the command line ----------------------------
def _weighted_csv(path, X, labels, w):
    lines = ["x1,x2,w,kind"] + [
        f"{a},{b},{c},{k}" for (a, b), c, k in zip(X, w, labels, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _params(model):
    return [np.asarray(p) for layer in model.params for p in layer]


def test_a_weights_column_trains_as_train_with_sample_weight_bit_for_bit(capsys, tmp_path):
    """The weights column (.csv by name, .npz by array name) is left out of the features and
    weighs the samples: the model ``portnet.train(..., sample_weight=w)`` makes, to the bit;
    ``predict`` leaves it out too, and weighs the score with it."""
    X, y = portnet.datasets.noisy_moons()
    kinds = np.array(["moon", "sun"])[y]
    w = np.random.default_rng(4).uniform(0.0, 3.0, 200).round(3)
    w[::7] = 0.0
    _weighted_csv(tmp_path / "d.csv", X, kinds, w)
    settings = ["--optimizer", "adam", "--batch-size", "32", "--iterations", "200", "--seed", "3"]
    argv = ["train", "--data", "d.csv", "--weights-column", "w", *settings, "--no-plot"]
    assert main([*argv, "--class-weight", "balanced", "--log-every", "100", "--out", "a"]) == 0
    out = capsys.readouterr().out
    assert "data: d.csv (200 samples, 2 features)" in out
    run = {"optimizer": "adam", "batch_size": 32, "iterations": 200, "seed": 3, "log_every": 100}
    expected = portnet.train(X, kinds, sample_weight=w, class_weight="balanced", **run)
    model = portnet.load(tmp_path / "a" / "model.npz")
    for p, q in zip(_params(model), _params(expected), strict=True):
        np.testing.assert_array_equal(p, q)
    score = expected.score(X, kinds, sample_weight=w)
    assert f"training accuracy (weighted): {score:.4f}" in out

    np.savez(tmp_path / "d.npz", X=X, y=kinds, sample_weight=w)
    npz = ["train", "--data", "d.npz", "--weights-column", "sample_weight", *settings]
    assert main([*npz, "--log-every", "100", "--out", "b", "--no-plot", "--quiet"]) == 0
    unbalanced = portnet.train(X, kinds, sample_weight=w, **run)
    for p, q in zip(
        _params(portnet.load(tmp_path / "b" / "model.npz")), _params(unbalanced), strict=True
    ):
        np.testing.assert_array_equal(p, q)

    assert main(["predict", "a/model.npz", "d.csv", "--weights-column", "w"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == list(model.predict(X))
    assert f"accuracy (weighted) on d.csv: {score:.4f}" in captured.err
    status = main(["predict", "a/model.npz", "d.csv"])  # w taken for a feature: too wide
    _failed(capsys, status, "the model takes 2 features, so the file must have 2 columns")


def test_log_every_epoch_prints_each_epochs_mean_batch_cost(capsys):
    argv = ["train", "--optimizer", "adam", "--epochs", "4", "--batch-size", "100", "--no-plot"]
    assert main([*argv, "--log-every", "epoch"]) == 0
    out = capsys.readouterr().out
    X, y = portnet.datasets.planar()
    run = {"optimizer": "adam", "epochs": 4, "batch_size": 100, "log_every": "epoch"}
    costs = portnet.train(X, y, **run).history.cost
    assert re.findall(r"Cost after (\w+ \d+): ([0-9.]+)", out) == [
        (f"epoch {e}", f"{J:.6f}") for e, J in enumerate(costs, start=1)
    ]
    assert "for 16 iterations" in out
    lbfgs = ["train", "--optimizer", "lbfgs", "--iterations", "3", "--log-every", "epoch"]
    assert main([*lbfgs, "--no-plot"]) == 0  # an iteration is an epoch: the full batch
    assert re.findall(r"Cost after epoch (\d+)", capsys.readouterr().out) == ["0", "1", "2", "3"]


@pytest.mark.parametrize("value", ["0", "-5", "epochs", "1.5", ""])
def test_log_every_is_a_positive_count_or_epoch(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--log-every", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    expected = "a positive number of updates (e.g. 100) or 'epoch'"
    assert f"argument --log-every: expected {expected}, got {value!r}" in err


#: name -> (data, options, message): weights refused as portnet.train refuses them, or as a
#: data file's cells are
BAD_WEIGHTS = {
    "negative": ("neg.csv", "w", "cannot read neg.csv: the weights column must hold finite "
                 "numbers >= 0: row 3, column 'w' holds -1"),
    "nan": ("nan.csv", "w", "cannot read nan.csv: the weights column must hold finite "
            "numbers >= 0: row 2, column 'w' holds nan"),
    "infinite": ("inf.csv", "w", "cannot read inf.csv: the weights column must hold finite "
                 "numbers >= 0: row 3, column 'w' holds inf"),
    "npy, negative": ("neg.npy", "2", "sample_weight must be non-negative, but it holds 1 "
                      "negative value (the first -1 at index 1)"),
    "all zero": ("zeros.csv", "w", "sample_weight is zero for every sample: at least one "
                 "weight must be positive"),
    "empty cell": ("empty.csv", "w", "cannot read empty.csv: the weights column must hold "
                   "numbers: row 3, column 'w' is empty"),
    "text cell": ("text.csv", "w", "cannot read text.csv: the weights column must hold "
                  "numbers: row 2, column 'w' holds 'heavy'"),
    "no such column": ("ok.csv", "z", "cannot read ok.csv: no weights column named 'z'; the "
                       "header has ['a', 'b', 'w', 'y']"),
    "index out of range": ("ok.csv", "9", "cannot read ok.csv: weights column 9 is out of "
                           "range for 4 columns"),
    "the label column": ("ok.csv", "w --label w", "cannot read ok.csv: the label column 'w' "
                         "is the weights column too"),
    "npz, another length": ("short.npz", "sample_weight", "sample_weight must have one "
                            "weight per sample of X (4), got 3"),
    "npz, no such array": ("short.npz", "w", "cannot read short.npz: no array 'w' for the "
                           "weights; it holds ['X', 'sample_weight', 'y']"),
    "built-in data": ("planar", "w", "--weights-column is for data files; built-in data "
                      "sets have no weights"),
    "class weight, regression": ("reals.csv", "w --class-weight balanced", "class_weight "
                                 "needs class labels, but y holds real targets (a regression"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_WEIGHTS)
def test_bad_weights_are_errors_with_exit_code_2(capsys, tmp_path, case):
    file, options, message = BAD_WEIGHTS[case]
    rows = {
        "neg.csv": "1,2,1,0\n3,4,-1,1\n", "nan.csv": "1,2,nan,0\n3,4,1,1\n",
        "zeros.csv": "1,2,0,0\n3,4,0,1\n", "empty.csv": "1,2,1,0\n3,4,,1\n",
        "text.csv": "1,2,heavy,0\n3,4,1,1\n", "ok.csv": "1,2,1,0\n3,4,1,1\n",
        "inf.csv": "1,2,1,0\n3,4,inf,1\n",
        "reals.csv": "1,2,1,0.5\n3,4,1,1.25\n",
    }  # fmt: skip
    for name, content in rows.items():
        (tmp_path / name).write_text("a,b,w,y\n" + content)
    np.savez(tmp_path / "short.npz", X=np.eye(4), y=[0, 1, 0, 1], sample_weight=np.ones(3))
    np.save(tmp_path / "neg.npy", [[1.0, 2.0, 1.0, 0.0], [3.0, 4.0, -1.0, 1.0]])
    argv = ["train", "--data", file, "--weights-column", *options.split()]
    status = main([*argv, "--iterations", "2", "--no-plot"])
    _failed(capsys, status, message)


def test_class_weight_takes_balanced_only(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--class-weight", "equal"])
    assert exc.value.code == 2
    assert "argument --class-weight: invalid choice: 'equal'" in capsys.readouterr().err
