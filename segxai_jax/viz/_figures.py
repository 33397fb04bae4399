"""Helpers shared by the figure modules: colours, checks, saving."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

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


def _check_images(images) -> np.ndarray:
    """Converts a batch of grid images, checking it is ``[N, H, W, 3]``.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.

    Returns:
      ``images`` as a NumPy array.

    Raises:
      ValueError: ``images`` is not 4-dimensional.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected [N, H, W, 3], got shape {images.shape}")
    return images


def _check_grid_maps(
    maps_by_method: Mapping[str, object], count: int
) -> dict[str, np.ndarray]:
    """Converts the maps of a grid, checking each is ``[count, h, w]``.

    Args:
      maps_by_method: column title -> maps ``[count, h, w]``.
      count: number of images (rows) of the grid.

    Returns:
      The maps as NumPy arrays, in the order of ``maps_by_method``.

    Raises:
      ValueError: a map stack has another rank or number of rows.
    """
    maps = {name: np.asarray(m) for name, m in maps_by_method.items()}
    for name, m in maps.items():
        if m.ndim != 3 or m.shape[0] != count:
            raise ValueError(
                f"maps_by_method[{name!r}]: expected [{count}, h, w], got {m.shape}"
            )
    return maps


def _check_row_labels(row_labels: Sequence[str] | None, count: int) -> None:
    """Checks that ``row_labels`` (when given) has one label per image.

    Args:
      row_labels: optional label per row.
      count: number of images (rows) of the grid.

    Raises:
      ValueError: ``row_labels`` has another length than ``count``.
    """
    if row_labels is not None and len(row_labels) != count:
        raise ValueError(
            f"row_labels: expected {count} labels (one per image), "
            f"got {len(row_labels)}"
        )


def _input_panel(ax, image, label: str | None = None) -> None:
    """Draws a grid's input panel: the image, with ``label`` written on its left.

    Args:
      ax: a matplotlib ``Axes``.
      image: ``[H, W, 3]`` in ``[0, 1]`` (clipped).
      label: optional row label, written vertically left of the panel.
    """
    ax.imshow(_image(image))
    ax.set_axis_off()
    if label is not None:
        ax.text(
            -0.05,
            0.5,
            label,
            rotation=90,
            va="center",
            ha="right",
            transform=ax.transAxes,
        )
