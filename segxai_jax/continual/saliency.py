"""Saliency of exemplars from the current model, for compression.

The target of an exemplar is the class of its task with the largest
ground-truth area in its mask, and its ROI those pixels (the "summed-up
pre-softmax scores" target of the seed paper, with a ground-truth ROI). Any
explainer of the library can produce the map; Seg-Grad-CAM at the U-Net
bottleneck is the default of :func:`default_explainer`.

References:
  Vinogradova, Dibrov, Myers. Towards interpretable semantic segmentation via
  gradient-weighted class activation mapping. AAAI 2020 (student abstract).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.explainers import explain_batch, seg_grad_cam
from segxai_jax.probes import make_probe
from segxai_jax.targets import Target


def exemplar_targets(
    masks: jax.Array, classes: Sequence[int], num_classes: int
) -> Target:
    """Per image, the class of ``classes`` with the largest area, and its pixels.

    Args:
      masks: ``[B, H, W]`` int labels.
      classes: candidate classes (a task's classes), non-empty.
      num_classes: K.

    Returns:
      :class:`~segxai_jax.targets.Target` with ``class_id [B]`` and ``mask
      [B, H, W]`` float32. An image without any of ``classes`` gets the first
      class and an empty ROI (its map is then zero for Grad-CAM).
    """
    if len(classes) == 0:
        raise ValueError("classes: expected at least one class, got none")
    candidates = jnp.asarray(classes, jnp.int32)
    onehot = jax.nn.one_hot(masks, num_classes, dtype=jnp.float32)
    areas = onehot.sum(axis=(1, 2))[:, candidates]  # [B, len(classes)]
    class_id = candidates[jnp.argmax(areas, axis=1)]
    roi = (masks == class_id[:, None, None]).astype(jnp.float32)
    return Target(class_id=class_id, mask=roi)


def default_explainer(model, *, image_shape: Sequence[int], layer: str = "bottleneck"):
    """Seg-Grad-CAM at ``layer`` of a Linen U-Net, ``[H, W]`` maps."""
    return seg_grad_cam(make_probe(model, layer, input_shape=tuple(image_shape)))


def saliency_fn(explain: Callable, *, num_classes: int) -> Callable:
    """``f(params, images [B, H, W, 3], masks [B, H, W], classes) -> [B, H, W]``.

    Args:
      explain: ``explain(key, params, x, target) -> [H, W]`` (or ``[H, W, C]``,
        reduced by the sum of absolute values over channels); deterministic
        explainers are called with ``key=None``.
      num_classes: K.

    Returns:
      A function to jit with ``classes`` static (a tuple of ints).
    """
    from segxai_jax.explainers.smoothgrad import check_explainer

    check_explainer(explain, "explain")
    validation.check_int(num_classes, "num_classes", minimum=2)
    batched = explain_batch(explain)

    def saliency(params, images, masks, classes):
        targets = exemplar_targets(masks, classes, num_classes)
        maps = batched(None, params, images, targets)
        if maps.ndim == 4 and maps.shape[:3] == images.shape[:3]:
            maps = jnp.abs(maps).sum(axis=-1)
        if maps.shape != images.shape[:3]:
            raise ValueError(
                f"explain: expected one saliency map [H, W] (or [H, W, C]) of the "
                f"image size {tuple(images.shape[1:3])} per image to place the "
                f"compressed windows, got maps of shape {tuple(maps.shape[1:])}; "
                "use an explainer whose maps are upsampled to the input (e.g. a "
                "CAM with output_size='input')"
            )
        return maps

    return saliency
