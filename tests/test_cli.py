"""The ``portnet`` command."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import portnet
from portnet.cli import backends_report, main

from .conftest import importable, needs


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
    assert "portnet: error: learning_rate must be a finite number > 0, got -1.0" in err
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
