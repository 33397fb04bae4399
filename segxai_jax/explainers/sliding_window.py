"""Sliding-window explanation of images and volumes larger than the model's patch.

Models trained on patches (nnU-Net style) are applied to large 2-D images and
3-D volumes by tiling; their explanations should be too. :func:`sliding_window`
wraps any explainer of the library: the input is tiled into patches of the
model's size with a given overlap (the last patch of each axis flush with the
border), each patch is explained with the target's mask cropped to it (patches
are vmapped, ``chunk_size`` at a time), and the patch maps are blended into a
map of the input's size, each pixel the weighted mean of the patches covering
it: ``"uniform"`` weights or ``"gaussian"`` (sigma = patch / 8 per axis, the
weighting nnU-Net blends its predictions with, so patch borders count less).

A patch whose cropped ROI is empty has no target to explain and gets weight 0;
a pixel that only such patches cover gets 0. For a model without spatial
context (1x1 convolutions) the blended map equals the direct map of the whole
input exactly (tested, 2-D and 3-D).

References:
  Isensee et al. nnU-Net. Nature Methods 18, 2021 (sliding-window inference
  with Gaussian importance weighting).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.occlusion import window_starts
from segxai_jax.sweeps import check_chunk_size, check_strategy, map_chunked

BLENDS = ("uniform", "gaussian")


def _per_axis(value, name: str, rank: int) -> tuple[int, ...]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return (int(value),) * rank
    values = tuple(validation.check_int_sequence(value, name, minimum=0))
    if len(values) != rank:
        raise ValueError(
            f"{name}: expected one value per spatial axis ({rank}), got {values}"
        )
    return values


def patch_weights(patch: tuple[int, ...], blend: str) -> np.ndarray:
    """Blending weights ``[*patch]`` (max 1, all > 0)."""
    if blend == "uniform":
        return np.ones(patch, np.float32)
    weights = np.ones((), np.float32)
    for k in patch:
        centre, sigma = (k - 1) / 2.0, k / 8.0
        axis = np.exp(-0.5 * ((np.arange(k) - centre) / sigma) ** 2)
        weights = np.multiply.outer(weights, axis)
    weights = weights / weights.max()
    return np.maximum(weights, 1e-3).astype(np.float32)


def sliding_window(
    explain: Callable,
    patch_size,
    *,
    overlap=0,
    blend: str = "gaussian",
    chunk_size: int | None = 4,
    strategy: str = "lax_map",
) -> Callable:
    """An explainer of large inputs from an explainer of patches.

    Args:
      explain: ``explain(key, params, x_patch, target_patch) -> map_patch``
        (any explainer of the library, built for the patch's shape).
      patch_size: the model's patch: an int (every spatial axis) or one size
        per axis (``(H, W)``, ``(D, H, W)`` for volumes).
      overlap: pixels shared by neighbouring patches, per axis or one int;
        ``0 <= overlap < patch_size``.
      blend: ``"gaussian"`` (nnU-Net's weighting) or ``"uniform"``.
      chunk_size: patches explained together by ``vmap``; ``None`` = all.
      strategy: ``"lax_map"`` or ``"unroll"`` (see ``map_chunked``).

    Returns:
      ``explain_large(key, params, x [*S, C], target) -> [*S]`` (``[*S, C]``
      for explainers that keep the channels) with the target's mask
      ``[*S]``; patch ``i`` is explained with ``fold_in(key, i)``.
    """
    validation.check_callable(explain, "explain", "explain(key, params, x, t)", 4)
    validation.check_choice(blend, "blend", BLENDS)
    if isinstance(patch_size, int) and isinstance(overlap, int):  # checked now
        validation.check_int(patch_size, "patch_size", minimum=1)
        validation.check_int(overlap, "overlap", minimum=0)
        if overlap >= patch_size:
            raise ValueError(
                f"overlap: expected less than patch_size {patch_size}, got {overlap}"
            )
    check_chunk_size(chunk_size)
    check_strategy(strategy)

    def explain_large(key, params, x, target):
        spatial = tuple(x.shape[:-1])
        rank = len(spatial)
        patch = _per_axis(patch_size, "patch_size", rank)
        shared = _per_axis(overlap, "overlap", rank)
        for axis, (n, k, o) in enumerate(zip(spatial, patch, shared, strict=True)):
            if k < 1 or k > n:
                raise ValueError(
                    f"patch_size: expected 1..{n} on axis {axis} (the input "
                    f"{spatial}), got {patch}"
                )
            if o >= k:
                raise ValueError(
                    f"overlap: expected less than patch_size {patch} on every "
                    f"axis, got {shared}"
                )
        if tuple(jnp.shape(target.mask)) != spatial:
            raise ValueError(
                f"target: expected a mask of the input's spatial shape {spatial}, "
                f"got {tuple(jnp.shape(target.mask))}"
            )
        starts = [
            window_starts(n, k, k - o)
            for n, k, o in zip(spatial, patch, shared, strict=True)
        ]
        corners = np.asarray(list(itertools.product(*starts)), np.int32)
        channels = x.shape[-1]

        def one(index_corner):
            index, corner = index_corner
            crop_x = jax.lax.dynamic_slice(
                x, (*[corner[a] for a in range(rank)], 0), (*patch, channels)
            )
            crop_mask = jax.lax.dynamic_slice(target.mask, tuple(corner), patch)
            crop = target.replace(mask=crop_mask)
            patch_map = explain(jax.random.fold_in(key, index), params, crop_x, crop)
            seen = jnp.any(crop_mask != 0)
            return jnp.where(seen, patch_map, 0.0), seen

        maps, seen = map_chunked(
            one,
            (jnp.arange(len(corners)), jnp.asarray(corners)),
            chunk_size=chunk_size,
            strategy=strategy,
        )
        extra = tuple(maps.shape[1 + rank :])  # e.g. the channels of a gradient
        weights = jnp.asarray(patch_weights(patch, blend)).reshape(
            patch + (1,) * len(extra)
        )
        total = jnp.zeros(spatial + extra, maps.dtype)
        norm = jnp.zeros(spatial + (1,) * len(extra), maps.dtype)
        for i, corner in enumerate(corners):
            region = tuple(slice(c, c + k) for c, k in zip(corner, patch, strict=True))
            w = weights * seen[i]
            total = total.at[region].add(w * maps[i])
            norm = norm.at[region].add(w)
        return jnp.where(norm > 0, total / jnp.where(norm > 0, norm, 1.0), 0.0)

    return explain_large
