"""Data files (portnet.datafiles): what real-world CSV files read as, and every refusal naming
the file, row (the line an editor shows) and column."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from portnet import datafiles

# name -> (file bytes, read_table's options, (X, y, feature_names))
READS = {
    "header, numeric labels": (b"a,b,y\n1,2,0\n3,4,1\n", {}, ([[1, 2], [3, 4]], [0, 1], ("a", "b"))),
    "no header": (b"1,2.5,0\n3,4,1\n", {}, ([[1, 2.5], [3, 4]], [0, 1], None)),
    "text labels, stripped": (b"a, b, y\n1, 2, cat\n3, 4, dog \n", {}, ([[1, 2], [3, 4]], ["cat", "dog"], ("a", "b"))),
    "regression labels": (b"a,b,y\n1,2,0.5\n3,4,-1\n", {}, ([[1, 2], [3, 4]], [0.5, -1.0], ("a", "b"))),
    "label by name": (b"y,a,b\n0,1,2\n1,3,4\n", {"label": "y"}, ([[1, 2], [3, 4]], [0, 1], ("a", "b"))),
    "label by index": (b"0,1,2\n1,3,4\n", {"label": 0}, ([[1, 2], [3, 4]], [0, 1], None)),
    "UTF-8 BOM before a header": (b"\xef\xbb\xbfa,b,y\n1,2,0\n3,4,1\n", {"label": "a"}, ([[2, 0], [4, 1]], [1, 3], ("b", "y"))),
    "UTF-8 BOM before a number": (b"\xef\xbb\xbf1,2,0\n3,4,1\n", {}, ([[1, 2], [3, 4]], [0, 1], None)),
    "UTF-16 with its BOM (Excel's Unicode text)": ("a\tb\ty\n1\t2\tx\n".encode("utf-16"), {}, ([[1, 2]], ["x"], ("a", "b"))),
    "semicolons": (b"a;b;y\n1.5;2;0\n3;4;1\n", {}, ([[1.5, 2], [3, 4]], [0, 1], ("a", "b"))),
    "semicolons and decimal commas": (b"a;b;y\n1,5;2;x\n3;-4,25e1;z\n", {}, ([[1.5, 2], [3, -42.5]], ["x", "z"], ("a", "b"))),
    "tabs": (b"a\tb\ty\n1.5\t2\t0\n3\t4\t1\n", {}, ([[1.5, 2], [3, 4]], [0, 1], ("a", "b"))),
    "commas with a semicolon in a label": (b'a,b,y\n1,2,"x;z"\n3,4,w\n', {}, ([[1, 2], [3, 4]], ["x;z", "w"], ("a", "b"))),
    "pandas' index column dropped": (b",a,b,y\n0,1,2,x\n1,3,4,z\n", {}, ([[1, 2], [3, 4]], ["x", "z"], ("a", "b"))),
    "pandas' index, read back and written again": (b",Unnamed: 0,a,y\n0,5,1,x\n1,9,3,z\n", {"label": 1}, ([[1], [3]], ["x", "z"], ("a",))),
    "an unnamed column of numbers is a feature": (b",a,y\n0.5,1,x\n0.5,3,z\n", {}, ([[0.5, 1], [0.5, 3]], ["x", "z"], ("", "a"))),
    "True/False features are 1/0": (b"a,b,y\n1,True,0\n3,false,1\n", {}, ([[1, 1], [3, 0]], [0, 1], ("a", "b"))),
    "True/False labels are text": (b"a,y\n1,True\n3,False\n", {}, ([[1], [3]], ["True", "False"], ("a",))),
    "NA is a label, not a missing one": (b"a,y\n1,NA\n3,EU\n", {}, ([[1], [3]], ["NA", "EU"], ("a",))),
    "blank lines and empty rows skipped": (b"a,b,y\n1,2,0\n\n,,\n   \n3,4,1\n", {}, ([[1, 2], [3, 4]], [0, 1], ("a", "b"))),
    "blank lines before the header": (b"\n \na,b,y\n1,2,0\n", {}, ([[1, 2]], [0], ("a", "b"))),
    "CRLF line ends": (b"a,b,y\r\n1,2,0\r\n3,4,1\r\n", {}, ([[1, 2], [3, 4]], [0, 1], ("a", "b"))),
    "features only (prediction)": (b"a,b\n1,2\n3,4\n", {"n_features": 2}, ([[1, 2], [3, 4]], None, ("a", "b"))),
    "features and labels (prediction)": (b"1,2,x\n3,4,z\n", {"n_features": 2}, ([[1, 2], [3, 4]], ["x", "z"], None)),
    # -- issue 29: a weights column, left out of the features; the label the last column but it
    "weights by name": (b"a,w,b,y\n1,0.5,2,0\n3,2,4,1\n", {"weights": "w"}, ([[1, 2], [3, 4]], [0, 1], ("a", "b"), [0.5, 2.0])),
    "weights last, the label before": (b"a,b,y,w\n1,2,x,1\n3,4,z,0\n", {"weights": "w"}, ([[1, 2], [3, 4]], ["x", "z"], ("a", "b"), [1.0, 0.0])),
    "weights by index, no header": (b"1,2,3,0\n3,4,0.5,1\n", {"weights": -2}, ([[1, 2], [3, 4]], [0, 1], None, [3.0, 0.5])),
    "weights and a label by name": (b"y,w,a\n0,1,5\n1,2,6\n", {"weights": "w", "label": "y"}, ([[5], [6]], [0, 1], ("a",), [1.0, 2.0])),
    "features and weights (prediction)": (b"1,2,7\n3,4,8\n", {"n_features": 2, "weights": 2}, ([[1, 2], [3, 4]], None, None, [7.0, 8.0])),
    "features, labels and weights (prediction)": (b"1,2,x,7\n3,4,z,8\n", {"n_features": 2, "weights": 3}, ([[1, 2], [3, 4]], ["x", "z"], None, [7.0, 8.0])),
}  # fmt: skip

# name -> (file name, file bytes, read's options, message after "cannot read {file name}: ")
REFUSALS = {
    "a missing text label": ("f.csv", b"a,b,y\n1,2,cat\n3,4,\n5,6,dog\n", {}, "row 3, column 'y' (the label) is empty: every sample needs a label"),
    "a missing number label, after a blank line": ("f.csv", b"a,b,y\n1,2,0\n\n3,4,\n5,6,1\n", {}, "row 4, column 'y' (the label) is empty: every sample needs a label"),
    "a missing label by index": ("f.csv", b"0,1,2\n,3,4\n", {"label": 0}, "row 2, column 0 (counting from 0) (the label) is empty"),
    "a nan label": ("f.csv", b"a,y\n1,0\n2,nan\n", {}, "row 3, column 'y' (the label) holds 'nan', not a finite number: labels are text or finite"),
    "an inf label": ("f.csv", b"a,y\n1,0\n2,inf\n", {}, "row 3, column 'y' (the label) holds inf, not a finite number"),
    "an empty feature": ("f.csv", b"a,b,y\n1,2,0\n3,,1\n", {}, "feature columns must be numbers: row 3, column 'b' is empty"),
    "an empty feature, no header": ("f.csv", b"1,2,0\n3,,1\n", {}, "feature columns must be numbers: row 2, column 1 (counting from 0) is empty"),
    "a blank feature": ("f.csv", b"a,b,y\n1,2,0\n3, ,1\n", {}, "feature columns must be numbers: row 3, column 'b' is empty"),
    "a text feature": ("f.csv", b"1,red,0\n3,blue,1\n", {}, "feature columns must be numbers: row 1, column 1 (counting from 0) holds 'red'"),
    "a nan feature": ("f.csv", b"a,b,y\n1,nan,0\n3,4,1\n", {}, "feature columns must be numbers: row 2, column 'b' holds 'nan', not a finite number"),
    "an inf feature": ("f.csv", b"a,b,y\n1,2,0\n3,-inf,1\n", {}, "feature columns must be numbers: row 3, column 'b' holds -inf, not a finite number"),
    "a missing True/False": ("f.csv", b"a,b,y\n1,True,0\n3,,1\n", {}, "feature columns must be numbers: row 3, column 'b' is empty"),
    "a label cell across two lines, then an empty feature": ("f.csv", b'a,b,y\n1,2,"x\ny"\n3,,z\n', {}, "feature columns must be numbers: row 4, column 'b' is empty"),
    "a label of 200 kB before an empty feature": ("f.csv", b"a,b,y\n1,2," + b"x" * 200_000 + b"\n3,,z\n", {}, "row 2: field larger than field limit"),
    "a short row": ("f.csv", b"a,b,y\n1,2,0\n3,4\n", {}, "row 3 has 2 columns, the first has 3"),
    "a short row, no header": ("f.csv", b"1,2,0\n3,4\n", {}, "row 2 has 2 columns, the first has 3"),
    "a long row": ("f.csv", b"a,b,y\n1,2,0\n\n3,4,1,5\n", {}, "row 4 has 4 columns, the first has 3"),
    "every row longer than the header": ("f.csv", b"a,b,y\n1,2,0,9\n3,4,1,5\n", {}, "row 2 has 4 columns, the first has 3"),
    "Latin-1, past the first 64 KiB": ("f.csv", b"a,b,y\n" + b"1,2,x\n" * 20_000 + b"1,2,\xfcber\n", {}, "not UTF-8 text: row 20002 holds byte 0xfc ('ü' in Latin-1) at byte offset 120010 of the file"),
    "Latin-1": ("f.csv", b"a,b,y\n1,2,caf\xe9\n", {}, "not UTF-8 text: row 2 holds byte 0xe9 ('é' in Latin-1) at byte offset 13 of the file; save it as UTF-8"),
    "an open quote": ("f.csv", b'a,b,y\n1,2,"x\n3,4,1\n', {}, "EOF inside string"),
    "an empty file": ("f.csv", b"", {}, "the file holds no rows"),
    "blank lines only": ("f.csv", b"\n  \n\n", {}, "the file holds no rows"),
    "a header only": ("f.csv", b"a,b,y\n", {}, "the file holds a header but no samples"),
    "one column": ("f.csv", b"1\n2\n", {}, "no feature columns besides the label"),
    "no such label": ("f.csv", b"a,b,y\n1,2,0\n", {"label": "z"}, "no column named 'z'; the header has ['a', 'b', 'y']"),
    "a label by name, no header": ("f.csv", b"1,2,0\n", {"label": "z"}, "no column named 'z'; the file has no header row"),
    "a label index out of range": ("f.csv", b"1,2,0\n", {"label": 5}, "label column 5 is out of range for 3 columns"),
    "the model's width": ("f.csv", b"1,2,3,4\n", {"n_features": 2}, "the model takes 2 features, so the file must have 2 columns (or 3 with a label), it has 4"),
    "another suffix": ("f.txt", b"1,2,0\n", {}, "expected a .csv, .tsv, .npy, .npz file, got '.txt'"),
    # -- issue 29: the weights column
    "an empty weight": ("f.csv", b"a,w,y\n1,2,0\n3,,1\n", {"weights": "w"}, "the weights column must hold numbers: row 3, column 'w' is empty"),
    "a text weight": ("f.csv", b"a,w,y\n1,2,0\n3,heavy,1\n", {"weights": "w"}, "the weights column must hold numbers: row 3, column 'w' holds 'heavy'"),
    "a nan weight": ("f.csv", b"a,w,y\n1,nan,0\n3,1,1\n", {"weights": "w"}, "the weights column must hold finite numbers >= 0: row 2, column 'w' holds nan"),
    "a negative weight": ("f.csv", b"a,w,y\n1,2,0\n3,-1,1\n", {"weights": "w"}, "the weights column must hold finite numbers >= 0: row 3, column 'w' holds -1"),
    "a negative fractional weight, tab-separated": ("f.tsv", b"a\tw\ty\n1\t0.5\t0\n3\t-0.25\t1\n", {"weights": "w"}, "row 3, column 'w' holds -0.25"),
    "an empty weight among numbers, no header": ("f.csv", b"1,2,0\n3,,1\n", {"weights": 1}, "the weights column must hold numbers: row 2, column 1 (counting from 0) is empty"),
    "no such weights column": ("f.csv", b"a,b,y\n1,2,0\n", {"weights": "w"}, "no weights column named 'w'; the header has ['a', 'b', 'y']"),
    "a weights index out of range": ("f.csv", b"1,2,0\n", {"weights": 3}, "weights column 3 is out of range for 3 columns"),
    "the label the weights column": ("f.csv", b"a,w,y\n1,2,0\n", {"weights": "w", "label": 1}, "the label column 1 is the weights column too; give them different columns"),
    "the model's width, besides the weights": ("f.csv", b"1,2,3,4,5\n", {"n_features": 2, "weights": 0}, "the model takes 2 features, so the file must have 2 columns (or 3 with a label), besides the weights column, it has 5"),
}  # fmt: skip


def _expect(table, expected):
    """``table`` (X, y, names[, weights]) is ``expected`` (X, y, names[, weights])."""
    (X, y, names, *weights), (X_expected, y_expected, names_expected, *w_expected) = (
        table,
        expected,
    )
    np.testing.assert_array_equal(X, np.array(X_expected, dtype=np.float64))
    assert X.dtype == np.float64
    assert names == names_expected
    if w_expected:
        np.testing.assert_array_equal(weights[0], w_expected[0])
        assert weights[0].dtype == np.float64
    else:
        assert weights in ([], [None])
    if y_expected is None:
        assert y is None
        return
    np.testing.assert_array_equal(y, y_expected)
    assert y.dtype.kind == np.asarray(y_expected).dtype.kind  # int64, float64 or text


@pytest.mark.parametrize("name", READS)
def test_a_text_file_reads_as_written(tmp_path, name):
    data, options, expected = READS[name]
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    _expect(datafiles.read_table(path, **options), expected)
    X, y = datafiles.read(path, **options)  # read: the same without the names and weights
    _expect((X, y, expected[2]), expected[:3])


@pytest.mark.parametrize("name", REFUSALS)
def test_a_bad_text_file_is_refused_naming_row_and_column(tmp_path, name):
    file, data, options, message = REFUSALS[name]
    path = tmp_path / file
    path.write_bytes(data)
    with pytest.raises(ValueError, match="^" + re.escape(f"cannot read {path}: ")) as e:
        datafiles.read(path, **options)
    assert message in str(e.value)


@pytest.mark.parametrize("suffix", [".CSV", ".Csv", ".TSV", ".tsv"])
def test_suffixes_in_any_case_and_tsv(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b"a\tb\ty\n1\t2\t0\n3\t4\t1\n")
    _expect(datafiles.read_table(path), ([[1, 2], [3, 4]], [0, 1], ("a", "b")))


def test_npy_and_npz_suffixes_in_any_case(tmp_path):
    table = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]])
    np.save(tmp_path / "t.npy", table)
    (tmp_path / "t.npy").rename(tmp_path / "T.NPY")
    _expect(datafiles.read_table(tmp_path / "T.NPY"), ([[1, 2], [3, 4]], [0, 1], None))
    np.savez(tmp_path / "t.npz", X=table[:, :2], y=table[:, 2])
    (tmp_path / "t.npz").rename(tmp_path / "T.NPZ")
    _expect(datafiles.read_table(tmp_path / "T.NPZ"), ([[1, 2], [3, 4]], [0.0, 1.0], None))


def test_a_frame_written_by_pandas_reads_back_without_its_index(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    frame = pd.DataFrame(X, columns=["p", "q", "r"], index=rng.permutation(50))
    frame["kind"] = np.array(["a", "b"])[(X[:, 0] > 0).astype(int)]
    frame.to_csv(tmp_path / "frame.csv")  # the index first, its header cell empty
    table = datafiles.read_table(tmp_path / "frame.csv")
    np.testing.assert_array_equal(table.X, X)  # round trip: repr-exact floats
    np.testing.assert_array_equal(table.y, frame["kind"].to_numpy(dtype=str))
    assert table.feature_names == ("p", "q", "r")


def test_a_bad_cell_far_down_is_located_by_its_line(tmp_path):
    """Past pandas' first chunk: its mixed-types warning is not raised, the cell is named."""
    lines = ["a,b,y", *(f"{i},{i / 7},{i % 2}" for i in range(200_000))]
    lines[150_001] = "5,red,1"  # line 150002 of the file
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="row 150002, column 'b' holds 'red'"):
        datafiles.read(path)


def test_reading_csv_without_pandas_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "d.csv").write_text("1,2,0\n")
    np.save(tmp_path / "d.npy", np.zeros((2, 3)))
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas: ImportError
    with pytest.raises(ImportError, match=r"needs pandas: pip install 'portnet\[cli\]'"):
        datafiles.read(tmp_path / "d.csv")
    assert datafiles.read(tmp_path / "d.npy")[0].shape == (2, 2)  # NumPy's files need NumPy only


def test_an_unreadable_npz_is_a_permission_error_not_a_bad_archive(tmp_path, monkeypatch):
    """A file this user may not read says so (the denial simulated: root reads anything)."""
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), y=np.zeros(2))

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(datafiles, "open", denied, raising=False)
    with pytest.raises(PermissionError, match="Permission denied"):
        datafiles.read(tmp_path / "d.npz")


def test_weights_of_npz_and_npy_files(tmp_path):
    """An .npz's weights are the array ``weights=`` names (as stored: train checks them);
    an .npy's, a column by index."""
    np.savez(tmp_path / "d.npz", X=np.eye(2), y=[0, 1], sample_weight=np.array([1.0, 2.0]))
    table = datafiles.read_table(tmp_path / "d.npz", weights="sample_weight")
    _expect(table, ([[1, 0], [0, 1]], [0, 1], None, [1.0, 2.0]))
    assert datafiles.read_table(tmp_path / "d.npz").sample_weight is None
    with pytest.raises(ValueError, match=re.escape("no array 'w' for the weights; it holds")):
        datafiles.read_table(tmp_path / "d.npz", weights="w")
    np.save(tmp_path / "d.npy", np.array([[1.0, 3.0, 2.0, 0.0], [4.0, 0.5, 5.0, 1.0]]))
    table = datafiles.read_table(tmp_path / "d.npy", weights=1)
    _expect(table, ([[1, 2], [4, 5]], [0, 1], None, [3.0, 0.5]))
