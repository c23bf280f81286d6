"""One precision policy for every backend: ``precision="highest"`` (IEEE float32 products)
or ``"tf32"`` (CUDA GPUs), scoped to portnet's own computations, kept by the model.

On these GPU-less machines the switches are checked where they live: JAX's context (and
the precision its lowered step carries), torch's flags (CUDA's are plain settings, read and
written on a CPU build too), CuPy's compute type through a stand-in.
"""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

import portnet
from portnet import _precision, cli, network
from portnet._backend import Backend, resolve_backend
from portnet.model import placed_precision

from .conftest import needs

X_PLANAR, Y_PLANAR = portnet.datasets.planar()


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match=r"precision must be one of \['highest', 'tf32'\], got 'x"):
        portnet.train(X_PLANAR, Y_PLANAR, iterations=1, precision="xla")


def test_tf32_off_a_gpu_is_an_error_saying_why(backend):
    if _precision.on_gpu(resolve_backend(backend)):
        pytest.skip(f"{backend}'s default device is a GPU here")
    with pytest.raises(ValueError, match=r"^precision='tf32' needs a CUDA GPU") as info:
        portnet.train(X_PLANAR, Y_PLANAR, iterations=1, backend=backend, dtype="float32",
                      precision="tf32")  # fmt: skip
    message = str(info.value)
    assert message.startswith("precision='tf32' needs a CUDA GPU (CuPy, or JAX or torch on a GPU")
    assert f"backend {backend!r}" in message
    assert "precision='highest' (the default)" in message


@needs("torch")
def test_tf32_with_float64_is_an_error_and_float32_is_taken():
    """On a GPU (a torch CUDA device, whose object needs no GPU to exist), TF32 is a mode of
    float32 products: float64 is refused, float32 accepted."""
    import torch

    cuda = Backend("torch", resolve_backend("torch").xp, torch.device("cuda", 0))
    assert _precision.check_precision("tf32", cuda, torch.float32) == "tf32"
    with pytest.raises(ValueError, match=r"'tf32' is a mode of float32 .* this run is float64"):
        _precision.check_precision("tf32", cuda, torch.float64)
    assert _precision.check_precision("highest", cuda, torch.float64) == "highest"


@needs("torch")
def test_nvidia_tf32_override_makes_highest_on_a_gpu_an_error(monkeypatch):
    import torch

    monkeypatch.setenv("NVIDIA_TF32_OVERRIDE", "1")
    cuda = Backend("torch", resolve_backend("torch").xp, torch.device("cuda", 0))
    with pytest.raises(RuntimeError, match="NVIDIA_TF32_OVERRIDE=1 is set"):
        _precision.check_precision("highest", cuda, torch.float32)
    cpu = resolve_backend("numpy")
    assert _precision.check_precision("highest", cpu) == "highest"  # no CUDA library involved


# -- JAX -------------------------------------------------------------------------------------------
def _precision_seen_by_callbacks(**options) -> list:
    import jax

    seen = []
    portnet.train(
        X_PLANAR, Y_PLANAR, iterations=20, log_every=10, backend="jax", dtype="float32",
        callbacks=lambda *_: seen.append(jax.config.jax_default_matmul_precision),
        **options,
    )  # fmt: skip
    return seen


@needs("jax")
def test_jax_trains_in_highest_precision_scoped_to_portnet():
    """JAX's GPU default is TF32: portnet's computations run under "highest", and the
    caller's setting (here "bfloat16") is back once train returns."""
    import jax

    assert jax.config.jax_default_matmul_precision is None
    assert _precision_seen_by_callbacks() == ["highest"] * 3  # steps 0, 10, 20
    assert jax.config.jax_default_matmul_precision is None
    with jax.default_matmul_precision("bfloat16"):
        assert _precision_seen_by_callbacks() == ["highest"] * 3
        assert jax.config.jax_default_matmul_precision == "bfloat16"


@needs("jax")
def test_jax_lowered_step_carries_the_precision():
    """The compiled step's matrix products say HIGHEST inside the scope (TF32: HIGH, what
    "tensorfloat32" lowers to) and DEFAULT outside it: the setting reaches XLA."""
    import jax
    import jax.numpy as jnp

    net = network.Network(portnet.activations.get_activation("tanh"), portnet.losses.get_loss(
        "binary_crossentropy"))  # fmt: skip
    params = tuple(
        network.Layer(jnp.asarray(W, jnp.float32), jnp.asarray(b, jnp.float32))
        for W, b in portnet.init.initial_params([2, 4, 1], seed=0)
    )
    X, Y = jnp.asarray(X_PLANAR, jnp.float32), jnp.asarray(Y_PLANAR[:, None], jnp.float32)
    step = jax.jit(lambda p, X, Y: network.cost_and_gradients(p, X, Y, net))
    be = resolve_backend("jax")

    def products(text: str) -> set[str]:
        lines = [line for line in text.splitlines() if "dot_general" in line]
        assert lines
        return {line.partition("precision = ")[2].partition("]")[0] + "]" for line in lines}

    with _precision.scope(be, "highest"):
        assert products(step.lower(params, X, Y).as_text()) == {"[HIGHEST, HIGHEST]"}
    assert products(step.lower(params, X, Y).as_text()) == {"[DEFAULT, DEFAULT]"}
    with _precision.scope(be, "tf32"):  # the switch alone: scope does not check the device
        assert products(step.lower(params, X, Y).as_text()) == {"[HIGH, HIGH]"}


# -- torch -----------------------------------------------------------------------------------------
@needs("torch")
def test_torch_cpu_products_are_ieee_inside_train_and_put_back_after():
    import torch

    mkldnn = torch.backends.mkldnn.matmul
    if not hasattr(mkldnn, "fp32_precision"):
        pytest.skip(f"torch {torch.__version__} has no mkldnn fp32_precision setting")
    seen = []
    before = mkldnn.fp32_precision
    mkldnn.fp32_precision = "bf16"  # what a user may have asked for elsewhere
    try:
        portnet.train(X_PLANAR, Y_PLANAR, iterations=10, log_every=5, backend="torch",
                      callbacks=lambda *_: seen.append(mkldnn.fp32_precision))  # fmt: skip
        assert seen == ["ieee"] * 3
        assert mkldnn.fp32_precision == "bf16"
    finally:
        mkldnn.fp32_precision = before


@needs("torch")
@pytest.mark.parametrize(
    ("user", "precision", "inside"),
    [("none", "highest", "none"), ("tf32", "highest", "ieee"), ("ieee", "tf32", "tf32"),
     ("none", "tf32", "tf32"), ("tf32", "tf32", "tf32")],
)  # fmt: skip
def test_torch_cuda_switch_is_set_only_where_it_differs_and_put_back(user, precision, inside):
    """torch's CUDA matmul setting (a plain flag: a CPU build reads and writes it too) is
    what the mode asks inside the scope, untouched where it already is, as the user left it
    after; "none" (torch's default: inherit, which is IEEE) counts as IEEE."""
    import torch

    matmul = torch.backends.cuda.matmul
    if not hasattr(matmul, "fp32_precision"):
        pytest.skip(f"torch {torch.__version__} has the legacy allow_tf32 flag only")
    cuda = Backend("torch", resolve_backend("torch").xp, torch.device("cuda", 0))
    before = matmul.fp32_precision
    matmul.fp32_precision = user
    try:
        with _precision.scope(cuda, precision):
            assert matmul.fp32_precision == inside
        assert matmul.fp32_precision == user
    finally:
        matmul.fp32_precision = before


# -- CuPy (a stand-in for its compute-type table) -----------------------------------------------
@pytest.mark.parametrize(("start", "precision"), [(1, "highest"), (7, "highest"), (1, "tf32")])
def test_cupy_compute_type_is_set_inside_and_put_back(monkeypatch, start, precision):
    table = {np.float32: start}
    linalg = types.SimpleNamespace(
        COMPUTE_TYPE_DEFAULT=1,
        COMPUTE_TYPE_TF32=7,
        get_compute_type=lambda dtype: table[dtype],
        set_compute_type=lambda dtype, value: table.__setitem__(dtype, value),
    )
    from portnet.backends import cupy as cupy_adapter  # CuPy itself is imported where used

    real = cupy_adapter.importlib.import_module
    monkeypatch.setattr(
        cupy_adapter.importlib,
        "import_module",
        lambda name: linalg if name == "cupy._core._routines_linalg" else real(name),
    )
    with cupy_adapter.ADAPTER.precision(0, precision):
        assert table[np.float32] == (1 if precision == "highest" else 7)
    assert table[np.float32] == start


# -- the model keeps it ------------------------------------------------------------------------
def test_model_file_records_the_precision_and_old_files_read_as_highest(tmp_path):
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=5)
    assert model.precision == "highest"
    path = model.save(tmp_path / "m.npz")
    with np.load(path) as archive:
        arrays = dict(archive)
    assert json.loads(str(arrays["portnet"]))["precision"] == "highest"
    assert portnet.load(path).precision == "highest"
    meta = json.loads(str(arrays["portnet"]))
    del meta["precision"]  # a file written before portnet recorded the precision
    arrays["portnet"] = np.asarray(json.dumps(meta))
    np.savez(tmp_path / "old.npz", **arrays)
    assert portnet.load(tmp_path / "old.npz").precision == "highest"
    meta["precision"] = "fp8"
    arrays["portnet"] = np.asarray(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="is damaged: its metadata does not describe"):
        portnet.load(tmp_path / "bad.npz")


def test_a_tf32_model_placed_where_tf32_cannot_run_predicts_in_highest():
    numpy = resolve_backend("numpy")
    assert placed_precision(None, "tf32", numpy, np.float32) == "highest"
    assert placed_precision(None, "highest", numpy, np.float32) == "highest"
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        placed_precision("tf32", "highest", numpy, np.float32)
    model = portnet.train(X_PLANAR, Y_PLANAR, iterations=5, dtype="float32")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        model.to(precision="tf32")
    assert model.to(dtype="float64").precision == "highest"
    assert "precision" not in repr(model)  # the default is not spelt out


def test_the_command_and_the_estimators_take_precision(capsys):
    assert cli.main(["train", "--iterations", "1", "--precision", "tf32", "--dtype", "float32",
                     "--no-plot", "--quiet"]) == 2  # fmt: skip
    assert "--precision tf32 needs a CUDA GPU" in capsys.readouterr().err  # said as a flag
    sklearn = pytest.importorskip("portnet.sklearn", reason="scikit-learn is not installed")
    estimator = sklearn.PortnetClassifier(iterations=3, precision="tf32", dtype="float32")
    assert estimator.get_params()["precision"] == "tf32"
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        estimator.fit(X_PLANAR, Y_PLANAR)
