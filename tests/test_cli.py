"""The ``portnet`` command."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from portnet.cli import main


def test_train_defaults_reproduce_the_course(capsys):
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    assert "data: planar (400 samples, 2 features)" in out
    costs = re.findall(r"Cost after iteration (\d+): ([0-9.]+)", out)
    assert [int(step) for step, _ in costs] == list(range(0, 10_001, 1000))
    assert float(costs[-1][1]) < float(costs[0][1])
    assert "Model(2-4-1, activation='tanh', loss='binary_crossentropy', backend='numpy'" in out
    accuracy = float(re.search(r"training accuracy: ([0-9.]+)", out).group(1))
    assert accuracy >= 0.89


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
