"""Saliency maps: overlays and grids of explanations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# Background black, then the ten tab10 colours (one per digit class of the
# default dataset), then tab20b for datasets with more classes.
from segxai_jax.viz._figures import (
    _check_grid_maps,
    _check_images,
    _check_row_labels,
    _image,
    _input_panel,
    _new_figure,
    _save,
    class_colormap,
)


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
    images = _check_images(images)
    count = images.shape[0]
    maps = _check_grid_maps(maps_by_method, count)
    titles = ["input", *maps] if titles is None else list(titles)
    if len(titles) != len(maps) + 1:
        raise ValueError(f"titles: expected {len(maps) + 1} titles, got {len(titles)}")
    _check_row_labels(row_labels, count)
    columns = len(maps) + 1
    fig = _new_figure((cell_inches * columns, cell_inches * count))
    axes = fig.subplots(count, columns, squeeze=False)
    for row in range(count):
        label = None if row_labels is None else str(row_labels[row])
        _input_panel(axes[row, 0], images[row], label)
        for col, m in enumerate(maps.values(), start=1):
            overlay(images[row], m[row], axes[row, col], alpha=alpha, cmap=cmap)
    for col, title in enumerate(titles):
        axes[0, col].set_title(title, fontsize=9)
    return _save(fig, path, dpi)


def fixed_scale_grid(
    images,
    maps_by_method: Mapping[str, object],
    path,
    *,
    vmin: float,
    vmax: float,
    row_labels: Sequence[str] | None = None,
    colorbar_label: str = "",
    alpha: float = 0.6,
    cmap: str = "jet",
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Like :func:`explanation_grid` but every map shares one colour scale.

    Shows how strong maps are in absolute terms (e.g. a score drop as a
    fraction of the clean score on ``[0, 1]``), which per-map limits hide.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.
      maps_by_method: column title -> maps ``[N, h, w]``.
      path: PNG file to write.
      vmin: lower colour limit shared by all maps.
      vmax: upper colour limit shared by all maps.
      row_labels: optional label per row.
      colorbar_label: label of the shared colour bar.
      alpha: opacity of the saliency layer.
      cmap: colour map of the saliency layer.
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images = _check_images(images)
    if not vmax > vmin:
        raise ValueError(f"vmax: expected > vmin ({vmin}), got {vmax}")
    count = images.shape[0]
    maps = _check_grid_maps(maps_by_method, count)
    _check_row_labels(row_labels, count)
    columns = len(maps) + 1
    fig = _new_figure((cell_inches * columns + 0.8, cell_inches * count))
    axes = fig.subplots(count, columns, squeeze=False)
    layer = None
    for row in range(count):
        label = None if row_labels is None else str(row_labels[row])
        _input_panel(axes[row, 0], images[row], label)
        for col, m in enumerate(maps.values(), start=1):
            layer = overlay(
                images[row],
                m[row],
                axes[row, col],
                alpha=alpha,
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
            )
    for col, title in enumerate(["input", *maps]):
        axes[0, col].set_title(title, fontsize=9)
    if layer is not None:
        fig.colorbar(layer, ax=axes, shrink=0.8, label=colorbar_label)
    return _save(fig, path, dpi)


def image_label_columns(
    images,
    labels,
    path,
    num_classes: int,
    *,
    titles: Sequence[str] | None = None,
    cell_inches: float = 1.8,
    dpi: int = 100,
) -> str:
    """Saves one column per image: the image above, a label map below.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]`` (e.g. occluded inputs).
      labels: ``[N, H, W]`` int label maps (e.g. the model's predictions).
      path: PNG file to write.
      num_classes: K; colours from :func:`class_colormap`.
      titles: optional title per column.
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or labels.shape != images.shape[:3]:
        raise ValueError(
            f"images/labels: expected [N, H, W, 3] and [N, H, W], got {images.shape} "
            f"and {labels.shape}"
        )
    count = images.shape[0]
    if titles is not None and len(titles) != count:
        raise ValueError(f"titles: expected {count} titles, got {len(titles)}")
    style = {
        "cmap": class_colormap(num_classes),
        "vmin": -0.5,
        "vmax": num_classes - 0.5,
    }
    fig = _new_figure((cell_inches * count, cell_inches * 2))
    axes = fig.subplots(2, count, squeeze=False)
    for col in range(count):
        axes[0, col].imshow(_image(images[col]))
        axes[1, col].imshow(labels[col], interpolation="nearest", **style)
        axes[0, col].set_axis_off()
        axes[1, col].set_axis_off()
        if titles is not None:
            axes[0, col].set_title(str(titles[col]), fontsize=8)
    return _save(fig, path, dpi)
