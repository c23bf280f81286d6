"""The offline GPU check (benchmarks/gpu_check.py, gpu_check.sh) and the self-test, on a
machine without a GPU: the steps that need one skipped, saying why; the rest run."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

import portnet
from portnet import selftest

from .conftest import needs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def check(benchmarks):
    return benchmarks("gpu_check")


def _no_gpu_here(check) -> None:
    reasons = check.gpu_reasons(check.environment())
    if any(why is None for why in reasons.values()):
        pytest.skip(f"a GPU is usable here ({reasons}): the GPU steps would run")


def test_dry_run_without_a_gpu_skips_the_gpu_steps_saying_why(check, tmp_path, capsys):
    _no_gpu_here(check)
    out = tmp_path / "check"
    assert check.main(["--out", str(out), "--budget", "240"]) == 0
    printed = capsys.readouterr().out
    record = json.loads((out / "summary.json").read_text())
    status = {o["name"]: o for o in record["outcomes"]}
    assert [o["name"] for o in record["outcomes"]] == [s.name for s in check.steps(out, 1)]
    assert status["machine"]["status"] == status["backends"]["status"] == "ok"
    for name in ("cli-cupy", "cli-torch", "cli-jax", "selftest", "agreement", "tests", "bench"):
        assert status[name]["status"] == "skipped", status[name]
        assert status[name]["detail"].startswith("no usable GPU (")
    assert "; torch: " in status["tests"]["detail"]  # each library's reason
    assert record["failed"] == []
    machine = json.loads((out / "machine.json").read_text())
    assert "numpy" in machine["versions"]
    assert "numpy:" in (out / "backends.log").read_text()  # `portnet backends` ran
    summary = (out / "summary.md").read_text()
    assert "| tests | skipped | 0 | no usable GPU (" in summary
    assert "not counted as passed" in summary
    assert printed.rstrip().endswith(summary.rpartition("\n\n")[2].strip())  # printed last


@needs("jax")
def test_rehearsal_runs_the_gpu_steps_commands_on_the_cpu(check, tmp_path, capsys):
    """``--rehearse``: the commands of the GPU steps as they would run there, on JAX's CPU
    device (their options, outputs and digests checked before the one GPU call)."""
    out = tmp_path / "rehearsal"
    argv = ["--rehearse", "--steps", "cli-jax,agreement,tests", "--workers", "1"]
    assert check.main([*argv, "--out", str(out)]) == 0
    assert "## REHEARSAL on the CPU (not a GPU run)" in capsys.readouterr().out
    record = json.loads((out / "summary.json").read_text())
    assert record["rehearsal"] is True
    found = {o["name"]: o for o in record["outcomes"]}
    assert {o["status"] for o in found.values()} == {"ok"}
    assert found["cli-jax"]["detail"].startswith("training accuracy: 0.8925; accuracy on ")
    assert "jax: 2 pass" in found["agreement"]["detail"]
    assert " 0 failed, 0 errors" in found["tests"]["detail"]
    assert (out / "summary.md").read_text().startswith("# REHEARSAL on the CPU")


def test_a_step_past_its_limit_is_killed_with_its_children(check, tmp_path):
    child = "[sys.executable, '-c', 'import time; time.sleep(60)']"
    sleeper = [sys.executable, "-c", f"import subprocess, sys, time; subprocess.Popen({child}); "
               "time.sleep(60)"]  # fmt: skip
    step = check.Step("slow", [sleeper], limit=2)
    start = time.monotonic()
    outcome = check.run_step(step, tmp_path, dict(os.environ), 2)
    assert outcome.status == "timeout"
    assert time.monotonic() - start < 20
    assert "past 2 s" in outcome.detail


def test_step_outcomes_follow_exit_statuses(check, tmp_path):
    def step(code: int) -> object:
        command = [sys.executable, "-c", f"print('said {code}'); raise SystemExit({code})"]
        return check.Step(f"exit{code}", [command, [sys.executable, "-c", "print('second')"]], 30)

    env = dict(os.environ)
    assert check.run_step(step(0), tmp_path, env, 30).status == "ok"
    assert "second" in (tmp_path / "exit0.log").read_text()  # commands run in turn
    failed = check.run_step(step(3), tmp_path, env, 30)
    assert (failed.status, failed.detail) == ("FAIL", "exit 3: said 3")
    assert "second" not in (tmp_path / "exit3.log").read_text()  # a failing one stops it
    assert check.run_step(step(77), tmp_path, env, 30).status == "skipped"


def test_the_tests_digest_counts_the_junit_file(check, tmp_path):
    (tmp_path / "tests.xml").write_text(
        '<testsuites><testsuite tests="5" failures="1" errors="0" skipped="1">'
        '<testcase name="test_a[cupy-float32]"/><testcase name="test_b[torch-float64]"/>'
        '<testcase name="test_c[jax]"><failure/></testcase>'
        '<testcase name="test_d[torch]"><skipped/></testcase><testcase name="test_e"/>'
        "</testsuite></testsuites>"
    )
    assert check._tests_digest(tmp_path) == (
        "3 passed, 1 failed, 0 errors, 1 skipped (run, by backend named in the id: "
        "cupy 1, jax 1, torch 1)"
    )


def test_the_carried_wheels_are_pinned_as_the_backend_sessions_pin_them():
    def pins(name: str) -> dict[str, str]:
        lines = (ROOT / "backends" / name).read_text().splitlines()
        found = [line.split("==") for line in lines if "==" in line and not line.startswith("#")]
        return {k.split("[")[0].strip(): v.strip() for k, v in found}

    carried = pins("gpu-offline.txt")
    for name in ("numpy.txt", "array_api_strict.txt", "dask.txt"):
        for package, version in pins(name).items():
            if package in carried:
                assert carried[package] == version, (name, package)
    assert {"array-api-compat", "array-api-strict", "array-api-extra", "dask"} <= set(carried)


def test_gpu_check_sh_leaves_the_summary_and_one_archive(check, tmp_path):
    """The device call's command, as it runs there, on this GPU-less machine."""
    _no_gpu_here(check)
    out = tmp_path / "out"
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # python3: ours
    env = {**os.environ, "OUT": str(out), "PATH": path}
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--steps", "machine,tests"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(f"exit 0; {out}/summary.md, {out}/gpu-check.tar.gz")
    assert sorted(p.name for p in out.iterdir()) == [
        "gpu-check.tar.gz",
        "summary.json",
        "summary.md",
    ]
    with tarfile.open(out / "gpu-check.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"gpu-check/machine.json", "gpu-check/machine.log", "gpu-check/summary.md"} <= names
    record = json.loads((out / "summary.json").read_text())
    assert [(o["name"], o["status"]) for o in record["outcomes"]] == [
        ("machine", "ok"),
        ("tests", "skipped"),
    ]


# -- the self-test -----------------------------------------------------------------------------
def test_selftest_with_gpu_and_none_here_checks_nothing_and_says_so(capsys, tmp_path):
    from portnet._backend import gpu_status

    usable = []
    for name in ("cupy", "jax", "torch"):
        with contextlib.suppress(ImportError):
            usable += [name] if gpu_status(name) is None else []
    if usable:
        pytest.skip(f"a GPU is usable here ({usable})")
    assert selftest.main(["--gpu", "--json", str(tmp_path / "s.json")]) == selftest.SKIPPED
    out = capsys.readouterr().out
    assert "| torch | not run: " in out
    assert out.rstrip().endswith("nothing was checked")
    assert json.loads((tmp_path / "s.json").read_text())["verdict"] == "nothing was checked"


@needs("torch")
def test_selftest_on_the_cpu_passes_and_reports(capsys, monkeypatch):
    monkeypatch.setattr(selftest, "SPEED_M", 256)
    assert selftest.main(["--backends", "torch"]) == 0
    out = capsys.readouterr().out
    assert "| torch | cpu | pass: 4 rows within tolerance" in out
    assert "no library guard here: portnet's reads counted; 3 more reads" in out
    assert "| numpy |" in out  # the speed table's CPU baseline
    assert out.rstrip().endswith("all 2 passed")


@needs("torch")
def test_selftest_catches_a_read_between_log_points(monkeypatch):
    """A step that reads from the device (as a host sync would) fails the check."""
    original = portnet._loop.advance

    def reading(carry, X, Y, **kwargs):
        carry, J = original(carry, X, Y, **kwargs)
        portnet._backend.Backend.read(resolve("torch"), carry[0][0].W[0, 0])
        return carry, J

    def resolve(name):
        return portnet._backend.resolve_backend(name)

    monkeypatch.setattr(portnet._loop, "advance", reading)
    found = selftest._no_host_sync("torch", None)
    assert not found["passed"]
    assert "; 303 more reads for 300 more steps (3 due)" in found["detail"]  # one a step
