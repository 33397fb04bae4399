"""Segmentation quality: confusion matrix, pixel accuracy, IoU, mIoU and Dice."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def confusion_matrix(
    predictions: jax.Array, labels: jax.Array, num_classes: int
) -> jax.Array:
    """Counts of (label, prediction) pairs; jittable.

    Args:
      predictions: predicted classes ``[...]`` int.
      labels: true classes, same shape; values outside ``[0, num_classes)`` are
        ignored (e.g. an ignore label 255).
      num_classes: K.

    Returns:
      ``[K, K]`` int32 matrix, rows = labels, columns = predictions.
    """
    labels = labels.reshape(-1)
    predictions = predictions.reshape(-1)
    valid = (labels >= 0) & (labels < num_classes)
    index = jnp.where(valid, labels * num_classes + predictions, 0)
    counts = jnp.bincount(
        index, weights=valid.astype(jnp.int32), length=num_classes * num_classes
    )
    return counts.reshape(num_classes, num_classes).astype(jnp.int32)


def segmentation_scores(confusion: np.ndarray) -> dict:
    """Scores from an accumulated confusion matrix.

    Classes that appear neither in the labels nor in the predictions have an
    undefined IoU/Dice (NaN in the per-class lists) and are left out of the means.

    Args:
      confusion: ``[K, K]`` counts, rows = labels, columns = predictions.

    Returns:
      dict with ``pixel_accuracy``, ``iou`` (list of K), ``miou``, ``dice`` (list
      of K) and ``mean_dice``.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    union = tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(union > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
    total = cm.sum()
    return {
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
        "iou": [float(v) for v in iou],
        "miou": float(np.nanmean(iou)) if np.any(union > 0) else float("nan"),
        "dice": [float(v) for v in dice],
        "mean_dice": float(np.nanmean(dice)) if np.any(union > 0) else float("nan"),
    }
