"""Target explanations for the attack on explanations.

A target map ``h_t [H, W]`` per attacked image; the attack normalises it like
the explanation (:func:`~segxai_jax.attacks.explanation_attack.normalize_heatmap`:
``|h_t|`` divided by its sum), so only its shape matters, not its scale. The
kinds used in the literature:

* another image's explanation (Dombrowski et al. 2019): :func:`other_image_maps`;
* a fixed pattern, e.g. a square in a corner: :func:`square_pattern`;
* a shifted copy of the image's own explanation: :func:`shifted_maps`;
* any user map ``[B, H, W]``, checked by :func:`check_target_maps`.

References:
  Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be
  manipulated and geometry is to blame. NeurIPS 2019.
  Gipiškis, Chiaro, Annunziata, Piccialli. The impact of adversarial attacks on
  interpretable semantic segmentation in cyber-physical systems. IEEE Systems
  Journal 17(4), 2023.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.validation import is_concrete

CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def check_target_maps(target_maps, images_shape: Sequence[int]) -> jax.Array:
    """Checks one target map per image; returns them as float32.

    Args:
      target_maps: ``[B, H, W]``.
      images_shape: ``(B, H, W, C)`` of the attacked images.

    Returns:
      ``target_maps`` as a float32 array.

    Raises:
      ValueError: naming ``target_maps``: wrong shape; when concrete, NaN/inf,
        or a map whose ``|h_t|`` sums to 0 (nothing to move the explanation to).
    """
    expected = tuple(images_shape[:3])
    shape = tuple(getattr(target_maps, "shape", np.shape(target_maps)))
    if shape != expected:
        raise ValueError(
            f"target_maps: expected shape {expected} (one [H, W] map per image of "
            f"the batch {tuple(images_shape)}), got {shape}"
        )
    maps = jnp.asarray(target_maps, jnp.float32)
    if is_concrete(target_maps):
        values = np.asarray(target_maps, np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("target_maps: expected finite values, found NaN or inf")
        empty = np.abs(values).reshape(expected[0], -1).sum(-1) <= 0
        if np.any(empty):
            raise ValueError(
                "target_maps: expected maps with a non-zero sum of |h_t|, got "
                f"all-zero maps at batch positions {np.flatnonzero(empty).tolist()}"
            )
    return maps


def other_image_maps(maps: jax.Array, *, shift: int = 1) -> jax.Array:
    """Each image's target is the map of another image of the batch.

    Args:
      maps: explanations ``[B, H, W]`` of the batch (``B >= 2``).
      shift: image ``i`` gets the map of image ``(i + shift) mod B``; must not
        be a multiple of ``B`` (an image would get its own map).

    Returns:
      ``[B, H, W]``.
    """
    if getattr(maps, "ndim", None) != 3:
        raise ValueError(
            f"maps: expected [B, H, W], got shape {getattr(maps, 'shape', maps)}"
        )
    count = maps.shape[0]
    if count < 2 or shift % count == 0:
        raise ValueError(
            f"shift: expected a shift that is not a multiple of the batch size "
            f"{count} (and a batch of >= 2 maps), got {shift}"
        )
    return jnp.roll(maps, -shift, axis=0)


def square_pattern(
    shape: Sequence[int], *, size: int, corner: str = "top_left"
) -> jax.Array:
    """A ``size x size`` square of ones in a corner of an ``[H, W]`` map of zeros.

    Args:
      shape: ``(H, W)``.
      size: side of the square, ``1 <= size <= min(H, W)``.
      corner: one of :data:`CORNERS`.

    Returns:
      float32 ``[H, W]``; broadcast it to ``[B, H, W]`` for a batch.

    Examples:
      >>> square_pattern((4, 4), size=2, corner="bottom_right").astype(int).tolist()
      [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    """
    height, width = (int(s) for s in shape)
    if corner not in CORNERS:
        raise ValueError(f"corner: expected one of {CORNERS}, got {corner!r}")
    validation.check_int(size, "size", minimum=1)
    if not 1 <= size <= min(height, width):
        raise ValueError(
            f"size: expected an int in [1, {min(height, width)}], got {size!r}"
        )
    rows = slice(0, size) if corner.startswith("top") else slice(height - size, None)
    cols = slice(0, size) if corner.endswith("left") else slice(width - size, None)
    return jnp.zeros((height, width), jnp.float32).at[rows, cols].set(1.0)


def shift_map(saliency: jax.Array, offset: Sequence[int]) -> jax.Array:
    """One map ``[H, W]`` moved by ``(dy, dx)`` pixels; what enters is zero."""
    dy, dx = validation.check_int_sequence(offset, "offset", length=2)
    height, width = saliency.shape
    if abs(dy) >= height or abs(dx) >= width:
        raise ValueError(
            f"offset: expected |dy| < {height} and |dx| < {width}, got {(dy, dx)}"
        )
    padded = jnp.pad(saliency, ((abs(dy), abs(dy)), (abs(dx), abs(dx))))
    top, left = abs(dy) - dy, abs(dx) - dx
    return jax.lax.dynamic_slice(padded, (top, left), (height, width))


def shifted_maps(maps: jax.Array, *, offset: Sequence[int]) -> jax.Array:
    """A shifted copy of each map (zero fill), e.g. the image's own explanation.

    Args:
      maps: ``[B, H, W]``.
      offset: ``(dy, dx)`` in pixels; positive = down / right.

    Returns:
      ``[B, H, W]``.

    Examples:
      >>> m = jnp.arange(9.0).reshape(1, 3, 3)
      >>> shifted_maps(m, offset=(1, 0))[0].astype(int).tolist()
      [[0, 0, 0], [0, 1, 2], [3, 4, 5]]
    """
    if getattr(maps, "ndim", None) != 3:
        raise ValueError(
            f"maps: expected [B, H, W], got shape {getattr(maps, 'shape', maps)}"
        )
    validation.check_int_sequence(offset, "offset", length=2)
    return jax.vmap(lambda m: shift_map(m, offset))(maps)
