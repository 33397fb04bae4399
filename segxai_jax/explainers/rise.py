"""RISE for segmentation: randomly masked inputs, scores as mask weights.

``num_masks`` random masks ``M_i [H, W]`` are drawn as in Petsiuk et al.: a
binary ``grid x grid`` pattern with keep probability ``keep_probability``,
upsampled bilinearly to ``(grid + 1) * cell`` pixels (``cell = ceil(H /
grid)``) and cropped at a random offset in ``[0, cell)``, so masks are smooth
and not aligned to a lattice. Each masked input ``x * M_i`` is scored with the
paper's target ``S_c(x * M_i; M)`` (the ROI frozen), and the map is the
mask average weighted by those scores::

    RISE(x) = sum_i S_c(x * M_i) M_i / (num_masks * keep_probability)

(a Monte Carlo estimate of ``E[S_c(x * M) M] / p``). ``score`` selects another
region score of the masked prediction (:mod:`segxai_jax.region_scores`): the
mean class probability over the ROI, or the IoU / Dice of the class-``c``
region with the clean prediction's (inside the image or the ROI), so RISE
answers "which pixels keep the segment" rather than "which pixels keep the
logits". The sum is accumulated
``chunk_size`` masks at a time inside a ``lax.scan``, so memory grows with the
chunk, not with ``num_masks``. The masks come from ``key``: the same key
gives the same map; the map is noisy in ``num_masks`` (a few thousand for a
stable map at 64 px, as the paper uses 4,000 at 224 px).

References:
  Petsiuk, Das, Saenko. RISE: Randomized input sampling for explanation of
  black-box models. BMVC 2018.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.explainers.gradients import target_score_fn
from segxai_jax.explainers.nan_inputs import input_validity
from segxai_jax.region_scores import check_region_score_options, region_score_fn
from segxai_jax.types import ApplyFn


def rise_mask(
    key: jax.Array, hw: tuple[int, int], *, grid: int, keep_probability: float
) -> jax.Array:
    """One RISE mask ``[H, W]`` in ``[0, 1]``.

    Args:
      key: a PRNG key.
      hw: the image's ``(H, W)``.
      grid: cells per side of the binary pattern.
      keep_probability: probability that a cell is kept (1).
    """
    key_cells, key_shift = jax.random.split(key)
    h, w = hw
    cell_h, cell_w = math.ceil(h / grid), math.ceil(w / grid)
    cells = jax.random.bernoulli(key_cells, keep_probability, (grid, grid))
    up = jax.image.resize(
        cells.astype(jnp.float32),
        ((grid + 1) * cell_h, (grid + 1) * cell_w),
        method="bilinear",
    )
    shift = jax.random.randint(key_shift, (2,), 0, jnp.array([cell_h, cell_w]))
    return jax.lax.dynamic_slice(up, (shift[0], shift[1]), (h, w))


def rise(
    apply_fn: ApplyFn,
    *,
    num_masks: int = 2000,
    grid: int = 8,
    keep_probability: float = 0.5,
    chunk_size: int = 50,
    score: str = "target",
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
) -> Callable:
    """RISE of the segmentation target ``S_c(x; M)`` (or another region score).

    Args:
      apply_fn: ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``.
      num_masks: random masks (a multiple of ``chunk_size``).
      grid: cells per side of each mask's binary pattern.
      keep_probability: probability that a cell is kept, in ``(0, 1)``.
      chunk_size: masks scored together in one vmapped call (peak memory).
      score: ``"target"`` (the seed paper's summed class scores over the
        ROI), ``"mean_probability"``, ``"iou"`` or ``"dice"`` (of the masked
        prediction's class-``c`` region with the clean one's; one more
        forward pass for the clean prediction).
      score_reduction: ``"sum"`` (the paper's target) or ``"mean"`` over the
        ROI (``score="target"``).
      score_space: ``"logits"`` or ``"probabilities"`` (RISE's paper scores
        class probabilities; ``score="target"``).
      overlap_within: ``"image"`` or ``"roi"``: where IoU / Dice count pixels.

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]``; the key draws
      the masks (required). Jittable and vmappable.

    References:
      Petsiuk, Das, Saenko. RISE. BMVC 2018.
    """
    num_masks = validation.check_int(num_masks, "num_masks", minimum=1)
    grid = validation.check_int(grid, "grid", minimum=1)
    chunk_size = validation.check_int(chunk_size, "chunk_size", minimum=1)
    keep_probability = validation.check_real(
        keep_probability,
        "keep_probability",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    if num_masks % chunk_size:
        raise ValueError(
            f"num_masks: expected a multiple of chunk_size={chunk_size}, got "
            f"{num_masks}; e.g. num_masks={chunk_size * -(-num_masks // chunk_size)}"
        )
    check_region_score_options(score, score_reduction, score_space, overlap_within)
    target_score_of = target_score_fn(
        apply_fn, score_reduction=score_reduction, score_space=score_space
    )

    def explain(key, params, x, target):
        validation.check_key(key)
        validation.check_input(x, target)
        if x.ndim != 3:
            raise ValueError(f"x: RISE takes one image [H, W, C], got shape {x.shape}")
        hw = tuple(x.shape[:2])
        keys = jax.random.split(key, num_masks).reshape(
            num_masks // chunk_size, chunk_size
        )

        if score == "target":

            def score_of(masked):
                return target_score_of(params, masked, target)

        else:
            region_score, _ = region_score_fn(
                score,
                apply_fn(params, x),
                target,
                score_reduction=score_reduction,
                score_space=score_space,
                overlap_within=overlap_within,
            )

            def score_of(masked):
                return region_score(apply_fn(params, masked))

        def one(mask_key):
            mask = rise_mask(mask_key, hw, grid=grid, keep_probability=keep_probability)
            return score_of(x * mask[..., None]) * mask

        def chunk(total, chunk_keys):
            return total + jax.vmap(one)(chunk_keys).sum(axis=0), None

        total, _ = jax.lax.scan(chunk, jnp.zeros(hw, jnp.float32), keys)
        return total / (num_masks * keep_probability) * input_validity(x)

    explain.perturbed = True  # attacked by gradient_free_attack, not gradients
    return explain
