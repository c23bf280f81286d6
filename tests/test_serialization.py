"""Model.save / portnet.load: backend-neutral files, round trips, damaged and newer files."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest

import portnet
from portnet.serialization import FORMAT

from .conftest import host, needs, on


@pytest.fixture(scope="module")
def planar():
    return portnet.datasets.planar()


def _train_on(backend, dtype, X, y, **options):
    be = on(backend)
    options = {"hidden": (4,), "learning_rate": 1.2, "iterations": 200, **options}
    return portnet.train(be.asarray(X, be.dtype(dtype)), be.asarray(y), verbose=False, **options)


def test_train_anywhere_load_on_numpy_gives_the_same_predictions(backend, dtype, planar, tmp_path):
    X, y = planar
    model = _train_on(backend, dtype, X, y, activation="leaky_relu", l2=0.3)
    path = model.save(tmp_path / "model.npz")
    loaded = portnet.load(path)
    assert loaded.backend == "numpy"
    assert loaded.hidden == model.hidden == (4,)
    assert loaded.network == model.network  # activation (with its slope), loss, L2
    assert str(loaded.dtype) == dtype
    for (W, b), (W0, b0) in zip(loaded.params, model.params, strict=True):
        np.testing.assert_array_equal(W, host(W0).astype(dtype))  # bit for bit
        np.testing.assert_array_equal(b, host(b0).astype(dtype))
    Xn = np.asarray(X, dtype=dtype)
    np.testing.assert_array_equal(loaded.predict(Xn), host(model.predict(Xn)))
    np.testing.assert_allclose(
        loaded.predict_proba(Xn),
        host(model.predict_proba(Xn)),
        rtol=1e-5 if dtype == "float32" else 1e-12,
    )
    assert loaded.history == model.history
    assert loaded.n_steps == model.n_steps == 200


def test_load_onto_any_backend_and_continue_training(backend, planar, tmp_path):
    X, y = planar
    first = portnet.train(X, y, hidden=(4,), learning_rate=1.2, iterations=300, verbose=False)
    path = first.save(tmp_path / "m.npz")
    loaded = portnet.load(path, backend=backend)
    assert loaded.backend == backend
    be = on(backend)
    Xb = be.asarray(X, be.dtype("float64"))
    more = portnet.train(
        Xb,
        be.asarray(y),
        params=loaded.params,
        hidden=(4,),
        learning_rate=1.2,
        iterations=300,
        verbose=False,
    )
    straight = portnet.train(X, y, hidden=(4,), learning_rate=1.2, iterations=600, verbose=False)
    for (W, b), (W0, b0) in zip(more.params, straight.params, strict=True):
        np.testing.assert_allclose(host(W), W0, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(host(b), b0, rtol=1e-9, atol=1e-12)


def test_text_labels_multiclass_and_regression_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    labels = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, 60)]
    clf = portnet.train(X, labels, hidden=(5,), iterations=50, verbose=False)
    loaded = portnet.load(clf.save(tmp_path / "clf.npz"))
    np.testing.assert_array_equal(loaded.classes_, ["cat", "dog", "emu"])
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    Y = rng.normal(size=(60, 2))
    reg = portnet.train(X, Y, hidden=(5,), iterations=50, verbose=False)
    loaded = portnet.load(reg.save(tmp_path / "reg.npz"), dtype="float32")
    assert str(loaded.dtype) == "float32"
    assert loaded.classes_ is None
    np.testing.assert_allclose(
        loaded.predict(X.astype("float32")), reg.predict(X), rtol=1e-4, atol=1e-5
    )


def test_save_writes_atomically_and_leaves_no_temporary(tmp_path, planar):
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=5, verbose=False)
    target = tmp_path / "m.npz"
    target.write_bytes(b"old")
    model.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert portnet.load(target).hidden == (2,)


def test_custom_activation_cannot_be_saved(tmp_path, planar):
    X, y = planar
    odd = portnet.activations.Activation("tanh", lambda z: z, lambda z, a: z * 0 + 1)
    model = portnet.train(X, y, hidden=(2,), activation=odd, iterations=2, verbose=False)
    with pytest.raises(ValueError, match="custom activation"):
        model.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def _saved(tmp_path, planar):
    X, y = planar
    path = portnet.train(X, y, hidden=(3,), iterations=2, verbose=False).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _write(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _with_meta(arrays, **changes):
    meta = json.loads(str(arrays["portnet"]))
    meta.update(changes)
    return {**arrays, "portnet": np.asarray(json.dumps(meta))}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("newer", r"written by portnet 9\.0 in file format 99; this portnet reads formats up to"),
        ("text", r"not a portnet model file \(expected a \.npz written by Model\.save\)"),
        ("truncated", r"not a portnet model file"),
        ("no-meta", r"holds \['W0', 'W1', 'b0', 'b1', 'classes'\] but no 'portnet' metadata"),
        ("bad-json", r"damaged: its metadata is not valid JSON"),
        ("no-format", r"damaged: its metadata has no format number"),
        ("wrong-shape", r"damaged: layer 1 should hold W \(1, 3\) and b \(1,\), found \(1, 4\)"),
        ("missing-layer", r"damaged: layer 1 should hold .* found nothing"),
        ("unknown-activation", r"does not describe a portnet model"),
        ("no-history", r"metadata lacks 'history'"),
    ],
)
def test_damaged_and_newer_files_are_clear_errors(tmp_path, planar, damage, message):
    arrays = _saved(tmp_path, planar)
    path = tmp_path / "bad.npz"
    if damage == "newer":
        _write(path, _with_meta(arrays, format=99, portnet_version="9.0"))
    elif damage == "text":
        path.write_text("W0,b0\n1,2\n")
    elif damage == "truncated":
        good = (tmp_path / "m.npz").read_bytes()
        path.write_bytes(good[: len(good) // 2])
    elif damage == "no-meta":
        _write(path, {k: v for k, v in arrays.items() if k != "portnet"})
    elif damage == "bad-json":
        _write(path, {**arrays, "portnet": np.asarray("{not json")})
    elif damage == "no-format":
        _write(path, {**arrays, "portnet": np.asarray(json.dumps({"layers": [2, 3, 1]}))})
    elif damage == "wrong-shape":
        _write(path, {**arrays, "W1": np.zeros((1, 4))})
    elif damage == "missing-layer":
        _write(path, {k: v for k, v in arrays.items() if k != "W1"})
    elif damage == "unknown-activation":
        _write(path, _with_meta(arrays, activation="swish"))
    elif damage == "no-history":
        meta = json.loads(str(arrays["portnet"]))
        del meta["history"]
        _write(path, {**arrays, "portnet": np.asarray(json.dumps(meta))})
    with pytest.raises(ValueError, match=message):
        portnet.load(path)


def test_missing_file_and_format_number(tmp_path):
    with pytest.raises(FileNotFoundError):
        portnet.load(tmp_path / "nope.npz")
    assert FORMAT == 1


def test_the_file_holds_no_pickles(tmp_path, planar):
    X, y = planar
    path = portnet.train(X, y, hidden=(3,), iterations=2, verbose=False).save(tmp_path / "m.npz")
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())
    assert names == ["W0.npy", "W1.npy", "b0.npy", "b1.npy", "classes.npy", "portnet.npy"]
    with np.load(path, allow_pickle=False) as f:  # would raise on an object array
        meta = json.loads(str(f["portnet"]))
    assert meta["layers"] == [2, 3, 1]
    assert meta["format"] == FORMAT
    assert meta["trained_on"] == {"backend": "numpy", "device": "cpu"}


@needs("array_api_strict")
def test_load_on_a_device(tmp_path, planar):
    import array_api_strict as strict

    X, y = planar
    path = portnet.train(X, y, hidden=(3,), iterations=20, verbose=False).save(tmp_path / "m.npz")
    device = strict.Device("device1")
    model = portnet.load(path, backend="array_api_strict", device=device)
    assert all(W.device == device for W, _ in model.params)
    Xd = strict.asarray(X, device=device)
    assert model.predict(Xd).device == device


def test_models_pickle_onto_the_same_backend_and_device(backend, planar):
    X, y = planar
    model = _train_on(backend, "float32", X, y, iterations=20)
    again = pickle.loads(pickle.dumps(model))
    assert again.backend == model.backend
    assert str(again.device) == str(model.device)
    assert again.network == model.network
    for (W, b), (W0, b0) in zip(again.params, model.params, strict=True):
        np.testing.assert_array_equal(host(W), host(W0))
        np.testing.assert_array_equal(host(b), host(b0))


@needs("array_api_strict")
def test_pickle_keeps_an_array_api_strict_device(planar):
    import array_api_strict as strict

    X, y = planar
    device = strict.Device("device1")
    model = portnet.train(
        strict.asarray(X, device=device),
        strict.asarray(y, device=device),
        hidden=(3,),
        iterations=5,
    )
    again = pickle.loads(pickle.dumps(model))
    assert again.device == device
    assert all(W.device == device for W, _ in again.params)


def test_a_loaded_model_fits_further_on_its_backend(backend, planar, tmp_path):
    X, y = planar
    first = portnet.train(X, y, hidden=(4,), learning_rate=1.2, iterations=300)
    loaded = portnet.load(first.save(tmp_path / "m.npz"), backend=backend)
    more = loaded.fit(X, y, learning_rate=1.2, iterations=300)  # NumPy data, moved there
    assert more.backend == backend
    assert loaded.n_steps == 300  # unchanged: fit returns a new model
    straight = portnet.train(X, y, hidden=(4,), learning_rate=1.2, iterations=600)
    for (W, b), (W0, b0) in zip(more.params, straight.params, strict=True):
        np.testing.assert_allclose(host(W), W0, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(host(b), b0, rtol=1e-9, atol=1e-12)
    with pytest.raises(TypeError, match=r"does not take \['hidden'\]"):
        loaded.fit(X, y, hidden=(8,))
