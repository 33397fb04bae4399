"""Figures for reports: saliency overlays, explanation grids, segmentations, curves.

Figures are built as ``matplotlib.figure.Figure`` objects and written with the
Agg renderer; ``pyplot`` is never imported, so nothing here touches global
figure state or needs a display. Inputs may be NumPy or JAX arrays.

Saliency maps are drawn as given: each map uses its own colour limits (its min
and max) unless ``vmin``/``vmax`` are passed, so post-process (e.g.
:func:`segxai_jax.postprocess.min_max`) first when maps must share a scale.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Background black, then the ten tab10 colours (one per digit class of the
# default dataset), then tab20b for datasets with more classes.
_PALETTE = np.concatenate(
    [
        np.zeros((1, 3)),
        np.asarray(matplotlib.colormaps["tab10"].colors)[:, :3],
        np.asarray(matplotlib.colormaps["tab20b"].colors)[:, :3],
    ]
)


def class_colormap(num_classes: int) -> ListedColormap:
    """A fixed categorical colour map: class 0 black, classes 1-10 tab10, ..."""
    if not 1 <= num_classes <= len(_PALETTE):
        raise ValueError(
            f"num_classes: expected 1 to {len(_PALETTE)} classes, got {num_classes}"
        )
    return ListedColormap(_PALETTE[:num_classes], name=f"classes{num_classes}")


def _image(image) -> np.ndarray:
    image = np.asarray(image, np.float32)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"image: expected [H, W, 3] (or 1 channel), got {image.shape}")
    image = np.clip(image, 0.0, 1.0)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _new_figure(figsize) -> Figure:
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)  # render with Agg whatever pyplot's backend is
    return fig


def _save(fig: Figure, path, dpi: int) -> str:
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def overlay(image, saliency, ax, *, alpha=0.5, cmap="jet", vmin=None, vmax=None):
    """Draws ``saliency`` over ``image`` on ``ax``.

    Args:
      image: ``[H, W, 3]`` with values in ``[0, 1]`` (clipped).
      saliency: ``[h, w]``; stretched over the image if its size differs (a
        CAM at layer resolution shows as blocks, honestly).
      ax: a matplotlib ``Axes``.
      alpha: opacity of the saliency layer.
      cmap: colour map name of the saliency layer.
      vmin: lower colour limit (default: the map's minimum).
      vmax: upper colour limit (default: the map's maximum).

    Returns:
      The saliency ``AxesImage`` (e.g. for a colour bar).
    """
    image = _image(image)
    saliency = np.asarray(saliency, np.float32)
    if saliency.ndim != 2:
        raise ValueError(f"saliency: expected [H, W], got shape {saliency.shape}")
    height, width = image.shape[:2]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ax.imshow(image, extent=extent)
    layer = ax.imshow(
        saliency, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax, extent=extent
    )
    ax.set_axis_off()
    return layer


def explanation_grid(
    images,
    maps_by_method: Mapping[str, object],
    path,
    *,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Saves a grid: one row per image; columns = the input, then one per method.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.
      maps_by_method: method name -> maps ``[N, h, w]`` (column order = dict
        order), drawn as overlays with :func:`overlay`.
      path: PNG file to write (parent folders are created).
      titles: column titles; default ``["input", *method names]``.
      row_labels: optional label per row (e.g. the explained class).
      alpha: opacity of the saliency layer.
      cmap: colour map of the saliency layer.
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected [N, H, W, 3], got shape {images.shape}")
    count = images.shape[0]
    maps = {name: np.asarray(m) for name, m in maps_by_method.items()}
    for name, m in maps.items():
        if m.ndim != 3 or m.shape[0] != count:
            raise ValueError(
                f"maps_by_method[{name!r}]: expected [{count}, h, w], got {m.shape}"
            )
    titles = ["input", *maps] if titles is None else list(titles)
    if len(titles) != len(maps) + 1:
        raise ValueError(f"titles: expected {len(maps) + 1} titles, got {len(titles)}")
    columns = len(maps) + 1
    fig = _new_figure((cell_inches * columns, cell_inches * count))
    axes = fig.subplots(count, columns, squeeze=False)
    for row in range(count):
        axes[row, 0].imshow(_image(images[row]))
        axes[row, 0].set_axis_off()
        if row_labels is not None:
            axes[row, 0].text(
                -0.05,
                0.5,
                str(row_labels[row]),
                rotation=90,
                va="center",
                ha="right",
                transform=axes[row, 0].transAxes,
            )
        for col, m in enumerate(maps.values(), start=1):
            overlay(images[row], m[row], axes[row, col], alpha=alpha, cmap=cmap)
    for col, title in enumerate(titles):
        axes[0, col].set_title(title, fontsize=9)
    return _save(fig, path, dpi)


def segmentation_grid(
    images,
    masks,
    predictions,
    path,
    num_classes: int,
    *,
    class_names: Sequence[str] | None = None,
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Saves rows of (input, ground truth, prediction) with a fixed class palette.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.
      masks: ground-truth labels ``[N, H, W]`` int.
      predictions: predicted labels ``[N, H, W]`` int (argmax of the logits).
      path: PNG file to write.
      num_classes: K; colours come from :func:`class_colormap`.
      class_names: legend names (default: the class ids).
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images, masks, predictions = map(np.asarray, (images, masks, predictions))
    if images.ndim != 4 or masks.shape != images.shape[:3]:
        raise ValueError(
            f"images/masks: expected [N, H, W, 3] and [N, H, W], got {images.shape} "
            f"and {masks.shape}"
        )
    if predictions.shape != masks.shape:
        raise ValueError(
            f"predictions: expected shape {masks.shape} (labels, not logits), got "
            f"{predictions.shape}"
        )
    colours = class_colormap(num_classes)
    style = {"cmap": colours, "vmin": -0.5, "vmax": num_classes - 0.5}
    count = images.shape[0]
    fig = _new_figure((cell_inches * 3, cell_inches * count + 0.6))
    axes = fig.subplots(count, 3, squeeze=False)
    for row in range(count):
        axes[row, 0].imshow(_image(images[row]))
        axes[row, 1].imshow(masks[row], interpolation="nearest", **style)
        axes[row, 2].imshow(predictions[row], interpolation="nearest", **style)
        for ax in axes[row]:
            ax.set_axis_off()
    for ax, title in zip(axes[0], ("input", "ground truth", "prediction"), strict=True):
        ax.set_title(title, fontsize=9)
    names = class_names or [str(c) for c in range(num_classes)]
    handles = [Patch(color=colours(c), label=names[c]) for c in range(num_classes)]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=min(num_classes, 11),
        fontsize=7,
        frameon=False,
    )
    return _save(fig, path, dpi)


def training_curve(history: Sequence[Mapping], path, *, dpi: int = 100) -> str:
    """Saves train loss and validation mIoU per epoch, side by side.

    Args:
      history: one dict per epoch with ``epoch``, ``train_loss`` and
        ``val_miou`` (as written by :mod:`segxai_jax.training`); missing or
        ``None`` values are skipped.
      path: PNG file to write.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    if not history:
        raise ValueError("history: expected at least one epoch")
    fig = _new_figure((8, 3))
    axes = fig.subplots(1, 2)
    for ax, key, label in zip(
        axes,
        ("train_loss", "val_miou"),
        ("train loss", "validation mIoU"),
        strict=True,
    ):
        points = [
            (entry["epoch"], entry[key])
            for entry in history
            if entry.get(key) is not None
        ]
        if points:
            epochs, values = zip(*points, strict=True)
            ax.plot(epochs, values, marker="o")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    return _save(fig, path, dpi)
