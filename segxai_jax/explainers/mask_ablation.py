"""Segment-mask ablation: the score drop when each of a list of masks is filled.

Occlusion slides a square window; mask ablation takes the regions from the
user instead: superpixels, a SAM-style mask generator, object proposals, a
grid. Each mask ``m`` (``[H, W]`` in ``[0, 1]``, masks may overlap) is
replaced by a fill (:mod:`segxai_jax.fills`) and scored with the paper's
target (the summed pre-softmax class scores over the frozen region, or
another region score): ``drop_m = S(x) - S(fill(x, m))``. The map gives each
pixel the mean (or the sum) of the drops of the masks that cover it; a pixel
no mask covers gets 0. With the windows of :func:`occlusion` as masks it is
exactly the occlusion map (tested).

The masks are evaluated ``chunk_size`` at a time in one vmapped program.

References:
  Captum's ``FeatureAblation`` with feature masks (``ImageMaskInput``, 2025).
  Zeiler, Fergus. Visualizing and understanding convolutional networks.
  ECCV 2014 (occlusion, the square-window case).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.gradients import check_apply_fn
from segxai_jax.fills import apply_fill, as_fill
from segxai_jax.region_scores import check_region_score_options, region_score_fn
from segxai_jax.sweeps import check_chunk_size, check_strategy, map_chunked

COMBINES = ("mean", "sum")
DEFAULT_CHUNK_SIZE = 4
DEFAULT_STRATEGY = "lax_map"


def check_masks(masks, spatial_shape, name: str = "masks") -> jax.Array:
    """``masks [M, *spatial_shape]`` with M >= 1, as floats (shapes static)."""
    shape = tuple(jnp.shape(masks))
    expected = (None, *spatial_shape)
    if len(shape) != len(expected) or shape[1:] != tuple(spatial_shape):
        raise ValueError(
            f"{name}: expected [M, {', '.join(map(str, spatial_shape))}] (one "
            f"mask per segment, the image's spatial shape), got shape {shape}"
        )
    if shape[0] == 0:
        raise ValueError(f"{name}: expected at least one mask, got shape {shape}")
    return jnp.asarray(masks, jnp.float32)


def grid_masks(hw, cells: int, *, offset: float = 0.0) -> jax.Array:
    """Binary masks ``[M, H, W]`` of a grid of segments: the simplest generator.

    Args:
      hw: the image's ``(H, W)``.
      cells: cells per side (each about ``H / cells`` by ``W / cells``).
      offset: shift of the grid, as a fraction of a cell in ``[0, 1)``; a
        shifted grid has ``cells + 1`` segments per side (cut at the border).
        Two grids (offsets 0 and 0.5) give overlapping segments.

    Returns:
      The masks, row-major, each covering one cell (float32 0/1).
    """
    h, w = validation.check_int_sequence(hw, "hw", length=2, minimum=1)
    cells = validation.check_int(cells, "cells", minimum=1)
    if cells > min(h, w):
        raise ValueError(
            f"cells: expected at most min(H, W) = {min(h, w)} cells per side, "
            f"got {cells}"
        )
    offset = validation.check_real(
        offset, "offset", minimum=0.0, maximum=1.0, exclusive_maximum=True
    )
    rows = np.floor(np.arange(h) * cells / h + offset).astype(int)
    cols = np.floor(np.arange(w) * cells / w + offset).astype(int)
    ids = rows[:, None] * (cols.max() + 1) + cols[None, :]
    present = np.unique(ids)
    return jnp.asarray(ids[None] == present[:, None, None], jnp.float32)


def mask_ablation_scores(
    apply_fn: Callable,
    *,
    fill="black",
    fill_options: dict | None = None,
    score: str = "target",
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
) -> Callable:
    """The score drop of each mask: ``scores(key, params, x, target, masks) -> [M]``.

    Args: as :func:`mask_ablation`; ``masks [M, H, W]`` is given per call
    (e.g. one mask set per image).
    """
    check_apply_fn(apply_fn)
    fill_fn = as_fill(fill, fill_options)
    check_region_score_options(score, score_reduction, score_space, overlap_within)
    check_chunk_size(chunk_size)
    check_strategy(strategy)

    def scores(key, params, x, target, masks):
        masks = check_masks(masks, tuple(x.shape[:-1]))
        clean = apply_fn(params, x)
        validation.check_class_id(target, clean.shape[-1])
        score_of, clean_score = region_score_fn(
            score,
            clean,
            target,
            score_reduction=score_reduction,
            score_space=score_space,
            overlap_within=overlap_within,
        )
        shared = None
        if not fill_fn.depends_on_mask:  # one substrate for every mask
            shared = fill_fn.substrate(key, x, jnp.zeros(x.shape[:-1], x.dtype))

        def one(mask):
            mask = mask.astype(x.dtype)
            if shared is None:
                filled = fill_fn(key, x, mask)
            else:
                filled = apply_fill(x, shared, mask)
            return score_of(apply_fn(params, filled))

        ablated = map_chunked(one, masks, chunk_size=chunk_size, strategy=strategy)
        return clean_score - ablated

    return scores


def mask_ablation(
    apply_fn: Callable,
    masks,
    *,
    combine: str = "mean",
    fill="black",
    fill_options: dict | None = None,
    score: str = "target",
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
) -> Callable:
    """Segment-mask ablation map of a segmentation model.

    Args:
      apply_fn: ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``.
      masks: ``[M, H, W]`` in ``[0, 1]`` (overlaps allowed; soft masks blend
        the fill), or a callable ``masks(x) -> [M, H, W]`` (jittable, e.g. a
        segment generator run on each image).
      combine: a pixel's value from the drops of the masks covering it:
        ``"mean"`` (weighted by the mask values) or ``"sum"``.
      fill: a kind from :data:`segxai_jax.fills.FILL_KINDS`, a substrate
        callable ``(key, x, mask) -> [H, W, C]`` or a ``Fill``.
      fill_options: keyword options for ``make_fill``.
      score: ``"target"`` (the paper's summed class scores over the region),
        ``"mean_probability"``, ``"iou"`` or ``"dice"``.
      score_reduction / score_space / overlap_within: as in :func:`occlusion`.
      chunk_size: masks evaluated together by ``vmap``; ``None`` = all.
      strategy: ``"lax_map"`` or ``"unroll"`` (see ``map_chunked``).

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]``, positive where
      filling the covering segments lowers the score, 0 where no mask
      covers. ``key`` feeds random fills.
    """
    validation.check_choice(combine, "combine", COMBINES)
    if not callable(masks):
        fixed = jnp.asarray(masks)
        if fixed.ndim != 3:
            raise ValueError(
                f"masks: expected [M, H, W] or a callable, got shape {fixed.shape}"
            )
        check_masks(fixed, tuple(fixed.shape[1:]))
    scores_fn = mask_ablation_scores(
        apply_fn,
        fill=fill,
        fill_options=fill_options,
        score=score,
        score_reduction=score_reduction,
        score_space=score_space,
        overlap_within=overlap_within,
        chunk_size=chunk_size,
        strategy=strategy,
    )

    def explain(key, params, x, target):
        segments = masks(x) if callable(masks) else fixed
        segments = check_masks(segments, tuple(x.shape[:-1]))
        drops = scores_fn(key, params, x, target, segments)
        total = jnp.tensordot(drops, segments, axes=1)
        if combine == "sum":
            return total
        cover = segments.sum(0)
        return jnp.where(cover > 0, total / jnp.where(cover > 0, cover, 1.0), 0.0)

    return explain
