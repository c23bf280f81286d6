"""The agreement report (``python -m portnet.agreement``): figures, files, exit code."""

from __future__ import annotations

import json

import numpy as np
import pytest

from portnet import agreement
from portnet._backend import resolve_backend
from portnet._precision import on_gpu
from portnet.backends import TABLE


def test_report_on_one_backend(backend, tmp_path, capsys):
    argv = ["--backends", f"numpy,{backend}", "--configs", "planar-tanh", "--out", str(tmp_path)]
    # NumPy alone is the reference, compared with nothing: "skipped", never "agree"
    assert agreement.main(argv) == (agreement.NOTHING_COMPARED if backend == "numpy" else 0)
    out = capsys.readouterr().out
    assert ("all 2 run rows agree" in out) is (backend != "numpy")
    report = json.loads((tmp_path / "agreement.json").read_text())
    rows = {(r["backend"], r["dtype"]): r for r in report["rows"]}
    assert {k[0] for k in rows} == {"numpy", backend}
    assert rows["numpy", "float64"]["status"] == "reference"
    for dtype in ("float32", "float64"):
        row = rows[backend, dtype]
        assert row["status"] == ("reference" if backend == "numpy" else "pass")
        for figure in ("params@100", "outputs@100", "cost@100"):
            assert row["figures"][figure] <= agreement.TOLERANCE[dtype]
        assert set(row["figures"]) >= {"params@1000", "outputs@1000 vs float64", "cost@1000"}
    # float32 against float64 is reported, and is float32-sized, not zero
    assert 0 < rows["numpy", "float32"]["figures"]["params@100 vs float64"] < 1e-4
    markdown = (tmp_path / "agreement.md").read_text()
    assert markdown.startswith("| backend | dtype | precision | config | θ@100 |")
    assert f"| {backend} | float64 | highest | planar-tanh |" in markdown


def test_missing_backend_is_listed_not_passed(tmp_path, monkeypatch, capsys):
    # CuPy as if not installed (a None in sys.modules would trip array-api-compat's
    # cached type checks, which look modules up there)
    monkeypatch.setitem(TABLE, "cupy", TABLE["cupy"]._replace(module="portnet_tests_no_cupy"))
    argv = ["--backends", "numpy,cupy", "--configs", "regression", "--dtypes", "float64"]
    assert agreement.main([*argv, "--out", str(tmp_path)]) == agreement.NOTHING_COMPARED == 77
    out = capsys.readouterr().out
    assert "not run (not installed or unavailable, not counted as passed): cupy" in out
    assert "no backend was compared with NumPy: exit status 77" in out
    assert "rows agree" not in out
    rows = json.loads((tmp_path / "agreement.json").read_text())["rows"]
    (cupy,) = [r for r in rows if r["backend"] == "cupy"]
    assert cupy["status"] == "not installed"
    assert "pip install 'portnet[cupy]'" in cupy["detail"]


def test_tf32_rows_run_only_on_a_gpu(backend, tmp_path, capsys):
    """``--precision tf32`` off a GPU: every float32 row "unavailable", saying why, every
    float64 row "not comparable" (TF32 is a float32 mode), nothing counted as agreeing."""
    if backend == "numpy":
        pytest.skip("NumPy is the IEEE reference of every mode")
    if on_gpu(resolve_backend(backend)):
        pytest.skip(f"{backend}'s default device is a GPU here: its TF32 rows run")
    argv = ["--backends", f"numpy,{backend}", "--configs", "planar-tanh", "--precision", "tf32"]
    assert agreement.main([*argv, "--out", str(tmp_path)]) == agreement.NOTHING_COMPARED
    assert "no backend was compared with NumPy" in capsys.readouterr().out
    report = json.loads((tmp_path / "agreement.json").read_text())
    rows = {(r["backend"], r["dtype"]): r for r in report["rows"]}
    assert rows[backend, "float32"]["status"] == "unavailable"
    assert "precision='tf32' needs a CUDA GPU" in rows[backend, "float32"]["detail"]
    assert rows[backend, "float64"]["status"] == "not comparable"
    assert rows[backend, "float32"]["precision"] == "tf32"
    assert rows["numpy", "float32"]["precision"] == "highest"  # the reference stays IEEE
    assert report["tolerance_after_100_steps"]["tf32"] == agreement.TF32_TOLERANCE


def test_disagreement_fails_the_report(tmp_path, monkeypatch, capsys):
    """A backend whose parameters are off by one part in a million is caught, exit code 1."""
    original = agreement._train

    def off_by_a_little(backend, device, dtype, config, precision="highest"):
        run = original("numpy", device, dtype, config, precision)
        if backend != "numpy":
            run.params[100] = tuple(
                tuple(p * (1 + 1e-6) for p in layer) for layer in run.params[100]
            )
        return run

    monkeypatch.setattr(agreement, "_train", off_by_a_little)
    monkeypatch.setattr(agreement, "_availability", lambda backend, gpu: (None, None))
    argv = ["--backends", "numpy,cupy", "--configs", "planar-tanh"]  # "cupy": NumPy, perturbed
    assert agreement.main([*argv, "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "2 disagreement(s)" not in out  # float32 tolerates 1e-6, float64 does not
    assert "1 disagreement(s)" in out
    rows = json.loads((tmp_path / "agreement.json").read_text())["rows"]
    (failed,) = [r for r in rows if r["status"] == "FAIL"]
    assert failed["dtype"] == "float64"
    assert failed["detail"].startswith("params@100 = 1.00e-06 > 1e-12")


def test_relative_difference_over_all_parameters_together():
    a = ((np.array([[1.0, 2.0]]), np.array([0.0])), (np.array([[4.0]]), np.array([1e-9])))
    b = ((np.array([[1.0, 2.0]]), np.array([0.0])), (np.array([[4.0]]), np.array([2e-9])))
    # the near-zero bias differs by 100 %, but relative to ‖θ‖∞ = 4 that is 2.5e-10
    assert agreement.relative_difference(b, a) == pytest.approx(1e-9 / 4)


def test_unknown_names_are_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        agreement.main(["--backends", "numpy,tensorflow"])
    assert exc.value.code == 2
    assert "unknown backends ['tensorflow']" in capsys.readouterr().err
