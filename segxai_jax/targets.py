"""What is explained: a class and a region of interest (ROI) of the output.

The seed paper explains "the summed-up pre-Softmax prediction scores for the
selected class": ``S_c(x; M) = sum_{(i, j) in M} f(x)[i, j, c]``. A
:class:`Target` holds ``c`` and ``M`` as arrays, so many targets can be
``vmap``-ped through one explainer. Whenever an explainer or metric perturbs the
input or the activations, ``M`` stays what it was (frozen from the clean
prediction); only the logits change.

References:
  Gipiskis. XAI-driven model improvements in interpretable image segmentation.
  xAI 2024 (doctoral consortium), Fig. 1.
  Vinogradova, Dibrov, Myers. Towards interpretable semantic segmentation via
  gradient-weighted class activation mapping. AAAI 2020 (student abstract).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

REDUCTIONS = ("sum", "mean")
SPACES = ("logits", "probabilities")


@struct.dataclass
class Target:
    """A class id and an ROI mask; a pytree, so it can be batched and vmapped.

    Attributes:
      class_id: int32 scalar ``[]`` (``[T]`` for a batch of targets).
      mask: float32 ``[H, W]`` with 1 inside the ROI (``[T, H, W]`` batched).
        Non-binary weights are allowed and act as per-pixel weights.
    """

    class_id: jax.Array
    mask: jax.Array


def make_target(class_id, mask) -> Target:
    """Builds a :class:`Target`, casting to int32 / float32."""
    return Target(
        class_id=jnp.asarray(class_id, jnp.int32), mask=jnp.asarray(mask, jnp.float32)
    )


def target_score(
    logits: jax.Array,
    target: Target,
    *,
    reduction: str = "sum",
    space: str = "logits",
) -> jax.Array:
    """The scalar being explained, ``S_c(x; M)``.

    Args:
      logits: pre-softmax scores ``[H, W, K]``.
      target: class ``c`` and ROI ``M [H, W]``.
      reduction: ``"sum"`` (the paper's) or ``"mean"`` over the ROI (divides by
        ``sum(M)``, making scores comparable between ROIs of different sizes).
      space: ``"logits"`` (the paper's) or ``"probabilities"`` (softmax over K,
        as in the official Seg-Grad-CAM code).

    Returns:
      A float32 scalar.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    if space not in SPACES:
        raise ValueError(f"space: expected one of {SPACES}, got {space!r}")
    if logits.ndim != 3 or target.mask.shape != logits.shape[:2]:
        raise ValueError(
            "logits/target.mask: expected logits [H, W, K] and mask [H, W], got "
            f"{logits.shape} and {target.mask.shape}"
        )
    scores = jax.nn.softmax(logits, axis=-1) if space == "probabilities" else logits
    class_map = jnp.take(scores, target.class_id, axis=-1)  # [H, W]
    total = jnp.sum(class_map * target.mask)
    if reduction == "mean":
        total = total / jnp.maximum(jnp.sum(target.mask), 1e-12)
    return total


def check_score_options(score_reduction: str, score_space: str) -> None:
    """Raises ``ValueError`` naming ``score_reduction``/``score_space`` if unknown."""
    if score_reduction not in REDUCTIONS:
        raise ValueError(
            f"score_reduction: expected one of {REDUCTIONS}, got {score_reduction!r}"
        )
    if score_space not in SPACES:
        raise ValueError(f"score_space: expected one of {SPACES}, got {score_space!r}")


def validate_target(target: Target, *, num_classes: int, spatial_shape) -> None:
    """Checks a concrete target outside ``jit``; raises ``ValueError`` if invalid.

    Args:
      target: a single target (``class_id []``, ``mask [H, W]``) or a batch
        (``[T]``, ``[T, H, W]``).
      num_classes: K of the model's logits.
      spatial_shape: ``(H, W)`` of the logits.
    """
    class_id = np.asarray(target.class_id)
    mask = np.asarray(target.mask)
    if mask.shape[-2:] != tuple(spatial_shape) or mask.ndim != class_id.ndim + 2:
        raise ValueError(
            f"target.mask: expected shape {(*class_id.shape, *spatial_shape)} "
            f"(class_id has shape {class_id.shape}), got {mask.shape}"
        )
    if np.any(class_id < 0) or np.any(class_id >= num_classes):
        raise ValueError(
            f"target.class_id: expected values in [0, {num_classes}), got {class_id}"
        )
    if not np.all(np.isfinite(mask)):
        raise ValueError("target.mask: expected finite values")
    empty = mask.reshape(*class_id.shape, -1).sum(-1) <= 0
    if np.any(empty):
        raise ValueError(
            "target.mask: expected a non-empty ROI (at least one positive pixel); "
            f"{int(np.sum(empty))} target(s) have an all-zero mask"
        )


# ----------------------------------------------------------------------------
# ROI builders (all jittable; masks are float32 [H, W])


def predicted_class_roi(logits: jax.Array, class_id) -> jax.Array:
    """Pixels whose predicted class (argmax over K) is ``class_id``: ``[H, W]``."""
    return (jnp.argmax(logits, axis=-1) == class_id).astype(jnp.float32)


def ground_truth_roi(labels: jax.Array, class_id) -> jax.Array:
    """Pixels of class ``class_id`` in an integer label map ``[H, W]``."""
    return (labels == class_id).astype(jnp.float32)


def pixel_roi(spatial_shape, row, col) -> jax.Array:
    """A single pixel ``(row, col)``; indices may be traced."""
    rows, cols = _grids(spatial_shape)
    return ((rows == row) & (cols == col)).astype(jnp.float32)


def box_roi(spatial_shape, top, left, height, width) -> jax.Array:
    """The box ``[top, top + height) x [left, left + width)``; values may be traced."""
    rows, cols = _grids(spatial_shape)
    inside = (rows >= top) & (rows < top + height) & (cols >= left)
    return (inside & (cols < left + width)).astype(jnp.float32)


def largest_component_roi(binary: jax.Array) -> jax.Array:
    """The largest 4-connected component of a binary mask ``[H, W]`` (jittable).

    Components are found by propagating the maximum pixel index through
    4-neighbours until nothing changes (at most ``H * W`` sweeps, in practice
    about the component's diameter). Ties between equally large components go to
    the one containing the highest flat pixel index. An empty input gives an
    empty output.
    """
    h, w = binary.shape
    on = binary > 0
    labels = jnp.where(on, jnp.arange(1, h * w + 1).reshape(h, w), 0)

    def sweep(current):
        padded = jnp.pad(current, 1)
        neighbours = jnp.stack(
            [
                padded[:-2, 1:-1],
                padded[2:, 1:-1],
                padded[1:-1, :-2],
                padded[1:-1, 2:],
                current,
            ]
        )
        return jnp.where(on, neighbours.max(axis=0), 0)

    def cond(carry):
        previous, current = carry
        return jnp.any(previous != current)

    def body(carry):
        _, current = carry
        return current, sweep(current)

    _, labels = jax.lax.while_loop(cond, body, (labels, sweep(labels)))
    sizes = jnp.bincount(labels.reshape(-1), length=h * w + 1).at[0].set(0)
    best = jnp.argmax(sizes[::-1])  # last maximum = highest label among ties
    best = h * w - best
    return ((labels == best) & on).astype(jnp.float32)


def _grids(spatial_shape):
    h, w = spatial_shape
    return jnp.arange(h)[:, None], jnp.arange(w)[None, :]


def class_targets(
    labels: jax.Array, num_classes: int, *, skip_background: bool = True
) -> Target:
    """One target per class present in a label map (concrete, outside ``jit``).

    Args:
      labels: ``[H, W]`` integer map (a prediction or the ground truth).
      num_classes: K.
      skip_background: leave out class 0.

    Returns:
      A batched :class:`Target` with ``class_id [T]`` and ``mask [T, H, W]``.
    """
    labels = np.asarray(labels)
    present = [
        c for c in range(int(skip_background), num_classes) if np.any(labels == c)
    ]
    if not present:
        raise ValueError("labels: no class to explain is present")
    masks = np.stack([(labels == c).astype(np.float32) for c in present])
    return make_target(np.asarray(present, np.int32), masks)
