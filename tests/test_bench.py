"""The benchmark's quick mode works (its figures are printed, never asserted as speeds)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = importlib.import_module("bench")
    yield module
    for name in ("bench", "contenders", "seeds_reference"):
        sys.modules.pop(name, None)


#: each backend's benchmark run: portnet on it, the hand-written loop and that library's peers
PEERS_OF = {
    "numpy": ("sklearn", "sklearn-partial_fit"),
    "jax": ("jax-grad",),
    "torch": ("torch-nn",),
}


@pytest.mark.parametrize("backend", list(PEERS_OF), indirect=True)
def test_quick_benchmark_runs_and_reports(backend, bench, tmp_path, capsys):
    names = ["seeds-numpy", f"portnet-{backend}", *PEERS_OF[backend]]
    if backend != "numpy":
        names.append("portnet-numpy")  # the planar run's goals compare with it
    argv = ["--quick", "--contenders", ",".join(names), "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "## goals" in out
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["quick"] is True
    sizes = {r["size"] for r in report["results"]}
    assert {"2-4-1 (planar)", "64-32-1"} <= sizes
    for result in report["results"]:
        rows = {r["contender"]: r for r in result["rows"]}
        assert rows["seeds-numpy"]["ratio"] == pytest.approx(1.0)
        assert rows["portnet-numpy"]["step_s"] > 0
        assert rows[f"portnet-{backend}"]["step_s"] > 0  # installed here: timed, not missing
        for row in rows.values():
            if "missing" in row:  # listed with the reason, never with figures
                assert "step_s" not in row
                assert row["missing"]
            else:
                assert row["samples_per_s"] > 0
                assert row["gflops"] > 0
    planar = {r["contender"] for r in report["planar_run"]["float32"]}
    assert {"portnet-numpy", f"portnet-{backend}"} <= planar
    for goal in report["goals"]:  # each with its rounds' spread
        assert goal["rounds_low"] <= goal["rounds_high"]
        assert goal["clear"] in (True, False)
    markdown = (tmp_path / "bench.md").read_text()
    assert "| contender | time / step | × seeds loop |" in markdown
    assert report["blas"] in markdown  # which kernels ran NumPy's products


def test_a_goal_is_clear_only_when_every_round_agrees(bench):
    def at_most_one(v):
        return v <= 1.0

    clear = bench.Check("x ≤ 1", 0.9, 0.85, 0.95, at_most_one)
    noisy = bench.Check("x ≤ 1", 0.97, 0.9, 1.04, at_most_one)
    missed = bench.Check("x ≤ 1", 1.1, 1.02, 1.2, at_most_one)
    assert (clear.met, clear.clear) == (True, True)
    assert (noisy.met, noisy.clear) == (True, False)
    assert (missed.met, missed.clear) == (False, True)
    assert "within this machine's noise" in noisy.line()
    assert "noise" not in clear.line()
    summary = bench._summary([clear, noisy, missed])
    assert summary.startswith("2 met (1 in every round), 1 missed (1 in every round)")


def test_flop_count(bench):
    # 2-4-1 on m samples: forward 2m(2·4 + 4·1), dW the same, dA of the hidden layer 2m·4·1
    assert bench.flops((2, 4, 1), 10) == 2 * 10 * 12 * 2 + 2 * 10 * 4


def test_the_report_names_numpys_blas_as_numpy_was_built_with_it(bench):
    pytest.importorskip("threadpoolctl")
    import numpy as np

    text, _ = bench._blas()
    built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    assert text.startswith("NumPy's BLAS ")
    # the library threadpoolctl found loaded is the one NumPy says it was built with
    assert text.split()[2] in built  # 'openblas' in 'scipy-openblas', for instance


ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx fma avx2

processor\t: 1
model name\t: another CPU
"""


@pytest.mark.parametrize(
    ("extra_flags", "simd"),
    [("", "AVX2, no AVX-512"), (" avx512f avx512bw", "AVX-512"), (None, "no AVX2")],
)
def test_the_report_names_the_cpu(bench, extra_flags, simd):
    text = ZEN3 if extra_flags is not None else ZEN3.replace(" avx2", "")
    if extra_flags:
        text = text.replace("avx2\n", f"avx2{extra_flags}\n", 1)
    info = bench._cpuinfo(text)
    assert info["model name"] == "AMD EPYC"  # the first processor's block only
    cpu = bench._cpu(info)
    assert cpu.startswith(f"CPU AMD EPYC (family 25, model 1), {simd}, ")
    assert cpu.endswith(" CPUs")


def test_the_report_names_the_cpu_without_proc_cpuinfo(bench):
    assert bench._cpu({}).startswith("CPU ")


def _fake_blas(architecture):
    return [
        {"user_api": "openmp", "internal_api": "openmp", "filepath": "/t/torch/lib/libgomp.so",
         "version": None, "num_threads": 2},
        {"user_api": "blas", "internal_api": "openblas", "version": "0.3.31",
         "architecture": architecture, "num_threads": 2,
         "filepath": "/venv/site-packages/numpy.libs/libscipy_openblas64_.so"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("architecture", "coretype", "flags", "warned"),
    [
        ("Haswell", "Haswell", {"avx2", "avx512f"}, "OPENBLAS_CORETYPE=Haswell asks for them"),
        ("Haswell", None, {"avx2", "avx512f"}, "its detection chose them"),
        ("Zen", None, {"avx2", "avx512f"}, "its detection chose them"),
        ("SkylakeX", None, {"avx2", "avx512f"}, None),
        ("Cooperlake", "Cooperlake", {"avx2", "avx512f"}, None),
        ("Haswell", "Haswell", {"avx2"}, None),  # no AVX-512: Haswell's kernels are the best
    ],
)
def test_avx2_kernels_on_an_avx512_cpu_are_pointed_out(
    bench, monkeypatch, architecture, coretype, flags, warned
):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: _fake_blas(architecture))
    if coretype is None:
        monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_CORETYPE", coretype)
    text, warning = bench._blas(cpu_flags=flags)
    assert text.startswith(f"NumPy's BLAS openblas 0.3.31, {architecture} kernels")
    assert ("OPENBLAS_CORETYPE=" in text) == (coretype is not None)
    if warned is None:
        assert warning is None
    else:
        assert warned in warning
        assert "OPENBLAS_CORETYPE=SkylakeX" in warning


@pytest.mark.parametrize(
    ("t_k0", "t_k0_2", "expected"),
    [
        (0.001, 0.021, 50),  # small set-up: the 0.5 s target decides (0.01 s steps)
        (0.6, 1.8, 8),  # scikit-learn's fit at 256-256-1: steps outweigh the set-up 8 times
        (5.0, 7.0, 15),  # ... for at most 15 s a timing
        (0.0, 1e-9, 5000),  # at most 5000 steps
        (0.0, 2.0, 2),  # at least 2
        (1.0, 0.9, 285),  # noise ate the difference: steps taken as 0.9/32 s, not 0 or less
    ],
)
def test_steps_per_timing_outweigh_the_set_up(bench, t_k0, t_k0_2, expected):
    assert bench.steps_per_timing(t_k0, t_k0_2, 0.5) == expected


def test_sizes_choose_the_nets_and_unknown_ones_are_refused(bench, tmp_path, capsys):
    args = ["--quick", "--no-sweep", "--contenders", "portnet-numpy", "--out", str(tmp_path)]
    assert bench.main([*args, "--sizes", "64-32-1"]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert [r["size"] for r in report["results"]] == ["64-32-1"]
    with pytest.raises(SystemExit):
        bench.main([*args, "--sizes", "3-3-3"])
    assert "unknown sizes ['3-3-3']" in capsys.readouterr().err


def test_peak_memory_sees_a_freed_array_and_runs_nothing_beside_the_timing(bench):
    """``PeakMemory`` reports the peak above its entry level (the kernel's high-water mark,
    reset at entry), an array freed before the exit included, and starts no thread."""
    import threading

    import numpy as np

    threads = threading.active_count()
    with bench.PeakMemory() as mem:
        assert threading.active_count() == threads
        a = np.ones((64, 2**17))  # 64 MiB, touched
        del a
    assert 60 <= mem.added <= 80, mem.added
    with bench.PeakMemory() as mem:  # reset at entry: the last peak is forgotten
        np.ones(8)
    assert mem.added < 8, mem.added


def test_no_contender_is_timed_right_after_another(bench, monkeypatch):
    """Between two contenders' timings there is a pause (``--settle``): worker threads the
    previous one left spinning (OpenBLAS's, OpenMP's) would otherwise slow the next one."""
    calls = []

    class Fake:
        def __init__(self, name):
            self.name = name

        def run(self, steps):
            calls.append(self.name)

        def matmuls(self):
            return lambda: calls.append(self.name)

    monkeypatch.setattr(bench.contenders, "make", lambda name, *args: Fake(name))
    monkeypatch.setattr(bench, "_settle", lambda: calls.append("pause"))
    names = ["seeds-numpy", "portnet-numpy", "torch-nn"]
    bench.measure((3, 2, 1), 8, "float32", names, rounds=3, target=0.0)
    timed = calls[calls.index("pause") :]  # after the warm-up
    previous = None
    for call in timed:
        if call == "pause":
            previous = None
        else:
            assert previous in (None, call), f"{call} ran right after {previous}: {timed}"
            previous = call
    # a pause before each round's untimed call and timing of each contender, before its
    # products' warm-up and before each round of its products
    assert timed.count("pause") == len(names) * (2 * 3 + 1 + 3)


def test_the_planar_run_takes_its_own_rounds(bench, tmp_path, capsys):
    args = ["--quick", "--no-sweep", "--sizes", "none", "--contenders", "portnet-numpy"]
    assert bench.main([*args, "--planar-rounds", "3", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert (report["rounds"], report["planar_rounds"]) == (2, 3)
    assert all(len(r["run_rounds"]) == 3 for r in report["planar_run"]["float32"])
    with pytest.raises(SystemExit):
        bench.main([*args, "--planar-rounds", "0"])
    assert "--planar-rounds must be >= 1, got 0" in capsys.readouterr().err


def test_settle_must_not_be_negative(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--settle", "-1"])
    assert "--settle must be >= 0 seconds, got -1.0" in capsys.readouterr().err
