"""Per-image measures of one teacher in :mod:`experiments.context_bias`.

Segmentation, Seg-Grad-CAM mass outside the digit and context removal on
the test pairs; segmentation on the natural test images.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from experiments.shared.stats import mean_ci
from segxai_jax.explainers import apply_fill, make_fill, seg_grad_cam
from segxai_jax.models import unet_apply_fn
from segxai_jax.probes import make_probe
from segxai_jax.targets import make_target, target_score


def segmentation_measures(
    pred: np.ndarray, mask: np.ndarray, label: np.ndarray, family
):
    """Per-image segmentation measures ``{name: [N]}`` of one digit per image."""
    c = (label + 1)[:, None, None]
    truth = mask == c
    predicted = pred == c
    digit = mask > 0
    overlap = (truth & predicted).sum((1, 2))
    sizes = truth.sum((1, 2)) + predicted.sum((1, 2))
    on_digit = np.maximum(truth.sum((1, 2)), 1)
    shortcut_class = (np.asarray(family) + 1)[:, None, None]
    return {
        "dice": np.where(sizes > 0, 2 * overlap / np.maximum(sizes, 1), 1.0),
        "correct_class": (truth & predicted).sum((1, 2)) / on_digit,
        "shortcut_class": (truth & (pred == shortcut_class)).sum((1, 2)) / on_digit,
        "missed_as_background": (truth & (pred == 0)).sum((1, 2)) / on_digit,
        "background_false_digit": ((~digit) & (pred > 0)).sum((1, 2))
        / np.maximum((~digit).sum((1, 2)), 1),
    }


def _context_masks(mask: np.ndarray, radius: int) -> np.ndarray:
    """``[N, H, W]`` bool: pixels farther than ``radius`` from every digit pixel."""
    if radius == 0:
        return mask == 0
    offsets = np.arange(-radius, radius + 1)
    disk = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2
    near = np.stack([ndimage.binary_dilation(m > 0, structure=disk) for m in mask])
    return ~near


def measure_teacher(
    model,
    params,
    images,
    mask,
    label,
    family,
    key,
    *,
    cam_layer: str,
    context_radius: int,
    context_fill: str,
):
    """Segmentation, CAM and context-removal measures ``{name: [N]}``.

    Seg-Grad-CAM at ``cam_layer``; the far context (farther than
    ``context_radius`` px from the digit) replaced by the ``context_fill``.
    """
    apply_fn = unet_apply_fn(model)
    batch_apply = jax.jit(jax.vmap(apply_fn, (None, 0)))
    x = jnp.asarray(images)
    logits = batch_apply(params, x)
    pred = np.asarray(logits.argmax(-1))
    out = segmentation_measures(pred, mask, label, family)
    truth = (mask == (label + 1)[:, None, None]).astype(np.float32)
    targets = make_target(label + 1, truth)
    probe = make_probe(model, cam_layer, input_shape=tuple(images.shape[1:]))
    cams = jax.jit(jax.vmap(seg_grad_cam(probe), (None, None, 0, 0)))(
        key, params, x, targets
    )
    positive = np.maximum(np.asarray(cams), 0.0)
    total = positive.sum((1, 2))
    far = _context_masks(mask, context_radius)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cam_outside_mask"] = (positive * (1 - truth)).sum((1, 2)) / total
        out["cam_far_context"] = (positive * far).sum((1, 2)) / total
    out["area_outside_mask"] = 1 - truth.mean((1, 2))
    out["area_far_context"] = far.mean((1, 2))
    fill = make_fill(context_fill)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(images))
    substrates = jax.vmap(
        lambda k, xi: fill.substrate(k, xi, jnp.zeros(xi.shape[:2], xi.dtype))
    )(keys, x)
    removed = jax.vmap(apply_fill)(x, substrates, jnp.asarray(far, jnp.float32))
    removed_logits = batch_apply(params, removed)
    score = jax.vmap(target_score)(logits, targets)
    removed_score = jax.vmap(target_score)(removed_logits, targets)
    out["context_removal_drop"] = np.asarray(
        (score - removed_score) / jnp.maximum(jnp.abs(score), 1e-12)
    )
    removed_seg = segmentation_measures(
        np.asarray(removed_logits.argmax(-1)), mask, label, family
    )
    out["context_removal_dice_drop"] = out["dice"] - removed_seg["dice"]
    return out, pred, np.asarray(cams)


def natural_images(teachers, test: dict, num_natural: int) -> dict:
    """The first ``num_natural`` test images, grouped by whether their family
    matches the digit."""
    count = min(num_natural, len(test["image"]))
    mask = test["mask"][:count]
    label = mask.reshape(count, -1).max(1) - 1  # one digit per image
    family = np.asarray(test["family"][:count])
    matched = family == label
    out = {"count": count, "matched_share": float(matched.mean())}
    for name, (model, params, _) in teachers.items():
        batch_apply = jax.jit(jax.vmap(unet_apply_fn(model), (None, 0)))
        pred = np.concatenate(
            [
                np.asarray(batch_apply(params, test["image"][s : s + 100]).argmax(-1))
                for s in range(0, count, 100)
            ]
        )
        seg = segmentation_measures(pred, mask, label, family)
        out[name] = {
            group: {m: mean_ci(v[sel]) for m, v in seg.items()}
            for group, sel in (("matched", matched), ("mismatched", ~matched))
        }
    return out
