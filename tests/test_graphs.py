"""Steps replayed without per-step Python dispatch (portnet._graphs): the static-copy
mechanism bit for bit against the plain loop on the CPU ("host" recorder), and on a GPU
CuPy's and torch's CUDA graphs against their eager steps."""

from __future__ import annotations

import numpy as np
import pytest

import portnet
from portnet import _graphs
from portnet._backend import Backend, gpu_status, resolve_backend

from .conftest import host, needs

X_PLANAR, Y_PLANAR = portnet.datasets.planar()
OPTIONS = {
    "sgd": {},
    "adam": {"optimizer": "adam", "learning_rate": 0.01},
    "momentum-l2-relu": {"optimizer": "momentum", "l2": 0.5, "activation": "relu",
                         "hidden": (6, 3)},
}  # fmt: skip


def _train(backend, options, device=None, dtype="float32"):
    return portnet.train(X_PLANAR, Y_PLANAR, iterations=300, log_every=100, backend=backend,
                         device=device, dtype=dtype, **options)  # fmt: skip


def _same(a, b, rtol=0.0):
    assert a.history.step == b.history.step
    np.testing.assert_allclose(a.history.cost, b.history.cost, rtol=rtol, atol=0)
    for (W, b_), (V, c) in zip(a.params, b.params, strict=True):
        np.testing.assert_allclose(host(W), host(V), rtol=rtol, atol=0)
        np.testing.assert_allclose(host(b_), host(c), rtol=rtol, atol=0)


@pytest.mark.parametrize("name", list(OPTIONS))
@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"], indirect=True)
def test_replayed_steps_are_the_plain_loops_bit_for_bit(backend, name, monkeypatch):
    """The static copy of parameters and optimiser state, stepped in place and copied out at
    log points, gives the plain loop's numbers exactly; recorded once per training run."""
    plain = _train(backend, OPTIONS[name])
    recorded = []

    def host_recorder(advance):
        recorded.append(advance)
        return advance

    monkeypatch.setitem(_graphs.RECORDERS, "host", host_recorder)
    monkeypatch.setattr(_graphs, "uses_graphs", lambda be: "host")
    replayed = _train(backend, OPTIONS[name])
    _same(replayed, plain)
    assert len(recorded) == 1  # one recording for the run's 3 × 99 silent steps
    _train(backend, OPTIONS[name])
    assert len(recorded) == 2  # a new run, a new recording


def test_graphs_are_opt_in_and_only_for_cupy_and_torch_on_cuda(monkeypatch):
    numpy = resolve_backend("numpy")
    assert _graphs.uses_graphs(numpy) is None
    monkeypatch.setattr(_graphs, "ENABLED", True)
    assert _graphs.uses_graphs(numpy) is None
    from portnet.backends import cupy as cupy_adapter  # CuPy itself is imported where used

    assert "cupy" in _graphs.RECORDERS
    assert cupy_adapter.ADAPTER.on_gpu(0)  # CuPy's arrays: always on a GPU


@needs("torch")
def test_graphs_are_for_torch_on_cuda_only(monkeypatch):
    import torch

    monkeypatch.setattr(_graphs, "ENABLED", True)
    cuda = Backend("torch", None, torch.device("cuda", 0))
    assert _graphs.uses_graphs(cuda) == "torch"
    assert _graphs.uses_graphs(Backend("torch", None, torch.device("cpu"))) is None


@pytest.mark.parametrize("name", list(OPTIONS))
@pytest.mark.parametrize(
    ("library", "device"),
    [pytest.param("cupy", None, marks=needs("cupy")),
     pytest.param("torch", "cuda:0", marks=needs("torch"))],
)  # fmt: skip
def test_cuda_graphs_replay_the_eager_steps(library, device, name, monkeypatch):
    """On a GPU: CuPy's stream capture and torch's CUDAGraph give the eager steps' numbers
    (the same kernels on the same inputs; within float32 rounding should a library pick
    another algorithm while capturing); torch without a usable GPU: skipped, saying why."""
    reason = gpu_status(library)
    if reason is not None:
        pytest.skip(f"no usable GPU for {library}: {reason}")
    eager = _train(library, OPTIONS[name], device)
    monkeypatch.setattr(_graphs, "ENABLED", True)
    graphed = _train(library, OPTIONS[name], device)
    _same(graphed, eager, rtol=1e-5)
    assert _graphs.uses_graphs(resolve_backend(library, device=device)) == library
