"""Segmentations: input, ground truth and prediction side by side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.patches import Patch

# Background black, then the ten tab10 colours (one per digit class of the
# default dataset), then tab20b for datasets with more classes.
from segxai_jax.viz._figures import (
    _image,
    _new_figure,
    _save,
    class_colormap,
)


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
