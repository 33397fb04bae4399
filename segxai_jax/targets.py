"""What is explained: a class and a region of interest (ROI) of the output.

The seed paper explains "the summed-up pre-Softmax prediction scores for the
selected class": ``S_c(x; M) = sum_{(i, j) in M} f(x)[i, j, c]``. A
:class:`Target` holds ``c`` and ``M`` as arrays, so many targets can be
``vmap``-ped through one explainer. Whenever an explainer or metric perturbs the
input or the activations, ``M`` stays what it was (frozen from the clean
prediction); only the logits change.

Invalid targets under ``jit``. Outside ``jit`` every public function refuses
an invalid target (a class id outside ``[0, K)``, an empty or non-finite ROI)
with a ``ValueError``. Inside ``jit`` the values are not known, so
:func:`target_score` multiplies the score by :func:`target_validity`, which is
1 for a valid target and NaN otherwise: the score, its gradients and every map,
curve or metric built on them are NaN, never a plausible all-zero map.

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

from segxai_jax import validation
from segxai_jax.types import Target
from segxai_jax.validation import check_target_kind

REDUCTIONS = ("sum", "mean")
SPACES = ("logits", "probabilities", "sigmoid")


def make_target(class_id, mask) -> Target:
    """Builds a :class:`Target`, casting to int32 / float32.

    Args:
      class_id: an integer (or integer array ``[T]`` for a batch of targets).
      mask: ``[H, W]`` (``[T, H, W]``) ROI weights; bool or numbers.

    Raises:
      TypeError: a class id that is not an integer (``2.5`` would be truncated).
      ValueError: a mask whose rank does not fit the class id's, or a concrete
        class id below 0.
    """
    if isinstance(class_id, Target) or isinstance(mask, Target):
        raise TypeError("make_target: expected (class_id, mask), got a Target")
    class_array = class_id if hasattr(class_id, "dtype") else np.asarray(class_id)
    if isinstance(class_id, bool) or not np.issubdtype(
        np.dtype(class_array.dtype), np.integer
    ):
        raise TypeError(
            f"class_id: expected an integer class id (or an int array), got "
            f"{type(class_id).__name__} {class_id!r}"
        )
    mask_array = mask if hasattr(mask, "dtype") else np.asarray(mask)
    if mask_array.dtype == object or not (
        np.issubdtype(np.dtype(mask_array.dtype), np.number)
        or np.dtype(mask_array.dtype) == np.bool_
    ):
        raise TypeError(
            f"mask: expected a numeric array [H, W], got {mask_array.dtype}"
        )
    class_shape = np.shape(class_array)
    if (
        np.ndim(mask_array) < len(class_shape) + 2
        or np.shape(mask_array)[: len(class_shape)] != class_shape
    ):
        raise ValueError(
            f"mask: expected shape [H, W] (or [D, H, W]) for a scalar class id "
            f"([T, H, W] for class ids [T]), got {np.shape(mask_array)} with "
            f"class_id shape {class_shape}"
        )
    if validation.is_concrete(class_array) and np.any(np.asarray(class_array) < 0):
        raise ValueError(f"class_id: expected values >= 0, got {np.asarray(class_id)}")
    return Target(
        class_id=jnp.asarray(class_array, jnp.int32),
        mask=jnp.asarray(mask_array, jnp.float32),
    )


def _class_limit(target: Target, num_classes: int) -> int:
    return 2 if target.kind == "binary" else num_classes


def target_validity(target: Target, num_classes: int) -> jax.Array:
    """1.0 for a valid target, NaN otherwise; jittable.

    Valid: ``0 <= class_id < num_classes`` (``class_id`` in ``{0, 1}`` for a
    binary target) and a finite ROI with a positive sum. Multiplying a score
    by it makes an invalid target's score and all its derivatives NaN
    (``0 * NaN`` is NaN), which is how invalid targets surface under ``jit``,
    where they cannot raise.
    """
    c = target.class_id
    mask = target.mask
    limit = _class_limit(target, num_classes)
    valid = (c >= 0) & (c < limit) & jnp.all(jnp.isfinite(mask)) & (jnp.sum(mask) > 0)
    return jnp.where(valid, 1.0, jnp.nan).astype(jnp.float32)


def target_score(
    logits: jax.Array,
    target: Target,
    *,
    reduction: str = "sum",
    space: str = "logits",
) -> jax.Array:
    """The scalar being explained, ``S_c(x; M)``.

    Args:
      logits: pre-softmax scores ``[H, W, K]`` (any spatial rank: ``[D, H, W,
        K]`` for volumes; ``K = 1`` for a binary segmenter).
      target: class ``c`` and ROI ``M`` of the logits' spatial shape.
      reduction: ``"sum"`` (the paper's) or ``"mean"`` over the ROI (divides by
        ``sum(M)``, making scores comparable between ROIs of different sizes).
      space: ``"logits"`` (the paper's), ``"probabilities"`` (softmax over K,
        as in the official Seg-Grad-CAM code) or ``"sigmoid"`` (per-class
        sigmoid: multi-label segmenters). For a binary target the logit space
        scores the class's log-odds (``z`` for the foreground, ``-z`` for the
        background) and both other spaces its probability (``sigmoid(+-z)``),
        so a background explanation is the foreground's with the sign flipped
        before any ReLU (sign-safe CAM weights).

    Returns:
      A float32 scalar; NaN for an invalid target under ``jit`` (see
      :func:`target_validity`; outside ``jit`` explainers raise instead).
    """
    validation.check_choice(reduction, "reduction", REDUCTIONS)
    validation.check_choice(space, "space", SPACES)
    validation.check_target(target)
    if logits.ndim != target.mask.ndim + 1 or target.mask.shape != logits.shape[:-1]:
        raise ValueError(
            "logits/target.mask: expected logits [*S, K] and mask [*S] of the same "
            f"spatial shape S, got {logits.shape} and {target.mask.shape}"
        )
    num_classes = logits.shape[-1]
    check_target_kind(target, num_classes)
    if target.kind == "binary":
        sign = jnp.where(target.class_id == 1, 1.0, -1.0)
        class_map = sign * logits[..., 0]
        if space != "logits":
            class_map = jax.nn.sigmoid(class_map)
    else:
        if space == "probabilities":
            scores = jax.nn.softmax(logits, axis=-1)
        elif space == "sigmoid":
            scores = jax.nn.sigmoid(logits)
        else:
            scores = logits
        # Clipped so that the gather stays in range: the NaN of an invalid class
        # must reach the gradient, and an out-of-range gather would drop it.
        class_index = jnp.clip(target.class_id, 0, num_classes - 1)
        class_map = jnp.take(scores, class_index, axis=-1)  # [*S]
    total = jnp.sum(class_map * target.mask)
    if reduction == "mean":
        total = total / jnp.maximum(jnp.sum(target.mask), 1e-12)
    return total * target_validity(target, num_classes)


def binary_target(mask, *, foreground=True) -> Target:
    """A target of a one-logit (sigmoid) segmenter, ``K = 1``.

    Args:
      mask: the ROI ``[H, W]`` (``[T, H, W]`` for a batch; any spatial rank).
      foreground: explain the foreground (score ``z``, the logit) or the
        background (score ``-z``); a bool, or a bool array ``[T]`` for a
        batch.

    Returns:
      A :class:`Target` with ``kind="binary"`` and ``class_id`` 1 (foreground)
      or 0 (background).

    Raises:
      TypeError: ``foreground`` is not a bool (array).
    """
    flags = np.asarray(foreground) if not hasattr(foreground, "dtype") else foreground
    if np.dtype(flags.dtype) != np.bool_:
        raise TypeError(
            f"foreground: expected a bool (or a bool array), got {foreground!r}"
        )
    target = make_target(jnp.asarray(flags).astype(jnp.int32), mask)
    return target.replace(kind="binary")


def check_score_options(score_reduction: str, score_space: str) -> None:
    """Raises ``ValueError`` naming ``score_reduction``/``score_space`` if unknown."""
    validation.check_choice(score_reduction, "score_reduction", REDUCTIONS)
    validation.check_choice(score_space, "score_space", SPACES)


def validate_target(target: Target, *, num_classes: int, spatial_shape) -> None:
    """Checks a concrete target outside ``jit``; raises ``ValueError`` if invalid.

    Args:
      target: a single target (``class_id []``, ``mask [H, W]``) or a batch
        (``[T]``, ``[T, H, W]``).
      num_classes: K of the model's logits.
      spatial_shape: ``(H, W)`` of the logits (``(D, H, W)`` for volumes).
    """
    validation.check_target(target)
    num_classes = validation.check_int(num_classes, "num_classes", minimum=1)
    class_id = np.asarray(target.class_id)
    mask = np.asarray(target.mask)
    spatial_shape = tuple(spatial_shape)
    if mask.shape[class_id.ndim :] != spatial_shape or mask.shape[: class_id.ndim] != (
        class_id.shape
    ):
        raise ValueError(
            f"target.mask: expected shape {(*class_id.shape, *spatial_shape)} "
            f"(class_id has shape {class_id.shape}), got {mask.shape}"
        )
    limit = 2 if target.kind == "binary" else num_classes
    if np.any(class_id < 0) or np.any(class_id >= limit):
        raise ValueError(
            f"target.class_id: expected values in [0, {limit}), got {class_id}"
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


def _check_spatial_shape(spatial_shape) -> tuple[int, int]:
    return validation.check_int_sequence(
        spatial_shape, "spatial_shape", length=2, minimum=1
    )


def _check_class_index(class_id, name="class_id") -> None:
    if not hasattr(class_id, "dtype"):
        validation.check_int(class_id, name, minimum=0)
    elif not np.issubdtype(np.dtype(class_id.dtype), np.integer):
        raise TypeError(f"{name}: expected an integer, got dtype {class_id.dtype}")


def _refuse_empty(mask: jax.Array, what: str) -> jax.Array:
    if validation.is_concrete(mask) and not bool(np.any(np.asarray(mask) > 0)):
        raise ValueError(f"{what}: the region of interest is empty")
    return mask


def predicted_class_roi(logits: jax.Array, class_id) -> jax.Array:
    """Pixels whose predicted class (argmax over K) is ``class_id``: ``[H, W]``.

    An empty result is allowed (the class may not be predicted); explainers
    refuse it when they get it as a target.
    """
    validation.check_float_array(logits, "logits", ndim=3, what="logits [H, W, K]")
    _check_class_index(class_id)
    if validation.is_concrete(class_id) and int(class_id) >= logits.shape[-1]:
        raise ValueError(
            f"class_id: expected a value in [0, {logits.shape[-1]}) (the logits' K), "
            f"got {int(class_id)}"
        )
    return (jnp.argmax(logits, axis=-1) == class_id).astype(jnp.float32)


def ground_truth_roi(labels: jax.Array, class_id) -> jax.Array:
    """Pixels of class ``class_id`` in an integer label map ``[H, W]``."""
    labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
    validation.check_label_array(labels, "labels", ndim=2)
    _check_class_index(class_id)
    return (jnp.asarray(labels) == class_id).astype(jnp.float32)


def pixel_roi(spatial_shape, row, col) -> jax.Array:
    """A single pixel ``(row, col)``; indices may be traced.

    Raises:
      ValueError: a concrete pixel outside the image.
    """
    h, w = _check_spatial_shape(spatial_shape)
    for name, value, size in (("row", row, h), ("col", col, w)):
        if not hasattr(value, "dtype"):
            validation.check_int(value, name, minimum=0, maximum=size - 1)
        elif validation.is_concrete(value) and not 0 <= int(value) < size:
            raise ValueError(f"{name}: expected an int in [0, {size - 1}], got {value}")
    rows, cols = _grids((h, w))
    return ((rows == row) & (cols == col)).astype(jnp.float32)


def box_roi(spatial_shape, top, left, height, width) -> jax.Array:
    """The box ``[top, top + height) x [left, left + width)``; values may be traced.

    A box that runs over the border is clipped to the image.

    Raises:
      ValueError: concrete values giving an empty box (no pixel inside the
        image, or a height or width below 1).
    """
    h, w = _check_spatial_shape(spatial_shape)
    for name, value in (("height", height), ("width", width)):
        if not hasattr(value, "dtype"):
            validation.check_int(value, name, minimum=1)
    for name, value in (("top", top), ("left", left)):
        if not hasattr(value, "dtype"):
            validation.check_int(value, name)
    rows, cols = _grids((h, w))
    inside = (rows >= top) & (rows < top + height) & (cols >= left)
    box = (inside & (cols < left + width)).astype(jnp.float32)
    return _refuse_empty(
        box,
        f"box_roi: box top={top}, left={left}, height={height}, width={width} "
        f"does not overlap the {h}x{w} image",
    )


def largest_component_roi(binary: jax.Array) -> jax.Array:
    """The largest 4-connected component of a binary mask ``[H, W]`` (jittable).

    Components are found by propagating the maximum pixel index through
    4-neighbours until nothing changes (at most ``H * W`` sweeps, in practice
    about the component's diameter). Ties between equally large components go to
    the one containing the highest flat pixel index. An empty input gives an
    empty output.
    """
    binary = binary if hasattr(binary, "dtype") else np.asarray(binary)
    if getattr(binary, "ndim", None) != 2:
        raise ValueError(f"binary: expected a mask [H, W], got shape {binary.shape}")
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

    Raises:
      ValueError: a label outside ``[0, num_classes)`` (it would be dropped
        silently otherwise), or no class to explain.
    """
    num_classes = validation.check_int(num_classes, "num_classes", minimum=1)
    validation.check_bool(skip_background, "skip_background")
    labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
    validation.check_label_array(labels, "labels", num_classes=num_classes, ndim=2)
    labels = np.asarray(labels)
    present = [
        c for c in range(int(skip_background), num_classes) if np.any(labels == c)
    ]
    if not present:
        raise ValueError("labels: no class to explain is present")
    masks = np.stack([(labels == c).astype(np.float32) for c in present])
    return make_target(np.asarray(present, np.int32), masks)
