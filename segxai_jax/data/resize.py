"""Numpy image resizing shared by the dataset generators and adapters.

Bilinear resizing uses half-pixel centres (the convention of PIL, OpenCV and
``jax.image.resize``), so an image resized to its own size is unchanged and
upscaling does not shift content by half a pixel.
"""

from __future__ import annotations

import functools

import numpy as np

from segxai_jax import validation


def _validate_size(size: tuple[int, int]) -> tuple[int, int]:
    height, width = validation.check_int_sequence(size, "size", length=2, minimum=1)
    return height, width


def _box_downsample(image: np.ndarray, factor_h: int, factor_w: int) -> np.ndarray:
    """Averages non-overlapping `factor_h x factor_w` blocks; crops the remainder."""
    height = image.shape[0] // factor_h * factor_h
    width = image.shape[1] // factor_w * factor_w
    cropped = image[:height, :width]
    blocks = cropped.reshape(
        height // factor_h, factor_h, width // factor_w, factor_w, *image.shape[2:]
    )
    return blocks.mean(axis=(1, 3), dtype=np.float32)


# Cached because dataset generation resizes thousands of images between a few
# sizes; the returned arrays are read-only.
@functools.lru_cache(maxsize=1024)
def _bilinear_taps(
    in_size: int, out_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of the two taps for each output position."""
    coords = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    coords = np.clip(coords, 0.0, in_size - 1)
    lower = np.floor(coords).astype(np.intp)
    upper = np.minimum(lower + 1, in_size - 1)
    weight_upper = (coords - lower).astype(np.float32)
    for taps in (lower, upper, weight_upper):
        taps.setflags(write=False)
    return lower, upper, weight_upper


def resize_bilinear(
    image: np.ndarray, size: tuple[int, int], *, antialias: bool = True
) -> np.ndarray:
    """Resizes an image with bilinear interpolation.

    Args:
      image: array [H, W] or [H, W, C] of any real dtype.
      size: output (height, width).
      antialias: when shrinking by a factor of two or more, first average
        blocks of pixels by the integer part of the factor. Plain bilinear
        interpolation only looks at the two nearest pixels per axis, so large
        reductions would otherwise alias fine texture (fur, grass) into noise.

    Returns:
      float32 array [height, width] or [height, width, C].
    """
    height, width = _validate_size(size)
    resized = np.asarray(image, dtype=np.float32)
    if resized.ndim not in (2, 3):
        raise ValueError(
            f"image: expected shape [H, W] or [H, W, C], got {resized.shape}"
        )
    if antialias:
        factor_h = max(1, resized.shape[0] // height)
        factor_w = max(1, resized.shape[1] // width)
        if factor_h > 1 or factor_w > 1:
            resized = _box_downsample(resized, factor_h, factor_w)

    trailing = (1,) * (resized.ndim - 2)
    lower, upper, weight = _bilinear_taps(resized.shape[0], height)
    weight = weight.reshape(-1, 1, *trailing)
    resized = resized[lower] * (1.0 - weight) + resized[upper] * weight
    lower, upper, weight = _bilinear_taps(resized.shape[1], width)
    weight = weight.reshape(1, -1, *trailing)
    return resized[:, lower] * (1.0 - weight) + resized[:, upper] * weight


def resize_nearest(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes an image or label map by nearest-neighbour sampling.

    Used for label maps, where interpolating between class ids would invent
    classes that are not there.

    Args:
      image: array [H, W] or [H, W, C].
      size: output (height, width).

    Returns:
      array [height, width] or [height, width, C] with the input dtype.
    """
    height, width = _validate_size(size)
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(
            f"image: expected shape [H, W] or [H, W, C], got {image.shape}"
        )
    rows = np.minimum(
        ((np.arange(height) + 0.5) * (image.shape[0] / height)).astype(np.intp),
        image.shape[0] - 1,
    )
    cols = np.minimum(
        ((np.arange(width) + 0.5) * (image.shape[1] / width)).astype(np.intp),
        image.shape[1] - 1,
    )
    return image[rows[:, None], cols[None, :]]
