"""Segmentation quality: confusion matrix, pixel accuracy, IoU, mIoU and Dice."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation


def confusion_matrix(
    predictions: jax.Array,
    labels: jax.Array,
    num_classes: int,
    *,
    ignore_label: int | None = None,
) -> jax.Array:
    """Counts of (label, prediction) pairs; jittable.

    Args:
      predictions: predicted classes ``[...]`` int in ``[0, K)``.
      labels: true classes, same shape, in ``[0, K)``; pixels equal to
        ``ignore_label`` (e.g. 255) are left out.
      num_classes: K.
      ignore_label: a label value to leave out of the counts, or ``None``.

    Returns:
      ``[K, K]`` int32 matrix, rows = labels, columns = predictions.

    Raises:
      ValueError: concrete predictions or labels outside ``[0, K)`` (labels:
        other than ``ignore_label``). Under ``jit`` values cannot be checked:
        a pixel with a prediction outside ``[0, K)``, or a label outside
        ``[0, K)`` that is not ``ignore_label``, turns EVERY count into -1,
        which :func:`segmentation_scores` refuses, so a wrong class count
        never gives a plausible score.
    """
    num_classes = validation.check_int(num_classes, "num_classes", minimum=1)
    validation.check_optional_int(ignore_label, "ignore_label")
    predictions = (
        jnp.asarray(predictions) if isinstance(predictions, list) else predictions
    )
    labels = jnp.asarray(labels) if isinstance(labels, list) else labels
    validation.check_label_array(predictions, "predictions", num_classes=num_classes)
    validation.check_label_array(
        labels, "labels", num_classes=num_classes, ignore_label=ignore_label
    )
    if tuple(predictions.shape) != tuple(labels.shape):
        raise ValueError(
            f"labels: expected the shape of predictions {tuple(predictions.shape)}, "
            f"got {tuple(labels.shape)}"
        )
    labels = jnp.asarray(labels).reshape(-1)
    predictions = jnp.asarray(predictions).reshape(-1)
    in_range = (labels >= 0) & (labels < num_classes)
    ignored = labels == ignore_label if ignore_label is not None else False
    valid = in_range & ~ignored
    index = jnp.where(valid, labels * num_classes + predictions, 0)
    counts = jnp.bincount(
        index, weights=valid.astype(jnp.int32), length=num_classes * num_classes
    )
    counts = counts.reshape(num_classes, num_classes).astype(jnp.int32)
    bad = jnp.any((predictions < 0) | (predictions >= num_classes)) | jnp.any(
        ~in_range & ~ignored
    )
    return jnp.where(bad, -1, counts)


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
    cm = np.asarray(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion: expected a square [K, K] matrix, got {cm.shape}")
    if not np.issubdtype(cm.dtype, np.number):
        raise TypeError(f"confusion: expected counts, got dtype {cm.dtype}")
    cm = cm.astype(np.float64)
    if not np.all(np.isfinite(cm)) or np.any(cm < 0):
        raise ValueError(
            "confusion: expected non-negative finite counts; -1 everywhere means "
            "confusion_matrix saw a prediction or label outside [0, K) under jit "
            "(the model's class count differs from num_classes?)"
        )
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
