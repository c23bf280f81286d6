"""The one table of the array libraries portnet runs on.

Everything that lists backends reads it: :mod:`portnet` (``BACKENDS``, ``backend="..."``),
the command line, the agreement report, the self-test, the benchmarks, the tests and the
noxfile (which loads this file by its path, without importing portnet: nothing here
imports anything but the standard library).  Each backend's behaviour is its adapter,
``portnet/backends/<adapter>.py``; its pins are ``backends/<name>.txt``.  Adding a backend
is one row here, one adapter module, one pin file and one extra in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["BACKENDS", "PIN_FILES", "TABLE", "Entry", "pin_problems"]


class Entry(NamedTuple):
    """One array library.

    Attributes
    ----------
    name : str
        What ``backend=`` takes.
    module : str
        What must import for the backend to be installed (``dask.array``: dask's extra).
    namespace : str
        The array namespace portnet computes with (array-api-compat's wrapper where the
        library needs one).
    compat : str
        array-api-compat's name of the library: ``is_<compat>_namespace``,
        ``is_<compat>_array``.
    extra : str or None
        ``pip install 'portnet[<extra>]'`` installs it (None: a requirement of portnet).
    adapter : str
        Its module in :mod:`portnet.backends`.
    gpu : object
        Its first CUDA device as ``device=`` takes it; None where it has no GPU support.
    cpu : bool
        Whether it runs on a machine without a GPU (a ``tests(<name>)`` nox session, with
        ``backends/<name>.txt``).
    timed : bool
        Whether the batch benchmark times it (not the conformance check; Dask has a
        benchmark of its own, ``benchmarks/bench_dask.py``).
    """

    name: str
    module: str
    namespace: str
    compat: str
    extra: str | None
    adapter: str
    gpu: Any = None
    cpu: bool = True
    timed: bool = True


TABLE: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry("numpy", "numpy", "array_api_compat.numpy", "numpy", None, "numpy"),
        Entry("cupy", "cupy", "array_api_compat.cupy", "cupy", "cupy", "cupy", gpu=0, cpu=False),
        Entry("jax", "jax", "jax.numpy", "jax", "jax", "jax", gpu="gpu:0"),
        Entry("torch", "torch", "array_api_compat.torch", "torch", "torch", "torch", gpu="cuda:0"),
        Entry(
            "array_api_strict",
            "array_api_strict",
            "array_api_strict",
            "array_api_strict",
            "strict",
            "strict",
            timed=False,
        ),
        Entry(
            "dask",
            "dask.array",
            "array_api_compat.dask.array",
            "dask",
            "dask",
            "dask",
            timed=False,
        ),
    )
}
BACKENDS: tuple[str, ...] = tuple(TABLE)

#: the pin files of ``backends/`` that are not one backend's (backends/README.md)
PIN_FILES = {
    "cli": "the cli extra (pandas, tqdm, matplotlib): every tests session, and the gpu session",
    "cupy-cuda13": "CuPy for CUDA 13 (the gpu session, where the driver runs CUDA 13)",
    "gpu": "JAX and torch for CUDA 12, after CuPy (the gpu session)",
    "gpu-cuda13": "JAX and torch for CUDA 13, after CuPy (the gpu session)",
    "gpu-offline": "the wheels the offline GPU check carries (benchmarks/gpu_check.sh)",
}


def pin_problems(folder: Path) -> list[str]:
    """What is wrong between the table and the pin files in ``folder`` (``backends/``): a
    backend without ``<name>.txt``, a pin file that is neither a backend's nor one of
    :data:`PIN_FILES`; an empty list if nothing is."""
    found = {path.stem for path in Path(folder).glob("*.txt")}
    problems = [
        f"backend {name!r} has no pin file {name}.txt" for name in TABLE if name not in found
    ]
    problems += [
        f"{stem}.txt is neither a backend of portnet/backends/_table.py nor one of PIN_FILES"
        for stem in sorted(found - set(TABLE) - set(PIN_FILES))
    ]
    return problems
