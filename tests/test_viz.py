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
