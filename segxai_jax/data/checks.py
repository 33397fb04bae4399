"""Checks of image and mask batches: shapes, dtypes, value ranges, class ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation


def _is_traced(array: Any) -> bool:
    return isinstance(array, jax.core.Tracer)


def _dtype(array: Any) -> np.dtype:
    # Not `jnp.result_type`: it would report float64 inputs as float32.
    return array.dtype if hasattr(array, "dtype") else np.asarray(array).dtype


def validate_images(
    images: Any,
    *,
    name: str = "images",
    allow_unbatched: bool = False,
    channels: int | None = 3,
) -> None:
    """Checks that `images` are images with float values in [0, 1].

    Values (finite, within [0, 1]) are only checked on concrete arrays; inside
    `jax.jit` only shapes and dtypes are checked.

    Args:
      images: array [B, H, W, C], or [H, W, C] if `allow_unbatched`.
      name: how `images` is called in error messages.
      allow_unbatched: accept a single image of rank 3.
      channels: the required C (3 = RGB, the default); `None` accepts any
        C >= 1 (e.g. the one-channel nuclei images).

    Raises:
      ValueError: naming `name` and the violated expectation.
    """
    ranks = (3, 4) if allow_unbatched else (4,)
    c = "C" if channels is None else str(channels)
    expected_shape = (
        f"[H, W, {c}] or [B, H, W, {c}]" if allow_unbatched else f"[B, H, W, {c}]"
    )
    shape = tuple(np.shape(images))
    if len(shape) not in ranks:
        raise ValueError(
            f"{name}: expected rank {' or '.join(map(str, ranks))} with shape "
            f"{expected_shape}, got shape {shape}"
        )
    if channels is not None and shape[-1] != channels:
        raise ValueError(
            f"{name}: expected {channels} channels (last axis), got shape {shape}"
        )
    if shape[-1] < 1:
        raise ValueError(f"{name}: expected at least 1 channel, got shape {shape}")
    dtype = _dtype(images)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name}: expected a floating dtype, got {dtype}")
    if _is_traced(images) or 0 in shape:
        return
    values = np.asarray(images, dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name}: expected values in [0, 1], got min {low:.4g} max {high:.4g}"
        )


def validate_masks(
    masks: Any,
    *,
    image_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
    name: str = "masks",
) -> None:
    """Checks that `masks` are integer label maps matching the images.

    Args:
      masks: integer array [B, H, W].
      image_shape: shape [B, H, W, 3] of the corresponding images, if any.
      num_classes: if given, values must lie in [0, num_classes); otherwise
        they must be non-negative. Values are only checked on concrete arrays.
      name: how `masks` is called in error messages.

    Raises:
      ValueError: naming `name` and the violated expectation.
    """
    shape = tuple(np.shape(masks))
    if len(shape) != 3:
        raise ValueError(f"{name}: expected rank 3 with shape [B, H, W], got {shape}")
    if image_shape is not None and shape != tuple(image_shape[:3]):
        raise ValueError(
            f"{name}: expected shape {tuple(image_shape[:3])} matching the images "
            f"[B, H, W], got {shape}"
        )
    dtype = _dtype(masks)
    if not jnp.issubdtype(dtype, jnp.integer):
        raise ValueError(f"{name}: expected an integer dtype, got {dtype}")
    if num_classes is not None:
        validation.check_int(num_classes, "num_classes", minimum=1)
    if _is_traced(masks) or 0 in shape:
        return
    values = np.asarray(masks)
    low, high = int(values.min()), int(values.max())
    if num_classes is not None and (low < 0 or high >= num_classes):
        raise ValueError(
            f"{name}: expected values in [0, {num_classes}), got min {low} max {high}"
        )
    if low < 0:
        raise ValueError(f"{name}: expected non-negative class ids, got min {low}")


def validate_batch(batch: Mapping[str, Any], *, num_classes: int | None = None) -> None:
    """Checks a batch dict with "image" [B, H, W, C] and "mask" [B, H, W].

    Args:
      batch: mapping with at least "image" (float, values in [0, 1]) and
        "mask" (integer class ids).
      num_classes: if given, mask values must lie in [0, num_classes).

    Raises:
      ValueError: naming the offending entry and the violated expectation.
    """
    if not isinstance(batch, Mapping):
        raise ValueError(
            f"batch: expected a mapping with 'image' and 'mask', got {type(batch)}"
        )
    check_fields(batch, "batch")
    # Any channel count: RGB, one-channel microscopy, RGB + depth stacked.
    validate_images(batch["image"], name="batch['image']", channels=None)
    validate_masks(
        batch["mask"],
        image_shape=tuple(np.shape(batch["image"])),
        num_classes=num_classes,
        name="batch['mask']",
    )


def check_fields(data: Mapping[str, Any], name: str) -> None:
    missing = [field for field in ("image", "mask") if field not in data]
    if missing:
        raise ValueError(
            f"{name}: expected fields 'image' and 'mask', missing {missing}"
        )
