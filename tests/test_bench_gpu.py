"""The GPU benchmark's plumbing, on the CPU: its skip without a GPU, its dry run end to end,
its budget, its memory readers with stand-ins, the TF32 switches and the multiclass peers
(its figures are printed, never asserted as speeds)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types

import numpy as np
import pytest

from .conftest import needs, needs_one_of


@pytest.fixture
def bench_gpu(benchmarks):
    return benchmarks("bench_gpu")


def _installed(name):
    return importlib.util.find_spec(name) is not None


def test_without_a_gpu_it_times_nothing_and_exits_skipped(bench_gpu, tmp_path, capsys):
    """No usable CUDA GPU: nothing timed, the reason for each library said, status 77."""
    if any(why is None for why in bench_gpu.gpu_libraries().values()):
        pytest.skip("a CUDA GPU is usable here: the GPU benchmark would run")
    assert bench_gpu.main(["--out", str(tmp_path / "gpu")]) == bench_gpu.SKIPPED == 77
    err = capsys.readouterr().err
    assert "bench_gpu.py: SKIPPED (exit status 77), no usable CUDA GPU" in err
    for library in ("cupy:", "jax:", "torch:"):
        assert library in err
    assert not (tmp_path / "gpu").exists()


# the dry run times the GPU libraries' CPU stand-ins: torch's or JAX's CPU device, one at least
@needs_one_of("torch", "jax")
def test_the_cpu_dry_run_runs_the_whole_pipeline(bench_gpu, tmp_path, capsys, monkeypatch):
    """``--cpu-dry-run``: every net timed on the CPU with the contenders installed here,
    labelled as a dry run, the goals checked, the report written, and the last sweep batch
    (predicted, here, not to fit in the budget) skipped loudly and recorded."""
    last = bench_gpu.TINY_NETS.sweep[-1]
    estimate = bench_gpu.estimate

    def over_budget_for_the_last(name, net, *args, **kwargs):
        return 1e9 if net == last else estimate(name, net, *args, **kwargs)

    monkeypatch.setattr(bench_gpu, "estimate", over_budget_for_the_last)
    args = ["--cpu-dry-run", "--rounds", "1", "--out", str(tmp_path)]
    assert bench_gpu.main(args) == 0
    out = capsys.readouterr().out
    assert bench_gpu.DRY_RUN_LABEL in out
    assert "## goals (CPU dry run: not GPU figures)" in out
    assert f"## {last.name} [highest]: SKIPPED, predicted ~" in out
    report = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert report["dry_run"] is True
    assert report["label"] == bench_gpu.DRY_RUN_LABEL
    assert report["summary"].startswith("CPU DRY RUN, not GPU figures: ")
    assert report["precisions"] == ["highest"]
    assert report["precision_skipped"] == {"tf32": "skipped, needs a CUDA GPU"}
    assert report["complete"] is True
    assert [s["unit"] for s in report["skipped"]] == [f"{last.name} [highest]"]
    assert report["failed"] == []
    nets = bench_gpu.TINY_NETS
    assert [r["net"] for r in report["results"]] == [
        n.name for n in (nets.wide, nets.deep, *nets.sweep[:-1])
    ]
    ran = ["portnet-numpy"]
    ran += ["portnet-torch", "torch-nn"] if _installed("torch") else []
    ran += ["portnet-jax", "jax-grad"] if _installed("jax") else []
    planar = {r["contender"]: r for r in report["planar_run"]["highest"]}
    assert {n for n in ran if n.startswith("portnet-")} <= set(planar)
    assert "CuPy runs on CUDA GPUs only" in planar["portnet-cupy"]["missing"]
    for result in report["results"]:
        rows = {r["contender"]: r for r in result["rows"]}
        assert "CuPy runs on CUDA GPUs only" in rows["portnet-cupy"]["missing"]
        for name in ran:  # the deep net's 10 outputs (softmax) included
            row = rows[name]
            assert row["step_s"] > 0
            assert row["samples_per_s"] > 0
            assert row["tflops"] > 0
            assert row["peak_fraction"] is None  # not on a GPU: no fraction of a GPU's peak
            assert row["rounds"] == len(row["step_rounds"]) == 1
            assert (row["step_over_matmul"] is not None) == name.startswith("portnet-")
    goals = report["goals"]
    assert all(g["rounds_low"] <= g["rounds_high"] for g in goals)
    if len(ran) > 1:  # portnet on JAX or torch: the nets' goals (NumPy's are the planar run's)
        assert any("samples/s" in g["goal"] for g in goals)
    markdown = (tmp_path / "bench_gpu.md").read_text()
    assert bench_gpu.DRY_RUN_LABEL in markdown
    assert "| contender | device | time / step | samples/s | TFLOP/s |" in markdown
    assert f"{last.name} [highest]: **skipped**, predicted ~" in markdown
    assert "## goals" in markdown
    if _installed("matplotlib"):
        assert (tmp_path / "bench_gpu-throughput-float32-highest.png").is_file()


@needs_one_of("torch", "jax")
def test_a_budget_too_small_for_anything_skips_everything_saying_so(bench_gpu, tmp_path, capsys):
    assert bench_gpu.main(["--cpu-dry-run", "--budget", "6", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count(": SKIPPED, predicted ~") == 6
    report = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert len(report["skipped"]) == len(report["plan"]) == 6
    assert all("left of the 6 s budget" in s["why"] for s in report["skipped"])
    assert report["results"] == []
    assert report["planar_run"] == {}


def test_the_plan_runs_what_matters_first(bench_gpu):
    units = bench_gpu.plan(bench_gpu.GPU_NETS, ["highest", "tf32"], 2**22)
    names = [u.name for u in units]
    assert names[:5] == [
        "2-4-1 (planar) [highest]",
        "784-1024-1 [highest]",
        "784-1024-1 [tf32]",
        "784-4096-4096-10 [highest]",
        "784-4096-4096-10 [tf32]",
    ]
    sweep = [u.net.m for u in units if u.net.role == "sweep"]
    assert sweep == sorted(sweep)
    assert sweep[0] == 2**10
    assert sweep[-1] == 2**22
    assert names[-1] == "2-4-1 (planar) [tf32]"
    assert len(bench_gpu.plan(bench_gpu.GPU_NETS, ["highest"], 2**16)) == 1 + 2 + 4


def test_estimates_grow_with_the_work_and_the_cpu_baseline_is_capped(bench_gpu):
    wide, deep = bench_gpu.GPU_NETS.wide, bench_gpu.GPU_NETS.deep
    seen = {}
    first = bench_gpu.estimate("portnet-numpy", wide, seen, rounds=3, target=0.1)
    assert first > 0
    costs = {"build": 0.1, "setup": 0.005, "compile": 0.5, "step": 0.02, "round": 0.5}
    bench_gpu.remember(seen, wide, {"portnet-numpy": costs})
    again = bench_gpu.estimate("portnet-numpy", wide, seen, rounds=3, target=0.1)
    larger = bench_gpu.estimate("portnet-numpy", deep, seen, rounds=3, target=0.1)
    assert again < larger
    deep_costs = {**costs, "step": 5.0, "setup": 2.0, "round": 20.0}
    bench_gpu.remember(seen, deep, {"portnet-numpy": deep_costs})
    small = bench_gpu.GPU_NETS.sweep[0]  # smaller than both: costed as the smaller, wide
    assert bench_gpu.estimate("portnet-numpy", small, seen, rounds=3, target=0.1) == again
    unit = bench_gpu.Unit(deep, "highest")
    kept, dropped, _ = bench_gpu.choose(unit, ["portnet-numpy"], seen, 200.0, rounds=3, target=0.1)
    assert kept == []
    assert "more than the baseline's 20 s on one net" in dropped["portnet-numpy"]
    unit = bench_gpu.Unit(wide, "tf32")
    kept, dropped, _ = bench_gpu.choose(unit, ["portnet-numpy"], {}, 200.0, rounds=3, target=0.1)
    assert kept == []
    assert "not run in tf32" in dropped["portnet-numpy"]


def test_the_deep_nets_labels_are_every_class_and_large_batches_repeat_rows(bench_gpu):
    net = bench_gpu.Net("deep", (12, 8, 10), bench_gpu.DATA_ROWS * 2)
    X, y, params = bench_gpu.problem(net)
    assert X.dtype == np.float32
    assert X.shape == (net.m, 12)
    assert set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(X[: bench_gpu.DATA_ROWS], X[bench_gpu.DATA_ROWS :])
    assert [W.shape for W, _ in params] == [(8, 12), (10, 8)]


def test_the_gpu_memory_readers_with_stand_ins(bench_gpu, monkeypatch):
    """CuPy's pool (unused blocks freed at entry, bytes held at exit), torch's peak since its
    reset, JAX's peak since start (and how much a timing raised it)."""
    pool = types.SimpleNamespace(freed=0, used=2**20, total=3 * 2**20)
    pool.free_all_blocks = lambda: setattr(pool, "freed", pool.freed + 1)
    pool.used_bytes, pool.total_bytes = (lambda: pool.used), (lambda: pool.total)
    fake_cupy = types.SimpleNamespace(get_default_memory_pool=lambda: pool)
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    with bench_gpu.CupyMemory() as reader:
        pool.total = 5 * 2**20
    assert pool.freed == 1
    assert reader.figures() == {"gpu_peak_mb": 5.0, "gpu_base_mb": 1.0}

    calls = []
    cuda = types.SimpleNamespace(
        synchronize=lambda d: calls.append("sync"),
        empty_cache=lambda: calls.append("empty"),
        reset_peak_memory_stats=lambda d: calls.append("reset"),
        memory_allocated=lambda d: 2**21,
        max_memory_allocated=lambda d: 2**23,
    )
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    with bench_gpu.TorchMemory() as reader:
        pass
    assert calls == ["sync", "empty", "reset"]
    assert reader.figures() == {"gpu_peak_mb": 8.0, "gpu_base_mb": 2.0}

    stats = iter(
        [{"bytes_in_use": 2**20, "peak_bytes_in_use": 2**22}, {"peak_bytes_in_use": 6 * 2**20}]
    )
    device = types.SimpleNamespace(memory_stats=lambda: next(stats))
    with bench_gpu.JaxMemory(device) as reader:
        pass
    assert reader.figures() == {"gpu_peak_mb": 6.0, "gpu_base_mb": 1.0, "gpu_peak_raised_mb": 2.0}
    cpu = types.SimpleNamespace(memory_stats=lambda: None)  # JAX's CPU keeps no statistics
    with bench_gpu.JaxMemory(cpu) as reader:
        pass
    assert reader.figures()["gpu_peak_mb"] is None


@needs("torch")
def test_the_torch_tf32_switch_is_put_back(bench_gpu):
    import torch

    matmul = torch.backends.cuda.matmul
    attribute = "fp32_precision" if hasattr(matmul, "fp32_precision") else "allow_tf32"
    before = getattr(matmul, attribute)
    with bench_gpu.contenders.torch_precision("tf32"):
        assert getattr(matmul, attribute) in ("tf32", True)
    assert getattr(matmul, attribute) == before
    with pytest.raises(KeyError), bench_gpu.contenders.torch_precision("tf32"):
        raise KeyError("inside")
    assert getattr(matmul, attribute) == before
    with bench_gpu.contenders.torch_precision("highest"):
        assert getattr(matmul, attribute) in ("ieee", False)
    assert getattr(matmul, attribute) == before


@needs("jax")
def test_the_jax_precision_switch_is_put_back(bench_gpu):
    import jax

    before = jax.config.jax_default_matmul_precision
    with bench_gpu.contenders.jax_precision("tf32"):
        assert jax.config.jax_default_matmul_precision == "tensorfloat32"
    with bench_gpu.contenders.jax_precision("highest"):  # JAX's GPU default is TF32
        assert jax.config.jax_default_matmul_precision == "highest"
    assert jax.config.jax_default_matmul_precision == before


@pytest.mark.parametrize(
    ("peer", "backend"),
    [("torch-nn", "torch"), ("jax-grad", "jax")],  # needed as the test's backend parameter
)
@pytest.mark.parametrize("outputs", [10, 1])
def test_the_peers_and_portnet_agree_on_the_first_loss(bench_gpu, peer, backend, outputs):
    """The same net, data and parameters: the same starting loss (softmax and categorical
    cross-entropy for 10 outputs, sigmoid and binary cross-entropy for 1), and one step on."""
    make = bench_gpu.contenders.make
    net = bench_gpu.Net("deep", (12, 16, 16, outputs), 256)
    X, y, params = bench_gpu.problem(net)
    reference = make("portnet-numpy", X, y, params, "float32", 0.1).cost()
    assert make(f"portnet-{backend}", X, y, params, "float32", 0.1).cost() == pytest.approx(
        reference, rel=1e-5
    )
    them = make(peer, X, y, params, "float32", 0.1, precision="highest")
    assert them.cost() == pytest.approx(reference, rel=1e-5)
    assert reference == pytest.approx(np.log(outputs) if outputs > 1 else np.log(2), rel=0.5)
    ours = bench_gpu.contenders.Portnet("numpy", X, y, params, "float32", 0.1)
    after = ours.run(1).history.cost[-1]
    them.run(1)
    if peer == "torch-nn":  # its parameters moved by the step (jax-grad's restart each run)
        assert them.cost() == pytest.approx(after, rel=1e-4)


@pytest.mark.backends("cupy", "jax", "torch")
def test_the_tiny_gpu_run_times_every_gpu_library(bench_gpu, tmp_path):
    """On a GPU machine: ``--tiny`` times each usable library's contenders on its GPU, with
    their peak GPU memory (skipped without a GPU)."""
    libraries = bench_gpu.gpu_libraries()
    usable = [name for name, why in libraries.items() if why is None]
    if not usable:
        pytest.skip(f"no usable CUDA GPU: {libraries}")
    args = ["--tiny", "--rounds", "1", "--budget", "150", "--out", str(tmp_path)]
    assert bench_gpu.main(args) == 0
    report = json.loads((tmp_path / "bench_gpu.json").read_text())
    assert report["dry_run"] is False
    assert report["failed"] == []
    for result in report["results"]:
        rows = {r["contender"]: r for r in result["rows"]}
        for name, library in bench_gpu.CONTENDERS.items():
            if library in usable:
                assert rows[name]["step_s"] > 0, rows[name]
                assert rows[name]["peak_fraction"] > 0
                assert rows[name]["gpu_peak_mb"] is not None, rows[name]
