"""The one table of backends (portnet/backends/_table.py): every place that lists backends
reads it, the pin files and extras match it, and each installed backend's adapter is its own."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import portnet
from portnet import cli, selftest
from portnet.backends import BACKENDS, TABLE, _table, adapter, name_of
from portnet.ops import Ops

from .conftest import needs, on

ROOT = Path(__file__).resolve().parent.parent


def test_the_pin_files_match_the_table():
    assert _table.pin_problems(ROOT / "backends") == []


def test_a_missing_or_stray_pin_file_is_named(tmp_path):
    for name in [*TABLE, *_table.PIN_FILES]:
        (tmp_path / f"{name}.txt").write_text("")
    (tmp_path / "dask.txt").unlink()
    (tmp_path / "mxnet.txt").write_text("")
    assert _table.pin_problems(tmp_path) == [
        "backend 'dask' has no pin file dask.txt",
        "mxnet.txt is neither a backend of portnet/backends/_table.py nor one of PIN_FILES",
    ]


def test_every_extra_is_in_pyproject_and_documented_pins_exist():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for entry in TABLE.values():
        assert entry.extra is None or entry.extra in extras, entry
    readme = (ROOT / "backends" / "README.md").read_text()
    for name in [*TABLE, *_table.PIN_FILES]:
        assert f"{name}.txt" in readme


def test_the_table_runs_without_portnet():
    """The noxfile and the offline GPU check run it by its path, before portnet imports."""
    table = runpy.run_path(str(ROOT / "portnet" / "backends" / "_table.py"))
    assert tuple(table["TABLE"]) == BACKENDS
    assert set(table) >= {"TABLE", "pin_problems", "PIN_FILES"}


def test_everything_that_lists_backends_reads_the_table(benchmarks):
    assert portnet.BACKENDS == BACKENDS
    for name in BACKENDS:  # the command line takes every backend of the table, and no other
        assert cli._parser().parse_args(["train", "--backend", name]).backend == name
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["train", "--backend", "mxnet"])
    contenders = benchmarks("contenders")
    assert set(contenders.PORTNET_BACKENDS) == {n for n, e in TABLE.items() if e.timed}
    gpu = {n for n, e in TABLE.items() if e.gpu is not None}
    assert set(benchmarks("gpu_check").GPU_LIBRARIES) == gpu
    assert set(selftest.GPU_LIBRARIES) == gpu


def test_each_backend_has_its_adapter(backend):
    """Its adapter module's ADAPTER, holding its row; its namespace named by the table."""
    entry = TABLE[backend]
    found = adapter(backend)
    assert found.entry is entry
    assert type(found).__module__ == f"portnet.backends.{entry.adapter}"
    assert name_of(on(backend).xp) == backend
    assert sys.modules[entry.module] is not None


@needs("array_api_strict")
def test_an_unknown_namespace_runs_the_standard_way():
    """A namespace portnet does not know: the plain Ops and the standard's answers."""
    import array_api_strict

    class Other:  # a namespace of another name, computing with array-api-strict
        __name__ = "other_namespace"

        def __getattr__(self, name):
            return getattr(array_api_strict, name)

    assert name_of(Other()) is None
    assert type(adapter(None).ops(Other())) is Ops
    with pytest.raises(ValueError, match="cannot interpret device 'gpu'"):
        adapter(None).parse_device(Other(), "gpu")
