"""Exemplar compressors for replay: full image, salient patch, salient box.

Every compressor is a :class:`Compressor` of two pure per-image functions with
static shapes (vmap them for batches, jit as you like):

* ``compress(key, image [H, W, 3] float32 in [0, 1], mask [H, W] int,
  saliency [H, W]) -> exemplar`` (a dict of arrays, images stored as uint8);
* ``decompress(exemplar) -> (image [H, W, 3] float32, mask [H, W] int32,
  weight [H, W] float32)``: what is replayed, with a per-pixel loss weight.

Kinds (:data:`KINDS`):

* ``"full"``: the whole image and mask (the uncompressed baseline).
* ``"patch"`` (Saha & Roy 2023): the ``p x p`` window with the largest mean
  saliency (saliency average-pooled with a ``p x p`` window, stride 1; the
  argmax of the pooled map IS the window's top-left corner, no stride
  arithmetic) is stored with its corner. Replay pastes it into a zero image
  at its place; the loss weight is 1 inside the patch, 0 outside.
* ``"box"`` (CIM, Luo et al. 2023, adapted to segmentation): a ``b x b`` box
  centred on saliency as above is kept at full resolution and the whole image
  is stored downsampled by ``factor`` (nearest neighbour, CIM's choice);
  replay upsamples (nearest) and pastes the box over it. CIM's box is a tight
  box around the thresholded CAM, of varying size; a fixed ``b x b`` keeps
  shapes static and the cost per exemplar exact: ``b^2 / HW + 1 / factor^2``
  image units (the low-resolution copy also covers the box, a small
  redundancy that keeps it one array). The mask is treated like the image:
  full resolution in the box, downsampled outside (``outside="low_res"``,
  loss weight 1), or ignored outside the box (``outside="ignore"``).
* ``placement="random"`` on ``"patch"`` or ``"box"``: the same arrays at a
  uniformly random position (the equal-bytes control of saliency).
* ``"downsample"``: the whole image at a reduced ``size`` (nearest
  neighbour), the equal-bytes control without any box; see
  :func:`downsample_size_for_bytes`.
* ``placement="object"`` on ``"patch"`` or ``"box"``: the window covering
  the most labelled object pixels (``mask > 0``), chosen from the labels
  instead of an explanation (does saliency add anything over the object?).
* ``"instance"`` (after EIR / SAF, which replay only the stored classes'
  objects): the ``p x p`` window with the most object pixels, of which only
  the object pixels are kept: background pixels are zeroed in the image and
  get loss weight 0 (same bytes as ``"patch"``).

References:
  Saha, Roy. Saliency guided experience packing for replay in continual
  learning. WACV 2023 (EPR); and MVA 2023.
  Luo, Yang, Zhang, Zhang, Ma. Class-incremental exemplar compression for
  class-incremental learning (CIM). CVPR 2023.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation

KINDS = ("full", "patch", "box", "downsample", "instance")
PLACEMENTS = ("salient", "random", "object")
OUTSIDES = ("low_res", "ignore")


class Compressor(NamedTuple):
    """A compressor's pure functions and the shape of what it stores.

    Attributes:
      name: a short label, e.g. ``"box32/4-salient"``.
      compress: ``compress(key, image, mask, saliency) -> exemplar``.
      decompress: ``decompress(exemplar) -> (image, mask, weight)``.
      example: ``jax.ShapeDtypeStruct`` pytree of one exemplar.
    """

    name: str
    compress: Callable
    decompress: Callable
    example: dict


def to_uint8(image: jax.Array) -> jax.Array:
    """``[0, 1]`` floats to uint8 (round to nearest); exact for ``u / 255``."""
    return jnp.round(jnp.clip(image, 0.0, 1.0) * 255.0).astype(jnp.uint8)


# NumPy's exact ``u / 255`` per uint8 value. XLA on CPU turns a division by a
# constant into a multiplication by its reciprocal (1 ulp off for about half
# the values), so a table lookup is what keeps replayed pixels bit-identical
# to the float32 images of the input pipeline.
_UINT8_TO_FLOAT = np.arange(256, dtype=np.float32) / np.float32(255.0)


def to_float(image: jax.Array) -> jax.Array:
    """uint8 to float32 in ``[0, 1]``, bit-identical to the input pipeline."""
    return jnp.asarray(_UINT8_TO_FLOAT)[image.astype(jnp.int32)]


def salient_corner(saliency: jax.Array, window: int) -> jax.Array:
    """Top-left corner of the ``window x window`` box of largest total saliency.

    The saliency is sum-pooled with stride 1 and no padding, so pooled cell
    ``(i, j)`` covers rows ``i..i+window-1`` and columns ``j..j+window-1``:
    its index is the corner. Ties go to the first cell in row-major order;
    NaN counts as the lowest saliency.

    Args:
      saliency: ``[H, W]``.
      window: the box side, ``1 <= window <= min(H, W)``.

    Returns:
      ``[2]`` int32 ``(row, col)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> s = jnp.zeros((6, 6)).at[3:5, 1:3].set(1.0)
      >>> salient_corner(s, 2).tolist()
      [3, 1]
    """
    height, width = saliency.shape
    _check_window(window, (height, width), "window")
    clean = jnp.where(jnp.isnan(saliency), -jnp.inf, saliency.astype(jnp.float32))
    # Separable: a (window, 1) then a (1, window) sum, 2 * window adds per cell
    # instead of window^2 (XLA's CPU reduce_window sums directly): ~100x faster
    # at 64 px with a 32-pixel window (benchmarks/replay_compression.py).
    pooled = jax.lax.reduce_window(
        clean, 0.0, jax.lax.add, (window, 1), (1, 1), "VALID"
    )
    pooled = jax.lax.reduce_window(
        pooled, 0.0, jax.lax.add, (1, window), (1, 1), "VALID"
    )
    flat = jnp.argmax(pooled.reshape(-1))
    cols = width - window + 1
    return jnp.stack([flat // cols, flat % cols]).astype(jnp.int32)


def downsample_size_for_bytes(
    target_bytes: int, image_shape: Sequence[int]
) -> tuple[int, int]:
    """Largest stored ``(h, w)``, ``w - h`` in ``{0, 1}``, with ``4 h w <= bytes``.

    The ``"downsample"`` control stores 4 bytes per pixel (RGB uint8 + uint8
    mask); this gives its size at (at most) the bytes of another compressor.

    Examples:
      >>> downsample_size_for_bytes(5128, (64, 64))
      (35, 36)
    """
    height, width = validation.check_int_sequence(
        image_shape, "image_shape", length=2, minimum=1
    )
    validation.check_int(target_bytes, "target_bytes", minimum=1)
    side = int(np.floor(np.sqrt(target_bytes / 4)))
    size = (side, side + 1) if 4 * side * (side + 1) <= target_bytes else (side, side)
    if side < 1 or size[0] > height or size[1] > width:
        raise ValueError(
            f"target_bytes: {target_bytes} bytes give a stored size {size} outside "
            f"[1, {image_shape}]"
        )
    return size


def make_compressor(
    kind: str,
    *,
    image_shape: Sequence[int],
    patch_size: int = 32,
    box_size: int = 32,
    factor: int = 4,
    size: Sequence[int] | None = None,
    placement: str = "salient",
    outside: str = "low_res",
) -> Compressor:
    """Builds a compressor for images of ``image_shape = (H, W)``.

    Args:
      kind: one of :data:`KINDS`.
      image_shape: ``(H, W)``.
      patch_size: ``p`` of ``"patch"`` and ``"instance"``.
      box_size: ``b`` of ``"box"``.
      factor: downsampling factor per side of ``"box"``; divides H and W.
      size: stored ``(h, w)`` of ``"downsample"``.
      placement: ``"salient"``, ``"random"`` or ``"object"`` (patch and box;
        ``"instance"`` is always placed on the objects).
      outside: ``"low_res"`` or ``"ignore"`` (box: labels outside the box).

    Raises:
      ValueError: unknown option, a patch or box larger than the image, a
        factor that does not divide the image.
    """
    validation.check_choice(kind, "kind", KINDS)
    validation.check_choice(placement, "placement", PLACEMENTS)
    validation.check_choice(outside, "outside", OUTSIDES)
    hw = validation.check_int_sequence(image_shape, "image_shape", length=2, minimum=1)
    if kind == "full":
        return _full(hw)
    if kind in ("patch", "instance"):
        _check_window(patch_size, hw, "patch_size")
        if kind == "instance":
            return _patch(hw, patch_size, "object", objects_only=True)
        return _patch(hw, patch_size, placement)
    if kind == "box":
        _check_window(box_size, hw, "box_size")
        validation.check_int(factor, "factor", minimum=1)
        if hw[0] % factor or hw[1] % factor:
            raise ValueError(
                f"factor: expected a divisor of the image size {hw}, got {factor}"
            )
        return _box(hw, box_size, factor, placement, outside)
    if size is None:
        raise ValueError(f"size: expected (h, w) within the image {hw}, got None")
    size = validation.check_int_sequence(size, "size", length=2, minimum=1)
    if not all(1 <= s <= m for s, m in zip(size, hw, strict=True)):
        raise ValueError(f"size: expected (h, w) within the image {hw}, got {size}")
    return _downsample(hw, tuple(int(s) for s in size))


def _check_window(window: int, hw: tuple[int, int], name: str) -> None:
    validation.check_int(window, name, minimum=1)
    if not 1 <= window <= min(hw):
        raise ValueError(
            f"{name}: expected a side in [1, {min(hw)}] (the image is {hw}), "
            f"got {window}"
        )


def _check_inputs(image, mask, saliency, hw) -> None:
    if image.shape != (*hw, 3):
        raise ValueError(f"image: expected shape {(*hw, 3)}, got {image.shape}")
    if mask.shape != hw:
        raise ValueError(f"mask: expected shape {hw}, got {mask.shape}")
    if saliency.shape != hw:
        raise ValueError(f"saliency: expected shape {hw}, got {saliency.shape}")


def _spec(shape, dtype) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(tuple(shape), jnp.dtype(dtype))


def _corner(key, saliency, mask, window, hw, placement):
    if placement == "salient":
        return salient_corner(saliency, window)
    if placement == "object":
        return salient_corner((mask > 0).astype(jnp.float32), window)
    limits = jnp.array([hw[0] - window + 1, hw[1] - window + 1])
    return jax.random.randint(key, (2,), 0, limits).astype(jnp.int32)


def _full(hw) -> Compressor:
    def compress(key, image, mask, saliency):
        del key
        _check_inputs(image, mask, saliency, hw)
        return {"image": to_uint8(image), "mask": mask.astype(jnp.uint8)}

    def decompress(ex):
        return to_float(ex["image"]), _mask_int(ex["mask"]), jnp.ones(hw, jnp.float32)

    example = {"image": _spec((*hw, 3), jnp.uint8), "mask": _spec(hw, jnp.uint8)}
    return Compressor("full", compress, decompress, example)


def _patch(hw, p, placement, objects_only: bool = False) -> Compressor:
    def compress(key, image, mask, saliency):
        _check_inputs(image, mask, saliency, hw)
        corner = _corner(key, saliency, mask, p, hw, placement)
        r, c = corner[0], corner[1]
        patch = jax.lax.dynamic_slice(to_uint8(image), (r, c, 0), (p, p, 3))
        labels = jax.lax.dynamic_slice(mask.astype(jnp.uint8), (r, c), (p, p))
        if objects_only:  # the background is dropped
            patch = jnp.where(labels[..., None] > 0, patch, jnp.uint8(0))
        return {"image": patch, "mask": labels, "corner": corner}

    def decompress(ex):
        r, c = ex["corner"][0], ex["corner"][1]
        image = jnp.zeros((*hw, 3), jnp.float32)
        image = jax.lax.dynamic_update_slice(image, to_float(ex["image"]), (r, c, 0))
        mask = jnp.zeros(hw, jnp.int32)
        mask = jax.lax.dynamic_update_slice(mask, _mask_int(ex["mask"]), (r, c))
        inside = (ex["mask"] > 0) if objects_only else jnp.ones((p, p), bool)
        weight = jax.lax.dynamic_update_slice(
            jnp.zeros(hw, jnp.float32), inside.astype(jnp.float32), (r, c)
        )
        return image, mask, weight

    example = {
        "image": _spec((p, p, 3), jnp.uint8),
        "mask": _spec((p, p), jnp.uint8),
        "corner": _spec((2,), jnp.int32),
    }
    name = f"instance{p}" if objects_only else f"patch{p}-{placement}"
    return Compressor(name, compress, decompress, example)


def _box(hw, b, factor, placement, outside) -> Compressor:
    low = (hw[0] // factor, hw[1] // factor)

    def compress(key, image, mask, saliency):
        _check_inputs(image, mask, saliency, hw)
        corner = _corner(key, saliency, mask, b, hw, placement)
        r, c = corner[0], corner[1]
        image8, mask8 = to_uint8(image), mask.astype(jnp.uint8)
        return {
            "low_image": image8[::factor, ::factor],
            "low_mask": mask8[::factor, ::factor],
            "box_image": jax.lax.dynamic_slice(image8, (r, c, 0), (b, b, 3)),
            "box_mask": jax.lax.dynamic_slice(mask8, (r, c), (b, b)),
            "corner": corner,
        }

    def decompress(ex):
        r, c = ex["corner"][0], ex["corner"][1]
        image = _upsample(to_float(ex["low_image"]), factor)
        image = jax.lax.dynamic_update_slice(
            image, to_float(ex["box_image"]), (r, c, 0)
        )
        mask = _upsample(_mask_int(ex["low_mask"]), factor)
        mask = jax.lax.dynamic_update_slice(mask, _mask_int(ex["box_mask"]), (r, c))
        inside = jax.lax.dynamic_update_slice(
            jnp.zeros(hw, jnp.float32), jnp.ones((b, b), jnp.float32), (r, c)
        )
        weight = jnp.ones(hw, jnp.float32) if outside == "low_res" else inside
        return image, mask, weight

    example = {
        "low_image": _spec((*low, 3), jnp.uint8),
        "low_mask": _spec(low, jnp.uint8),
        "box_image": _spec((b, b, 3), jnp.uint8),
        "box_mask": _spec((b, b), jnp.uint8),
        "corner": _spec((2,), jnp.int32),
    }
    return Compressor(f"box{b}/{factor}-{placement}", compress, decompress, example)


def _downsample(hw, size) -> Compressor:
    rows = (np.arange(size[0]) * hw[0]) // size[0]
    cols = (np.arange(size[1]) * hw[1]) // size[1]
    up_rows = (np.arange(hw[0]) * size[0]) // hw[0]
    up_cols = (np.arange(hw[1]) * size[1]) // hw[1]

    def compress(key, image, mask, saliency):
        del key
        _check_inputs(image, mask, saliency, hw)
        return {
            "image": to_uint8(image)[rows][:, cols],
            "mask": mask.astype(jnp.uint8)[rows][:, cols],
        }

    def decompress(ex):
        image = to_float(ex["image"])[up_rows][:, up_cols]
        mask = _mask_int(ex["mask"])[up_rows][:, up_cols]
        return image, mask, jnp.ones(hw, jnp.float32)

    example = {"image": _spec((*size, 3), jnp.uint8), "mask": _spec(size, jnp.uint8)}
    return Compressor(f"down{size[0]}x{size[1]}", compress, decompress, example)


def _upsample(x: jax.Array, factor: int) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, factor, axis=0), factor, axis=1)


def _mask_int(mask: jax.Array) -> jax.Array:
    return mask.astype(jnp.int32)


def compress_batch(compressor: Compressor) -> Callable:
    """``f(key, images [B, H, W, 3], masks [B, H, W], saliency [B, H, W])``.

    Returns the vmapped ``compress`` (one key per image, split from ``key``);
    leaves of the result are ``[B, ...]``. Not jitted: wrap in ``jax.jit``.
    """

    def batched(key, images, masks, saliency):
        keys = jax.random.split(key, images.shape[0])
        return jax.vmap(compressor.compress)(keys, images, masks, saliency)

    return batched
