"""portnet.plots: one colour per class in the decision boundary's regions, points and legend."""

from __future__ import annotations

import numpy as np
import pytest

import portnet
from portnet import plots

pytest.importorskip("matplotlib", reason="the plots need matplotlib")

LABELS = np.array(["a", "b", "c"])


def _three_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    return X, LABELS[np.arange(90) % 3]


def _never_predicting(label):
    """A softmax model over a, b, c whose bias rules ``label`` out everywhere."""
    X, y = _three_classes()
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    b = np.where(label == LABELS, -1e3, 0.0)
    model = portnet.train(X, y, hidden=(), params=[(W, b)], iterations=0)
    return model, X, y


@pytest.mark.parametrize("missing", ["a", "b", "c"])
def test_regions_points_and_legend_agree_when_a_class_is_never_predicted(missing):
    import matplotlib.pyplot as plt

    model, X, y = _never_predicting(missing)
    predicted = set(model.predict(np.random.default_rng(1).normal(size=(2000, 2)) * 5))
    assert predicted == set(LABELS) - {missing}
    fig, ax = plt.subplots()
    try:
        plots.draw_boundary(ax, model, X, y, resolution=60)
        fig.canvas.draw()
        regions, points = ax.collections
        bands = regions.get_facecolor()[:, :3]  # one band per class, in classes_ order
        assert len(bands) == 3
        assert len({tuple(c) for c in bands}) == 3
        for k, label in enumerate(LABELS):
            np.testing.assert_allclose(points.get_facecolor()[y == label, :3], bands[[k] * 30])
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c"]
        swatches = [h.get_facecolor()[:3] for h in legend.legend_handles]
        np.testing.assert_allclose(swatches, bands)
    finally:
        plt.close(fig)


def test_class_colours_give_class_i_colour_i():
    cmap, norm = plots.class_colours(4)
    colours = [cmap(norm(i)) for i in range(4)]
    assert len(set(colours)) == 4
    assert colours == [tuple(c) for c in cmap.colors]


def test_class_index_places_labels_among_all_classes():
    np.testing.assert_array_equal(plots.class_index(np.array(["c", "a"]), LABELS), [2, 0])
    np.testing.assert_array_equal(plots.class_index(np.array([5, 2]), np.array([2, 5, 7])), [1, 0])
    np.testing.assert_array_equal(plots.class_index(np.eye(3)[[2, 0]], LABELS), [2, 0])
    with pytest.raises(ValueError, match=r"labels \['z'\] are not among the model's classes"):
        plots.class_index(np.array(["a", "z"]), LABELS)


@pytest.mark.parametrize("how", ["keyword", "dataframe", "neither"])
def test_axes_are_labelled_with_the_column_names(tmp_path, monkeypatch, how):
    import matplotlib.pyplot as plt

    model, X, y = _never_predicting("b")
    closed = []
    monkeypatch.setattr(plt, "close", closed.append)
    names = None
    if how == "keyword":
        names = ["length", "width"]
    elif how == "dataframe":
        pd = pytest.importorskip("pandas", reason="pandas is not installed")
        X = pd.DataFrame(X, columns=["length", "width"])
    path = plots.decision_boundary(model, X, y, tmp_path / "b.png", feature_names=names)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ax,) = closed[0].axes
    expected = ("$x_1$", "$x_2$") if how == "neither" else ("length", "width")
    assert (ax.get_xlabel(), ax.get_ylabel()) == expected
    with pytest.raises(ValueError, match="feature_names must name the 2 columns of X"):
        plots.decision_boundary(model, X, y, tmp_path / "c.png", feature_names=["one"])
