"""Input checks shared by public entry points.

Checks of shapes and ranks run always (shapes are static under ``jit``). Checks
of values (finite, range, non-empty ROI) run only when the array is concrete,
i.e. when the function is called outside ``jit``; users who ``jit`` an explainer
call :func:`validate_explainer_inputs` once beforehand (re-exported as
``segxai_jax.validate_explainer_inputs``).
"""

from __future__ import annotations

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values (not a tracer inside ``jit``/``vmap``/``grad``)."""
    return not isinstance(x, jax.core.Tracer)


def check_image(x, *, name: str = "x", value_range=None) -> None:
    """One image ``[H, W, C]``: rank always; finiteness (and range) if concrete."""
    if getattr(x, "ndim", None) != 3:
        raise ValueError(
            f"{name}: expected one image [H, W, C], got shape {getattr(x, 'shape', x)}"
        )
    if is_concrete(x):
        values = np.asarray(x)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: expected finite values, found NaN or inf")
        if value_range is not None:
            low, high = value_range
            if values.min() < low or values.max() > high:
                raise ValueError(
                    f"{name}: expected values in [{low}, {high}], got min "
                    f"{values.min():.4g} max {values.max():.4g}"
                )


def check_target_against(target, spatial_shape, *, name: str = "target") -> None:
    """A single target for an image of ``spatial_shape``; ROI non-empty if concrete."""
    mask = target.mask
    if tuple(mask.shape) != tuple(spatial_shape):
        raise ValueError(
            f"{name}.mask: expected shape {tuple(spatial_shape)} (the image's H, W), "
            f"got {tuple(mask.shape)}"
        )
    if getattr(target.class_id, "ndim", 0) != 0:
        raise ValueError(
            f"{name}.class_id: expected a scalar, got shape {target.class_id.shape}; "
            "vmap the explainer over a batch of targets"
        )
    if is_concrete(mask):
        values = np.asarray(mask)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}.mask: expected finite values")
        if values.sum() <= 0:
            raise ValueError(
                f"{name}.mask: expected a non-empty ROI (at least one positive pixel)"
            )


def check_class_id(target, num_classes: int, *, name: str = "target") -> None:
    """Class id within ``[0, num_classes)``, if concrete."""
    if is_concrete(target.class_id):
        c = np.asarray(target.class_id)
        if np.any(c < 0) or np.any(c >= num_classes):
            raise ValueError(
                f"{name}.class_id: expected values in [0, {num_classes}), got {c}"
            )


def validate_explainer_inputs(x, target, *, num_classes: int | None = None) -> None:
    """Checks concrete explainer inputs before a jitted call.

    Args:
      x: one image ``[H, W, C]`` or a batch ``[B, H, W, C]``.
      target: a single target for one image, or a batch of targets (leading
        axis ``B`` or ``T``) whose masks match the image's ``H, W``.
      num_classes: K, to check class ids (skipped if ``None``).

    Raises:
      ValueError: naming the argument and what was expected.
    """
    x = np.asarray(x)
    images = x if x.ndim == 4 else x[None]
    if images.ndim != 4:
        raise ValueError(f"x: expected [H, W, C] or [B, H, W, C], got shape {x.shape}")
    for image in images:
        check_image(image)
    mask = np.asarray(target.mask)
    masks = mask.reshape(-1, *mask.shape[-2:])
    if mask.shape[-2:] != images.shape[1:3]:
        raise ValueError(
            f"target.mask: expected [..., {images.shape[1]}, {images.shape[2]}] "
            f"(the image's H, W), got {mask.shape}"
        )
    if not np.all(np.isfinite(masks)):
        raise ValueError("target.mask: expected finite values")
    if np.any(masks.reshape(len(masks), -1).sum(-1) <= 0):
        raise ValueError(
            "target.mask: expected a non-empty ROI (at least one positive pixel)"
        )
    if num_classes is not None:
        check_class_id(target, num_classes)
