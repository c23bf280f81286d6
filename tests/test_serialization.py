"""Model.save / portnet.load: backend-neutral files, round trips, damaged and newer files."""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import stat
import zipfile

import numpy as np
import pytest

import portnet
from portnet import serialization
from portnet.serialization import FORMAT

from .conftest import can_be_denied, host, needs, on


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


# -- issue 28: files written safely, files that are not portnet's ------------------------------
def _no_hidden_files(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_model_file_gets_the_mode_open_gives(tmp_path, planar, umask):
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)
    old = os.umask(umask)
    try:
        (tmp_path / "plain").write_bytes(b"x")  # the reference: what open(path, "w") makes
        model.save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o666 & ~umask
    assert (tmp_path / "m.npz").stat().st_mode == (tmp_path / "plain").stat().st_mode


def test_a_replaced_file_keeps_its_mode(tmp_path, planar):
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)
    target = model.save(tmp_path / "m.npz")
    target.chmod(0o640)
    model.save(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.parametrize("where", ["savez", "replace"])
def test_an_error_while_writing_leaves_the_old_file_and_no_hidden_one(
    tmp_path, planar, monkeypatch, where
):
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)
    target = model.save(tmp_path / "m.npz")
    before = target.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

    if where == "savez":
        monkeypatch.setattr(serialization.np, "savez", fail)
    else:
        monkeypatch.setattr(serialization.os, "replace", fail)
    with pytest.raises(OSError, match="no space left") as caught:
        portnet.train(X, y, hidden=(3,), iterations=2).save(target)
    assert str(caught.value) == f"cannot write model to {target}: no space left on device"
    assert caught.value.errno == errno.ENOSPC
    assert ".tmp" not in str(caught.value)
    assert target.read_bytes() == before
    assert _no_hidden_files(tmp_path) == []


@pytest.mark.parametrize("where", ["savez", "replace"])
def test_an_interrupt_while_writing_leaves_no_hidden_file(tmp_path, planar, monkeypatch, where):
    X, y = planar

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    target = "np.savez" if where == "savez" else "os.replace"
    monkeypatch.setattr(f"portnet.serialization.{target}", interrupt)
    with pytest.raises(KeyboardInterrupt):
        portnet.train(X, y, hidden=(2,), iterations=2).save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_writing_is_held_until_the_file_is_whole(tmp_path, planar, monkeypatch):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a handler other than Python's here")
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)
    real = np.savez

    def savez_after_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives mid-write
        real(*args, **kwargs)

    monkeypatch.setattr(serialization.np, "savez", savez_after_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "m.npz")
    assert portnet.load(tmp_path / "m.npz").hidden == (2,)  # written whole, then raised
    assert _no_hidden_files(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_refused_write_names_the_users_path_not_the_hidden_file(tmp_path, planar, monkeypatch):
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(serialization.os, "open", refuse)
    monkeypatch.setattr(serialization.os, "access", lambda *args, **kwargs: False)
    with pytest.raises(PermissionError) as caught:
        model.save(tmp_path / "m.npz")
    assert str(caught.value) == (
        f"cannot write model to {tmp_path / 'm.npz'}: the folder {tmp_path} is not "
        "writable by this user"
    )
    assert caught.value.__cause__ is None  # the hidden file's error is not chained
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("case", "kind", "message"),
    [
        ("no folder", FileNotFoundError, "the folder {tmp}/no does not exist"),
        ("a folder", IsADirectoryError, "{tmp}/sub: it is a folder, not a file"),
        ("under a file", NotADirectoryError, "{tmp}/file is a file, not a folder"),
    ],
)
def test_check_writable_says_why_not(tmp_path, case, kind, message):
    (tmp_path / "sub").mkdir()
    (tmp_path / "file").write_text("x")
    path = {"no folder": "no/m.npz", "a folder": "sub", "under a file": "file/deeper/m.npz"}
    with pytest.raises(kind) as caught:
        serialization.check_writable(tmp_path / path[case], "model")
    assert str(caught.value).startswith(f"cannot write model to {tmp_path / path[case]}: ")
    assert message.format(tmp=tmp_path) in str(caught.value)
    assert caught.value.errno == {"no folder": 2, "a folder": 21, "under a file": 20}[case]


def test_check_writable_can_allow_a_folder_to_be_made(tmp_path):
    path = tmp_path / "new" / "deeper" / "m.npz"
    assert serialization.check_writable(path, make_folder=True) == path
    assert not (tmp_path / "new").exists()  # checked, not made
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        serialization.check_writable(tmp_path / "file" / "m.npz", make_folder=True)


def test_permissions_are_said_as_such(tmp_path, planar):
    if not can_be_denied(tmp_path):
        pytest.skip("file permissions do not stop this user (root reads and writes anything)")
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)
    path = model.save(tmp_path / "m.npz")
    path.chmod(0)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    try:
        with pytest.raises(PermissionError, match=r"permission denied \(the file is not readable"):
            portnet.load(path)
        with pytest.raises(PermissionError, match=f"the folder {locked} is not writable"):
            model.save(locked / "m.npz")
    finally:
        path.chmod(0o600)
        locked.chmod(0o755)


def _foreign(path, kind):
    arrays = {"W0": np.zeros((2, 2))}
    if kind.startswith("npy"):  # to a file object: np.save adds .npy to a name
        with open(path, "wb") as f:
            values = np.zeros(3) if kind == "npy" else np.array([{"a": 1}], dtype=object)
            np.save(f, values, allow_pickle=True)
    elif kind == "pickle":
        with open(path, "wb") as f:
            pickle.dump(arrays, f)
    elif kind == "json":
        path.write_text(json.dumps({"W0": [[0, 0], [0, 0]]}))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npz of objects":
        np.savez(path, W0=np.array([{"a": 1}], dtype=object))
    elif kind.startswith("joblib"):
        joblib = pytest.importorskip("joblib", reason="joblib is not installed")
        compress = {"joblib": 0, "joblib gzip": ("gzip", 3), "joblib zlib": 3}[kind]
        joblib.dump(arrays, path, compress=compress)
    return path


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("npy", "it is a NumPy .npy file (one array, as np.save writes)"),
        ("npy of objects", "it is a NumPy .npy file"),
        ("pickle", "it is a Python pickle (as pickle.dump or joblib.dump write)"),
        ("json", "it is JSON text"),
        ("empty", "it is empty"),
        ("npz of objects", "its array 'W0' holds pickled Python objects"),
        ("joblib", "it is a Python pickle"),
        ("joblib gzip", "it is gzip-compressed data (a compressed joblib or pickle file?)"),
        ("joblib zlib", "it is zlib-compressed data (a compressed joblib file?)"),
    ],
)
def test_a_file_that_is_not_portnets_is_named_for_what_it_is(tmp_path, kind, said):
    path = _foreign(tmp_path / "f.npz", kind)
    with pytest.raises(ValueError, match="is not a portnet model file") as caught:
        portnet.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path} is not a portnet model file (expected a .npz written ")
    assert said in message
    assert "allow_pickle" not in message  # NumPy's advice to load it unsafely is not repeated
    assert "unsafe" not in message


def test_unreadable_paths_say_why(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        portnet.load(tmp_path / "nope.npz")
    assert str(caught.value) == f"cannot read {tmp_path / 'nope.npz'}: no such file"
    with pytest.raises(IsADirectoryError, match="it is a folder, not a file"):
        portnet.load(tmp_path)


def test_permissions_are_said_as_such_whoever_runs_the_tests(tmp_path, planar, monkeypatch):
    """The same messages as test_permissions_are_said_as_such, with the denial simulated (that
    test cannot deny root anything)."""
    X, y = planar
    model = portnet.train(X, y, hidden=(2,), iterations=2)
    path = model.save(tmp_path / "m.npz")

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(serialization, "open", denied, raising=False)
    with pytest.raises(PermissionError) as caught:
        portnet.load(path)
    assert str(caught.value) == (
        f"cannot read {path}: permission denied (the file is not readable by this user)"
    )
    monkeypatch.undo()
    monkeypatch.setattr(os, "open", denied)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(PermissionError) as caught:
        model.save(tmp_path / "other.npz")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no hidden file
    assert str(caught.value) == (
        f"cannot write model to {tmp_path / 'other.npz'}: the folder {tmp_path} is not "
        "writable by this user"
    )
