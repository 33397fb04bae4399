"""Figures are written, non-blank, and leave no global matplotlib state."""

import matplotlib
import matplotlib.image
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from segxai_jax import viz

N, SIZE, CLASSES = 2, 16, 11


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(N, SIZE, SIZE, 3)).astype(np.float32)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    blob = np.exp(-((yy - 8) ** 2 + (xx - 5) ** 2) / 10.0)
    maps = np.stack([blob, blob.T])
    masks = (np.arange(SIZE * SIZE).reshape(SIZE, SIZE) % CLASSES)[None].repeat(N, 0)
    return images, maps, masks


def _assert_non_trivial_png(path):
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels.std() > 0.05  # not blank
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 20


def _open_pyplot_figures():
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    return 0 if pyplot is None else len(pyplot.get_fignums())


def test_overlay_draws_saliency_on_an_axes(data):
    images, maps, _ = data
    fig = Figure(figsize=(2, 2))
    ax = fig.subplots()
    layer = viz.overlay(images[0], maps[0][::2, ::2], ax, alpha=0.4)  # low-res map
    assert layer.get_alpha() == 0.4
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    assert rgba[..., :3].std() > 10


def test_explanation_grid_writes_png(tmp_path, data):
    images, maps, _ = data
    before = _open_pyplot_figures()
    path = viz.explanation_grid(
        images,
        {"gradient": maps, "grad-cam": maps[:, ::4, ::4]},
        tmp_path / "sub" / "grid.png",
        row_labels=["a", "b"],
    )
    _assert_non_trivial_png(path)
    assert _open_pyplot_figures() == before


def test_explanation_grid_rejects_mismatched_maps(tmp_path, data):
    images, maps, _ = data
    with pytest.raises(ValueError, match="maps_by_method"):
        viz.explanation_grid(images, {"gradient": maps[:1]}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="titles"):
        viz.explanation_grid(images, {"g": maps}, tmp_path / "x.png", titles=["a"])
    with pytest.raises(ValueError, match="row_labels"):
        viz.explanation_grid(
            images, {"g": maps}, tmp_path / "x.png", row_labels=["one"] * 99
        )


def test_segmentation_grid_writes_png_with_fixed_palette(tmp_path, data):
    images, _, masks = data
    path = viz.segmentation_grid(
        images, masks, np.roll(masks, 1, axis=-1), tmp_path / "seg.png", CLASSES
    )
    _assert_non_trivial_png(path)
    palette = viz.class_colormap(CLASSES)
    assert palette(0)[:3] == (0.0, 0.0, 0.0)
    assert len({palette(c) for c in range(CLASSES)}) == CLASSES
    with pytest.raises(ValueError, match="predictions"):
        viz.segmentation_grid(images, masks, masks[..., None], tmp_path / "x.png", 3)


def test_training_curve_writes_png(tmp_path):
    history = [
        {"epoch": e, "train_loss": 2.0 / e, "val_miou": 0.1 * e} for e in range(1, 6)
    ]
    history.append({"epoch": 6, "train_loss": 0.3, "val_miou": None})
    path = viz.training_curve(history, tmp_path / "curve.png")
    pixels = matplotlib.image.imread(path)[..., :3]
    assert pixels.shape[1] > 300 and pixels.std() > 0.05
    with pytest.raises(ValueError, match="history"):
        viz.training_curve([], tmp_path / "empty.png")


def test_mean_curves_writes_png_with_baseline(tmp_path):
    rng = np.random.default_rng(0)
    steps = np.linspace(0, 1, 9)
    curves = {
        "good": 1 - steps**0.3 + rng.normal(0, 0.02, (4, 9)),
        "random": np.tile(1 - steps, (3, 1)),
        "with nan": np.vstack([1 - steps, np.full(9, np.nan)]),
    }
    before = _open_pyplot_figures()
    path = viz.mean_curves(curves, tmp_path / "curves.png", baseline="random")
    _assert_non_trivial_png(path)
    assert _open_pyplot_figures() == before
    with pytest.raises(ValueError, match="baseline"):
        viz.mean_curves(curves, tmp_path / "x.png", baseline="nope")
    with pytest.raises(ValueError, match="curves_by_method"):
        viz.mean_curves({"flat": np.ones(9)}, tmp_path / "x.png")


def test_cost_quality_scatter_writes_png(tmp_path):
    labels = ["cheap", "mid", "slow", "free"]
    seconds = np.array([1e-3, 1e-2, 1.0, 0.0])  # a zero cost is not drawn (log)
    quality = np.array([0.5, 0.3, 0.35, 0.9])
    path = viz.cost_quality_scatter(
        seconds,
        quality,
        tmp_path / "scatter.png",
        labels=labels,
        errors=np.array([0.05, np.nan, 0.1, 0.0]),
        front=[0, 1],
        baseline=0.6,
    )
    _assert_non_trivial_png(path)
    with pytest.raises(ValueError, match="seconds/quality"):
        viz.cost_quality_scatter(
            seconds[:2], quality, tmp_path / "x.png", labels=labels
        )


def test_fixed_scale_grid_draws_every_map_on_the_given_scale(
    tmp_path, data, monkeypatch
):
    images, maps, _ = data
    limits, original = [], viz.overlay

    def recording_overlay(*args, **kwargs):
        limits.append((kwargs["vmin"], kwargs["vmax"]))
        return original(*args, **kwargs)

    monkeypatch.setattr(viz.maps, "overlay", recording_overlay)
    before = _open_pyplot_figures()
    path = viz.fixed_scale_grid(
        images,
        {"full": maps, "weak": 0.1 * maps[:, ::4, ::4]},  # low-res map too
        tmp_path / "sub" / "fixed.png",
        vmin=0.0,
        vmax=1.0,
        colorbar_label="drop / clean score",
        row_labels=["a", "b"],
    )
    _assert_non_trivial_png(path)
    assert _open_pyplot_figures() == before
    assert limits == [(0.0, 1.0)] * (2 * N)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vmin": 1.0, "vmax": 1.0}, "vmax"),
        ({"maps_by_method": {"a": np.zeros((N + 1, 4, 4))}}, "maps_by_method"),
        ({"maps_by_method": {"a": np.zeros((4, 4))}}, "maps_by_method"),
        ({"images": np.zeros((SIZE, SIZE, 3))}, "images"),
        ({"row_labels": ["only one"]}, "row_labels"),
    ],
)
def test_fixed_scale_grid_rejects_bad_inputs(tmp_path, data, kwargs, field):
    images, maps, _ = data
    arguments = {
        "images": images,
        "maps_by_method": {"a": maps},
        "path": tmp_path / "x.png",
        "vmin": 0.0,
        "vmax": 1.0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=field):
        viz.fixed_scale_grid(**arguments)
    assert not (tmp_path / "x.png").exists()


def test_matrix_heatmaps_writes_png(tmp_path):
    labels = ["black", "grey", "blur"]
    rho = np.array([[1.0, 0.4, -0.2], [0.4, 1.0, 0.7], [-0.2, 0.7, 1.0]])
    structural = rho.copy()
    structural[0, 2] = np.nan  # not annotated, still drawn
    before = _open_pyplot_figures()
    path = viz.matrix_heatmaps(
        {"Spearman": rho, "SSIM": structural}, labels, tmp_path / "sim.png"
    )
    _assert_non_trivial_png(path)
    assert _open_pyplot_figures() == before


def test_matrix_heatmaps_rejects_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="matrices"):
        viz.matrix_heatmaps({}, ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"matrices\['wide'\]"):
        viz.matrix_heatmaps(
            {"ok": np.eye(2), "wide": np.ones((2, 3))}, ["a", "b"], tmp_path / "x.png"
        )
    with pytest.raises(ValueError, match=r"matrices\['ok'\]"):  # one label short
        viz.matrix_heatmaps({"ok": np.eye(2)}, ["a"], tmp_path / "x.png")


def _bars(means):
    means = np.asarray(means, np.float64)
    return means, means - 0.1, means + 0.1


def test_grouped_bars_writes_png(tmp_path):
    fills = ["black", "grey", "blur", "noise", "white"]  # > 4: rotated labels
    nan_ci = (np.array([0.1, 0.2, 0.3, 0.2, 0.1]),) + (np.full(5, np.nan),) * 2
    panels = {
        "fake digit": {"k=4": _bars([0.3, 0.1, 0.0, 0.05, 0.2]), "k=8": nan_ci},
        "changed outside": {"k=4": _bars([-0.1, 0.2, 0.1, 0.1, 0.3])},
    }
    before = _open_pyplot_figures()
    path = viz.grouped_bars(panels, fills, tmp_path / "bars.png", ylabel="share")
    _assert_non_trivial_png(path)
    assert _open_pyplot_figures() == before


@pytest.mark.parametrize(
    ("panels", "match"),
    [
        ({}, "panels"),
        ({"p": {}}, r"panels\['p'\]"),
        ({"p": {"s": _bars([0.1, 0.2])}}, r"panels\['p'\]\['s'\]"),  # 2 of 3 values
        ({"p": {"s": _bars([0.1, 0.2, 0.3])[:2]}}, r"panels\['p'\]\['s'\]"),
        (
            {"p": {"s": (np.zeros(3), np.zeros(3), np.zeros(2))}},  # short highs
            r"panels\['p'\]\['s'\]",
        ),
    ],
)
def test_grouped_bars_rejects_bad_inputs(tmp_path, panels, match):
    with pytest.raises(ValueError, match=match):
        viz.grouped_bars(panels, ["a", "b", "c"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_image_label_columns_writes_png(tmp_path, data):
    images, _, masks = data
    before = _open_pyplot_figures()
    path = viz.image_label_columns(
        images,
        masks,
        tmp_path / "sub" / "columns.png",
        CLASSES,
        titles=["clean", "black"],
    )
    _assert_non_trivial_png(path)
    assert _open_pyplot_figures() == before


def test_image_label_columns_rejects_bad_inputs(tmp_path, data):
    images, _, masks = data
    with pytest.raises(ValueError, match="images/labels"):
        viz.image_label_columns(images, masks[:1], tmp_path / "x.png", CLASSES)
    with pytest.raises(ValueError, match="images/labels"):
        viz.image_label_columns(images[0], masks[0], tmp_path / "x.png", CLASSES)
    with pytest.raises(ValueError, match="titles"):
        viz.image_label_columns(
            images, masks, tmp_path / "x.png", CLASSES, titles=["one"]
        )
    with pytest.raises(ValueError, match="num_classes"):
        viz.image_label_columns(images, masks, tmp_path / "x.png", 0)
