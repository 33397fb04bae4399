"""Which target each image is explained for."""

from __future__ import annotations

import numpy as np

from segxai_jax.targets import Target, make_target


def largest_digit_targets(
    predicted: np.ndarray, ground_truth: np.ndarray, num_classes: int
) -> Target:
    """Per image: the digit class with the largest predicted area, its region.

    Class 0 is the background. Falls back to the ground truth when the model
    predicts no digit (e.g. an untrained smoke-test model). Ties between
    classes go to the lower class id (``np.argmax``).

    Args:
      predicted: predicted labels ``[B, H, W]`` int.
      ground_truth: true labels ``[B, H, W]`` int.
      num_classes: K (background included).

    Returns:
      A :class:`~segxai_jax.targets.Target` with ``class_id [B]`` and the
      predicted region of that class as ``mask [B, H, W]``.
    """
    class_ids, masks = [], []
    for pred, truth in zip(predicted, ground_truth, strict=True):
        labels = pred if np.any(pred > 0) else truth
        areas = np.bincount(labels.ravel(), minlength=num_classes)[1:]
        class_id = int(np.argmax(areas)) + 1
        class_ids.append(class_id)
        masks.append((labels == class_id).astype(np.float32))
    return make_target(np.asarray(class_ids), np.stack(masks))
