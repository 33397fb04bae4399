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
chunk, not with ``num_masks``. The masks come from ``key``
(:func:`rise_masks` gives them; their binary patterns are drawn flat, all at
once): the same key gives the same map; the map is noisy in ``num_masks`` (a
few thousand for a stable map at 64 px, as the paper uses 4,000 at 224 px).

References:
  Petsiuk, Das, Saenko. RISE: Randomized input sampling for explanation of
  black-box models. BMVC 2018.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import random_draws, validation
from segxai_jax.explainers.gradients import target_score_fn
from segxai_jax.explainers.nan_inputs import input_validity
from segxai_jax.region_scores import check_region_score_options, region_score_fn
from segxai_jax.types import ApplyFn


def _crop_weights(shift: jax.Array, size: int, cells: int, cell: int) -> jax.Array:
    """``[size, cells]``: bilinear up-sampling of ``cells`` values to
    ``(cells + 1) * cell`` pixels, rows ``shift .. shift + size`` of it.

    The half-pixel convention and edge renormalisation of
    ``jax.image.resize(..., method="bilinear")``, written as a weight matrix
    so that a random crop is a matrix product, not a gather.
    """
    scale = (cells + 1) * cell / cells
    sample = (jnp.arange(size, dtype=jnp.float32) + shift + 0.5) / scale - 0.5
    distance = jnp.abs(sample[:, None] - jnp.arange(cells, dtype=jnp.float32))
    weights = jnp.maximum(0.0, 1.0 - distance)
    return weights / weights.sum(axis=1, keepdims=True)


def _draw_patterns(key, num_masks, hw, grid, keep_probability):
    """Binary ``[N, grid, grid]`` patterns and ``[N, 2]`` crop offsets.

    Drawn flat from one key (``segxai_jax.random_draws``): one threefry call
    for all masks instead of one per mask under ``vmap``, which compiles in a
    fraction of the time.
    """
    key_cells, key_shift = jax.random.split(key)
    h, w = hw
    cells = random_draws.uniform(key_cells, (num_masks, grid, grid))
    cells = (cells < keep_probability).astype(jnp.float32)
    offsets = jax.random.randint(
        key_shift,
        (num_masks, 2),
        0,
        jnp.array([math.ceil(h / grid), math.ceil(w / grid)]),
    )
    return cells, offsets


def _masks_from_patterns(cells, offsets, hw):
    """``[N, H, W]`` masks: each pattern up-sampled and cropped at its offset."""
    h, w = hw
    grid = cells.shape[-1]
    cell_h, cell_w = math.ceil(h / grid), math.ceil(w / grid)

    def one(pattern, offset):
        rows = _crop_weights(offset[0], h, grid, cell_h)
        cols = _crop_weights(offset[1], w, grid, cell_w)
        # Full float32 products: TPUs and GPUs would otherwise round to bf16.
        highest = jax.lax.Precision.HIGHEST
        return jnp.matmul(
            jnp.matmul(rows, pattern, precision=highest), cols.T, precision=highest
        )

    return jax.vmap(one)(cells, offsets)


def rise_masks(
    key: jax.Array,
    num_masks: int,
    hw: tuple[int, int],
    *,
    grid: int,
    keep_probability: float,
) -> jax.Array:
    """The ``[num_masks, H, W]`` RISE masks in ``[0, 1]`` that ``rise`` draws.

    Each is a binary ``grid x grid`` pattern (cells kept with probability
    ``keep_probability``) up-sampled bilinearly to ``(grid + 1) * cell`` pixels
    (``cell = ceil(H / grid)``) and cropped at a random offset in ``[0, cell)``.

    Args:
      key: a PRNG key; ``rise(...)(key, ...)`` uses exactly these masks.
      num_masks: how many.
      hw: the image's ``(H, W)``.
      grid: cells per side of the binary pattern.
      keep_probability: probability that a cell is kept (1).
    """
    validation.check_key(key)
    num_masks, grid, keep_probability = _check_mask_options(
        num_masks, grid, keep_probability
    )
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f"hw: expected (H, W) with H, W >= 1, got {hw!r}")
    hw = (int(hw[0]), int(hw[1]))
    cells, offsets = _draw_patterns(key, num_masks, hw, grid, keep_probability)
    return _masks_from_patterns(cells, offsets, hw)


def rise_mask(
    key: jax.Array, hw: tuple[int, int], *, grid: int, keep_probability: float
) -> jax.Array:
    """One RISE mask ``[H, W]`` in ``[0, 1]`` (``rise_masks(key, 1, ...)[0]``).

    Args:
      key: a PRNG key.
      hw: the image's ``(H, W)``.
      grid: cells per side of the binary pattern.
      keep_probability: probability that a cell is kept (1).
    """
    return rise_masks(key, 1, hw, grid=grid, keep_probability=keep_probability)[0]


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
    num_masks, grid, keep_probability = _check_mask_options(
        num_masks, grid, keep_probability
    )
    chunk_size = validation.check_int(chunk_size, "chunk_size", minimum=1)
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
        cells, offsets = _draw_patterns(key, num_masks, hw, grid, keep_probability)
        chunks = (
            cells.reshape(num_masks // chunk_size, chunk_size, grid, grid),
            offsets.reshape(num_masks // chunk_size, chunk_size, 2),
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

        def one(mask):
            return score_of(x * mask[..., None]) * mask

        def chunk(total, patterns):
            masks = _masks_from_patterns(*patterns, hw)
            return total + jax.vmap(one)(masks).sum(axis=0), None

        total, _ = jax.lax.scan(chunk, jnp.zeros(hw, jnp.float32), chunks)
        return total / (num_masks * keep_probability) * input_validity(x)

    explain.perturbed = True  # attacked by gradient_free_attack, not gradients
    return explain


def _check_mask_options(num_masks, grid, keep_probability):
    """The mask count, grid and keep probability, checked and named."""
    num_masks = validation.check_int(num_masks, "num_masks", minimum=1)
    grid = validation.check_int(grid, "grid", minimum=1)
    keep_probability = validation.check_real(
        keep_probability,
        "keep_probability",
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    return num_masks, grid, keep_probability
