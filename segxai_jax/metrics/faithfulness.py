"""Faithfulness of a saliency map: deletion and insertion curves (RISE).

Pixels are ordered by decreasing saliency. The deletion curve moves them, in
that order, from the image ``x`` to a substrate (black by default) and records
a score of the target after each step; the insertion curve starts from the
substrate (a Gaussian blur of ``x``, kernel 11, sigma 5, by default) and puts
the pixels of ``x`` back. A faithful map makes the deletion score fall fast
(low area under the curve) and the insertion score rise fast (high area).

Steps. With ``N = H * W`` pixels and ``n = num_steps``, step ``i`` (``0..n``)
has the first ``N_i = floor(i * N / n + 1/2)`` pixels of the order moved
(choice: round half up, computed in integers), so step 0 is the clean image
(deletion) or the full substrate (insertion) and step ``n`` the other end. The
order is a stable sort of ``-saliency``: ties go to the lower row-major index,
so flat (e.g. ReLU-zeroed) regions are removed top-left first, deterministically.

Scores are those of occlusion (:mod:`segxai_jax.region_scores`):
``"target"`` (``S_c(x; M)``, summed logits by default), ``"mean_probability"``,
``"iou"``/``"dice"`` of class ``c`` against the clean prediction. The ROI ``M``
and the clean prediction are frozen from the clean image. The clean end of a
curve is the clean image's score exactly (1 for ``"iou"``/``"dice"``); a curve
costs ``num_steps + 1`` forward passes, evaluated ``chunk_size`` at a time.

Summaries: :func:`auc` (trapezoid rule on ``[0, 1]``), :func:`relative_curve`
(``s / s_0``, comparable across images), and :func:`random_saliency`, the
baseline every table should report.

References:
  Petsiuk, Das, Saenko. RISE: Randomized input sampling for explanation of
  black-box models. BMVC 2018 (deletion and insertion metrics).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.gradients import check_apply_fn
from segxai_jax.fills import Fill, apply_fill, as_fill
from segxai_jax.region_scores import (
    check_region_score_options,
    region_score_fn,
)
from segxai_jax.sweeps import (
    check_chunk_size,
    check_strategy,
    map_chunked,
)

# Choice: 32 steps (33 forward passes per curve) resolve the curve well enough
# to rank methods; RISE used one step per image row (224 steps at 224 px).
DEFAULT_NUM_STEPS = 32
# Every step is a full forward pass, as an occlusion window is; occlusion's
# measurement (benchmarks/ablation_occlusion_chunks.py) found chunks of 2-16
# within ~10 % of each other on a 2-core CPU and "lax_map" compiling far faster.
DEFAULT_CHUNK_SIZE = 4
DEFAULT_STRATEGY = "lax_map"


def step_counts(num_pixels: int, num_steps: int) -> np.ndarray:
    """Pixels moved at each step, ``floor(i * num_pixels / num_steps + 1/2)``.

    Args:
      num_pixels: ``H * W``.
      num_steps: ``n >= 1``.

    Returns:
      int32 ``[n + 1]``, from 0 to ``num_pixels``, non-decreasing (steps repeat
      when ``n > num_pixels``).
    """
    _check_num_steps(num_steps)
    i = np.arange(num_steps + 1, dtype=np.int64)
    return ((2 * i * num_pixels + num_steps) // (2 * num_steps)).astype(np.int32)


def saliency_ranks(saliency: jax.Array) -> jax.Array:
    """Position of each pixel in the deletion order (0 = most salient).

    Args:
      saliency: ``[H, W]``.

    Returns:
      int32 ``[H, W]``, a permutation of ``0..H*W-1``; ties keep row-major order
      (stable sort of ``-saliency``; ``-0.0`` and ``0.0`` tie).
    """
    flat = saliency.reshape(-1).astype(jnp.float32)
    order = jnp.argsort(-flat, stable=True)
    positions = jnp.arange(flat.shape[0], dtype=jnp.int32)
    ranks = jnp.zeros(flat.shape, jnp.int32).at[order].set(positions)
    return ranks.reshape(saliency.shape)


def random_saliency(key: jax.Array, shape) -> jax.Array:
    """Uniform ``[0, 1)`` saliency: the random-order baseline.

    Args:
      key: a PRNG key; the same key gives the same order.
      shape: ``(H, W)``, or ``(..., B, H, W)`` for a batch.

    Returns:
      float32 array of ``shape`` (ties have probability ~0).
    """
    return jax.random.uniform(key, tuple(shape), jnp.float32)


def deletion_curve(
    apply_fn: Callable,
    *,
    num_steps: int = DEFAULT_NUM_STEPS,
    fill: str | Callable | Fill = "black",
    fill_options: dict | None = None,
    score: str = "target",
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
) -> Callable:
    """Deletion curve: scores as the most salient pixels go to a substrate.

    Args:
      apply_fn: ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``.
      num_steps: ``n >= 1``; the curve has ``n + 1`` points.
      fill: the substrate: a kind from
        :data:`segxai_jax.fills.FILL_KINDS` (RISE deletes to
        ``"black"``), a callable ``(key, x, mask) -> [H, W, C]`` or a ``Fill``.
        Substrates that do not depend on the mask are computed once.
      fill_options: keyword options for ``make_fill`` (e.g. ``{"mean": ...}``).
      score: ``"target"``, ``"mean_probability"``, ``"iou"`` or ``"dice"``.
      score_reduction: ``"sum"`` or ``"mean"`` (``score="target"`` only).
      score_space: ``"logits"`` or ``"probabilities"`` (``score="target"``).
      overlap_within: ``"image"`` or ``"roi"`` (``"iou"``/``"dice"`` only).
      chunk_size: steps evaluated together by ``vmap``; ``None`` = all.
      strategy: ``"lax_map"`` (constant compile time) or ``"unroll"``.

    Returns:
      ``curve(key, params, x [H, W, C], saliency [H, W], target) -> [n + 1]``;
      entry 0 is the clean score, entry ``n`` the score of the substrate.
      ``key`` feeds random fills (``"noise"``); otherwise it is ignored.
      Lower :func:`auc` is better.

    Raises:
      ValueError: unknown option names, ``num_steps < 1``; at call time a
        saliency whose shape is not ``x``'s ``(H, W)`` and, outside ``jit``,
        non-finite saliency or images, empty ROIs, class ids out of range.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from segxai_jax.metrics import auc, relative_curve
      >>> from segxai_jax.targets import make_target
      >>> apply_fn = lambda w, x: x @ w  # a per-pixel linear model
      >>> w, x = jnp.ones((3, 2)), jnp.ones((8, 8, 3))
      >>> curve = deletion_curve(apply_fn, num_steps=4)
      >>> target = make_target(1, jnp.ones((8, 8)))
      >>> scores = curve(jax.random.key(0), w, x, x.sum(-1), target)
      >>> scores.tolist()  # S = 64 pixels x 3 channels; a quarter goes per step
      [192.0, 144.0, 96.0, 48.0, 0.0]
      >>> float(auc(relative_curve(scores)))
      0.5

    References:
      Petsiuk, Das, Saenko. RISE. BMVC 2018.
    """
    return _curve(
        "deletion",
        apply_fn,
        num_steps=num_steps,
        fill=fill,
        fill_options=fill_options,
        score=score,
        score_reduction=score_reduction,
        score_space=score_space,
        overlap_within=overlap_within,
        chunk_size=chunk_size,
        strategy=strategy,
    )


def insertion_curve(
    apply_fn: Callable,
    *,
    num_steps: int = DEFAULT_NUM_STEPS,
    fill: str | Callable | Fill = "blur",
    fill_options: dict | None = None,
    score: str = "target",
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
) -> Callable:
    """Insertion curve: scores as the most salient pixels return to a substrate.

    Step ``i`` shows ``x`` on the first ``N_i`` pixels of the order and the
    substrate elsewhere (a mask-dependent fill such as ``"patch_mean"`` is
    computed over the pixels not yet inserted).

    Args:
      apply_fn: ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``.
      num_steps: ``n >= 1``; the curve has ``n + 1`` points.
      fill: the starting substrate; RISE's ``"blur"`` (Gaussian, kernel 11,
        sigma 5) by default. See :func:`deletion_curve` for the other options.
      fill_options: keyword options for ``make_fill``.
      score: ``"target"``, ``"mean_probability"``, ``"iou"`` or ``"dice"``.
      score_reduction: ``"sum"`` or ``"mean"`` (``score="target"`` only).
      score_space: ``"logits"`` or ``"probabilities"`` (``score="target"``).
      overlap_within: ``"image"`` or ``"roi"`` (``"iou"``/``"dice"`` only).
      chunk_size: steps evaluated together by ``vmap``; ``None`` = all.
      strategy: ``"lax_map"`` (constant compile time) or ``"unroll"``.

    Returns:
      ``curve(key, params, x [H, W, C], saliency [H, W], target) -> [n + 1]``;
      entry 0 is the substrate's score, entry ``n`` the clean score. Higher
      :func:`auc` is better.

    Raises:
      ValueError: as :func:`deletion_curve`.

    References:
      Petsiuk, Das, Saenko. RISE. BMVC 2018.
    """
    return _curve(
        "insertion",
        apply_fn,
        num_steps=num_steps,
        fill=fill,
        fill_options=fill_options,
        score=score,
        score_reduction=score_reduction,
        score_space=score_space,
        overlap_within=overlap_within,
        chunk_size=chunk_size,
        strategy=strategy,
    )


def _check_num_steps(num_steps) -> None:
    validation.check_int(num_steps, "num_steps", minimum=1)


def _check_saliency(saliency, spatial_shape, name: str = "saliency") -> None:
    validation.check_float_array(
        saliency, name, ndim=len(spatial_shape), what="a saliency map [H, W]"
    )
    shape = tuple(getattr(saliency, "shape", ()))
    if shape != tuple(spatial_shape):
        raise ValueError(
            f"{name}: expected shape {tuple(spatial_shape)} (the image's H, W), got "
            f"{shape}"
        )
    if validation.is_concrete(saliency) and not np.all(np.isfinite(saliency)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")


def _curve(mode, apply_fn, *, num_steps, fill, fill_options, score, **options):
    check_apply_fn(apply_fn)
    _check_num_steps(num_steps)
    fill_fn = as_fill(fill, fill_options)
    chunk_size, strategy = options.pop("chunk_size"), options.pop("strategy")
    check_region_score_options(score, **options)
    check_chunk_size(chunk_size)
    check_strategy(strategy)
    deleting = mode == "deletion"

    def curve(key, params, x, saliency, target):
        validation.check_image(x)
        hw = tuple(x.shape[:2])
        _check_saliency(saliency, hw)
        validation.check_target_against(target, hw)
        counts = step_counts(hw[0] * hw[1], num_steps)
        clean = apply_fn(params, x)
        validation.check_class_id(target, clean.shape[-1])
        score_of, clean_score = region_score_fn(score, clean, target, **options)
        ranks = saliency_ranks(saliency)
        substrate = None
        if not fill_fn.depends_on_mask:  # computed once, shared by all steps
            substrate = fill_fn.substrate(key, x, jnp.zeros(hw, x.dtype))

        def step_score(count):
            moved = (ranks < count).astype(x.dtype)
            replaced = moved if deleting else 1 - moved  # [H, W], 1 = substrate
            if substrate is None:
                perturbed = fill_fn(key, x, replaced)
            else:
                perturbed = apply_fill(x, substrate, replaced)
            return score_of(apply_fn(params, perturbed))

        # The clean end is the clean image itself: its score is not recomputed.
        steps = counts[1:] if deleting else counts[:-1]
        scores = map_chunked(
            step_score, jnp.asarray(steps), chunk_size=chunk_size, strategy=strategy
        )
        ends = (clean_score[None], scores) if deleting else (scores, clean_score[None])
        return jnp.concatenate(ends).astype(jnp.float32)

    return validation.attach_class_count(curve, validation.logits_class_count(apply_fn))
