"""The benchmark's quick mode works (its figures are printed, never asserted as speeds)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest


@pytest.fixture
def bench(benchmarks):
    return benchmarks("bench")


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


def test_a_timing_noise_made_non_positive_is_taken_again(bench, monkeypatch):
    """A round whose k-step call ran no longer than its k₀-step call is timed again; one
    that never comes out positive is reported as such, never returned as a time."""
    durations = iter([2.0, 1.0, 1.5, 1.5, 1.0, 3.5])  # (t0, t1) pairs: -1, 0, then +2.5
    monkeypatch.setattr(bench, "_timed", lambda fn: next(durations))
    assert bench._time_steps(None, 1, 2) == 2.5
    calls = []
    monkeypatch.setattr(bench, "_timed", lambda fn: calls.append(fn) or 1.0)
    assert bench._time_steps(None, 1, 2) is None
    assert len(calls) == 2 * (1 + bench.RETIMES)


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
    # a pause before each round's untimed call and timing of each contender, and before
    # each round's warm-up and timing of its products (made afresh each round)
    assert timed.count("pause") == len(names) * (2 * 3 + 2 * 3)


def test_the_planar_run_takes_its_own_rounds(bench, tmp_path, capsys):
    args = ["--quick", "--no-sweep", "--sizes", "none", "--contenders", "portnet-numpy"]
    assert bench.main([*args, "--planar-rounds", "3", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert (report["rounds"], report["planar_rounds"]) == (2, 3)
    assert all(len(r["run_rounds"]) == 3 for r in report["planar_run"]["float32"])
    with pytest.raises(SystemExit):
        bench.main([*args, "--planar-rounds", "0"])
    assert "--planar-rounds must be >= 1, got 0" in capsys.readouterr().err


def test_the_planar_runs_come_first_and_the_sweeps_last(bench, tmp_path, monkeypatch):
    """Every dtype's planar run (the shortest timings) before any net, every net before any
    sweep batch (the largest, whose aftermath had slowed the float64 planar run after it)."""
    order = []
    planar_run, measure = bench.planar_run, bench.measure

    def recorded_planar(dtype, *args, **kwargs):
        order.append(("planar", dtype))
        return planar_run(dtype, *args, **kwargs)

    def recorded_measure(sizes, m, dtype, *args, **kwargs):
        order.append(("sweep" if "need" in kwargs else "net", dtype))
        return measure(sizes, m, dtype, *args, **kwargs)

    monkeypatch.setattr(bench, "planar_run", recorded_planar)
    monkeypatch.setattr(bench, "measure", recorded_measure)
    args = ["--quick", "--dtypes", "float32,float64", "--contenders", "portnet-numpy"]
    assert bench.main([*args, "--sizes", "64-32-1", "--out", str(tmp_path)]) == 0
    assert order == [
        ("planar", "float32"),
        ("planar", "float64"),
        ("net", "float32"),
        ("net", "float64"),
        *[("sweep", "float32")] * 2,  # m = 256, 1024
        *[("sweep", "float64")] * 2,
    ]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["planar_run"]) == {"float32", "float64"}
    assert len(report["results"]) == 6


def test_settle_must_not_be_negative(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--settle", "-1"])
    assert "--settle must be >= 0 seconds, got -1.0" in capsys.readouterr().err


def test_a_sweep_batch_runs_only_if_it_fits_in_memory(bench):
    gib = 2**30
    assert bench._too_big(2**20, None, 1) is None  # the first batch: nothing to go by
    assert bench._too_big(2**20, (2**18, gib), None) is None  # no /proc/meminfo: as asked
    assert bench._too_big(2**20, (2**18, gib), 6 * gib) is None  # 4 GiB of 6: fits
    why = bench._too_big(2**20, (2**18, 2 * gib), 9 * gib)  # 8 GiB of 9: over 80 %
    assert why == (
        "needs ~8.0 GiB (the m = 262144 batch took 2.00 GiB), only 9.0 GiB available "
        "(at most 80% of it is used)"
    )


def test_the_sweep_skips_loudly_what_memory_does_not_allow(bench, tmp_path, capsys, monkeypatch):
    """The sweep goes up to ``--max-m`` as memory allows: a batch predicted not to fit is
    skipped, said so on the terminal, in bench.json and in bench.md, and never timed."""
    monkeypatch.setattr(bench, "_available_bytes", lambda: 1)  # nothing fits after the first
    args = ["--quick", "--sizes", "none", "--contenders", "portnet-numpy", "--out", str(tmp_path)]
    assert bench.main(args) == 0
    out = capsys.readouterr().out
    assert "sweep m = 256: seeds-numpy " in out  # the first batch: timed
    assert "sweep m = 1024: SKIPPED, needs ~" in out
    report = json.loads((tmp_path / "bench.json").read_text())
    assert list(report["sweep_skipped"]["float32"]) == ["1024"]
    timed = {r["size"] for r in report["results"]}
    assert timed == {"sweep 256-256-1 m=256"}
    assert "Sweep m = 1024, float32: **skipped**, needs ~" in (tmp_path / "bench.md").read_text()


def test_the_goals_are_those_of_the_issue(bench):
    """Against the seeds' loop at the larger sizes; against the peers at every size, the
    planar net's one step included; step over products at 784-1024-1 float32."""

    def rows(contenders, products=()):
        return [
            {
                "contender": name,
                "step_rounds": [1.0, 1.0],
                **(
                    {"step_over_matmul": 1.1, "step_over_matmul_rounds": [1.1, 1.2]}
                    if name in products
                    else {}
                ),
            }
            for name in contenders
        ]

    everyone = [
        "seeds-numpy",
        "portnet-numpy",
        "portnet-jax",
        "portnet-torch",
        "sklearn",
        "torch-nn",
    ]
    results = {
        ("2-4-1 (planar)", "float32"): rows(everyone),
        ("784-1024-1", "float32"): rows(everyone, products=("portnet-numpy",)),
        ("sweep 256-256-1 m=256", "float32"): rows(everyone),
    }
    planar = {"float32": [{"contender": n, "run_rounds": [1.0]} for n in everyone[:3]]}
    texts = [c.goal for c in bench.goals(results, planar)]
    peers = [
        "portnet-numpy faster than sklearn",
        "portnet-numpy faster than torch-nn",
        "portnet-jax faster than sklearn",
        "portnet-jax faster than torch-nn",
        "portnet-torch faster than torch-nn",
    ]
    assert texts == [
        "planar 10 000-step run, NumPy ≤ 1.3× seeds loop (float32)",
        "planar 10 000-step run, JAX ≥ 5× faster than seeds loop (float32)",
        *(f"2-4-1 (planar) float32: {p}" for p in peers),
        "784-1024-1 float32: NumPy ≤ 0.95× seeds loop",
        "784-1024-1 float32: JAX ≤ 0.9× seeds loop",
        *(f"784-1024-1 float32: {p}" for p in peers),
        "784-1024-1 float32: portnet-numpy step ≤ 1.15× its products",
    ]


def test_an_earlier_run_is_reported_again_without_timing(bench, tmp_path, capsys, monkeypatch):
    """``--report bench.json`` re-checks a run's figures against the goals and writes its
    report again, timing nothing; a path that is not a file is refused."""
    first, again = tmp_path / "first", tmp_path / "again"
    names = "portnet-numpy,portnet-jax,sklearn"
    assert bench.main(["--quick", "--contenders", names, "--out", str(first)]) == 0
    capsys.readouterr()

    def no_timing(*args, **kwargs):
        raise AssertionError("--report timed something")

    monkeypatch.setattr(bench, "measure", no_timing)
    monkeypatch.setattr(bench, "planar_run", no_timing)
    assert bench.main(["--report", str(first / "bench.json"), "--out", str(again)]) == 0
    assert "## goals" in capsys.readouterr().out
    before, after = (json.loads((d / "bench.json").read_text()) for d in (first, again))
    assert after == before  # the same figures, goals, sweep and metadata
    assert (again / "bench.md").read_text() == (first / "bench.md").read_text()
    with pytest.raises(SystemExit):
        bench.main(["--report", str(tmp_path / "nothing.json")])
    assert "nothing.json is not a file" in capsys.readouterr().err


def test_the_gpu_benchmark_skips_loudly_without_a_gpu(bench, tmp_path, capsys):
    """``--gpu`` with no usable CUDA GPU times nothing, says why for each library, and exits
    with the "skipped" status (77), never 0: CPU figures must not pass for a GPU's."""
    reasons = bench._no_gpu()
    if reasons is None:
        pytest.skip("a CUDA GPU is usable here: the GPU benchmark would run")
    assert bench.main(["--gpu", "--quick", "--out", str(tmp_path / "gpu")]) == bench.SKIPPED == 77
    err = capsys.readouterr().err
    assert "bench.py --gpu: SKIPPED (exit status 77), no usable CUDA GPU" in err
    for library in ("cupy:", "jax:", "torch:"):
        assert library in err
    assert not (tmp_path / "gpu").exists()


def test_the_gpu_flag_runs_the_gpu_benchmark(bench, tmp_path, monkeypatch, capsys):
    """With a usable GPU, ``--gpu`` hands over to ``benchmarks/bench_gpu.py`` (its ``--out``,
    ``--rounds``, ``--settle``; ``--quick`` as its ``--tiny``) and returns its status."""
    import types

    calls = []
    fake = types.SimpleNamespace(main=lambda argv: calls.append(argv) or 5)
    monkeypatch.setitem(sys.modules, "bench_gpu", fake)
    monkeypatch.setattr(bench, "_no_gpu", lambda: None)
    argv = ["--gpu", "--quick", "--rounds", "2", "--settle", "0", "--out", str(tmp_path)]
    assert bench.main(argv) == 5
    assert calls == [["--out", str(tmp_path), "--rounds", "2", "--settle", "0.0", "--tiny"]]
    assert "bench.py --gpu: benchmarks/bench_gpu.py --out" in capsys.readouterr().out


def _sweep_rows(m, names, missing=()):
    """Rows of one sweep batch as ``measure`` makes them (what ``report`` formats)."""
    rows = []
    for k, name in enumerate(names):
        step = m * 10.0 ** (k - 7) * (1.2345 + k)  # from µs to s across contenders and m
        rows.append(
            {
                "contender": name,
                "step_s": step,
                "ratio": 1.0 + k,
                "samples_per_s": m / step,
                "gflops": 1.5,
                "step_over_matmul": None,
                "peak_mb": 12.0,
            }
        )
    return rows + [{"contender": name, "missing": "not installed here"} for name in missing]


def test_a_reports_sweep_reads_back_as_the_sweep_it_wrote(bench, tmp_path, capsys):
    """``sweeps_from_markdown`` reads the sweep of a report ``report`` wrote (bench.md)
    back into what ``plot`` and ``draw`` take, with the figures as the Markdown prints them;
    the site's throughput plot is drawn from docs/bench-this-machine.md so."""
    names = ["seeds-numpy", "portnet-numpy", "portnet-jax"]
    results = {("64-32-1", "float32"): _sweep_rows(2048, names)}  # not a sweep: left out
    for dtype, ms in (("float32", (256, 1024, 4096)), ("float64", (256,))):
        for m in ms:
            results[f"sweep 256-256-1 m={m}", dtype] = _sweep_rows(m, names, ["portnet-cupy"])
    meta = {
        "date": "today", "machine": "here", "versions": {}, "rounds": 1, "planar_rounds": 1,
        "settle_s": 0.0, "cpu": "CPU", "blas": "BLAS", "blas_warning": None,
    }  # fmt: skip
    skipped = {"float64": {1024: "needs more memory"}}
    bench.report(tmp_path, meta, {}, results, skipped)
    capsys.readouterr()
    read = bench.sweeps_from_markdown(tmp_path / "bench.md")
    assert {d: sorted(by_m) for d, by_m in read.items()} == {
        "float32": [256, 1024, 4096],
        "float64": [256],  # the skipped batch was never timed: no rows
    }
    for dtype, by_m in read.items():
        for m, rows in by_m.items():
            wrote = results[f"sweep 256-256-1 m={m}", dtype]
            assert [r["contender"] for r in rows] == [r["contender"] for r in wrote]
            for got, want in zip(rows, wrote, strict=True):
                if "missing" in want:
                    assert got == {"contender": want["contender"], "missing": want["missing"]}
                    continue
                assert bench._fmt_time(got["step_s"]) == bench._fmt_time(want["step_s"])
                assert f"{got['samples_per_s']:.3g}" == f"{want['samples_per_s']:.3g}"
    site = bench.sweeps_from_markdown(Path(__file__).parents[1] / "docs/bench-this-machine.md")
    assert sorted(site["float32"]) == [2**p for p in range(8, 21, 2)]
    figure = pytest.importorskip("matplotlib.figure")
    ax = figure.Figure().subplots()
    bench.draw(ax, site["float32"], dtype="float32")
    timed = {r["contender"] for r in site["float32"][2**20] if "step_s" in r}
    assert {line.get_label() for line in ax.get_lines()} == timed
    assert "portnet-numpy" in timed
    assert "portnet-cupy" not in timed  # not run: not drawn
