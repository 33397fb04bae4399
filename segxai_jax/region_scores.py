"""Scores of a perturbed image against its clean prediction, for one target.

Occlusion sensitivity (:mod:`segxai_jax.explainers.occlusion`) and the
deletion/insertion curves (:mod:`segxai_jax.metrics.faithfulness`) both perturb
the input and ask how much of the prediction for a target survives. They share
these scores, so that ``score="dice"`` means the same thing in both. The ROI
``M`` and the clean prediction are frozen: only the perturbed logits change.

Scores:

* ``"target"``: ``S_c(x; M)`` with ``score_reduction`` (``"sum"``/``"mean"``
  over ``M``) and ``score_space`` (``"logits"``/``"probabilities"``); the seed
  paper's summed logits by default;
* ``"mean_probability"``: mean softmax probability of class ``c`` over ``M``;
* ``"iou"`` / ``"dice"``: overlap of the class-``c`` region (argmax over
  classes) predicted for the perturbed image with the one predicted for the
  clean image; over the whole image (``overlap_within="image"``) or over the
  ROI only (``"roi"``, pixels weighted by ``M``). The clean score is 1; two
  empty regions count as overlap 1.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.targets import (
    Target,
    check_score_options,
    target_score,
    target_validity,
)

SCORES = ("target", "mean_probability", "iou", "dice")
OVERLAP_REGIONS = ("image", "roi")


def check_region_score_options(
    score: str, score_reduction: str, score_space: str, overlap_within: str
) -> None:
    """Raises ``ValueError`` naming the first unknown option."""
    validation.check_choice(score, "score", SCORES)
    validation.check_choice(overlap_within, "overlap_within", OVERLAP_REGIONS)
    check_score_options(score_reduction, score_space)


def weighted_overlap(
    clean: jax.Array, perturbed: jax.Array, weights: jax.Array, kind: str
) -> jax.Array:
    """Weighted IoU or Dice of two boolean maps ``[H, W]``; 1 when both are empty.

    Args:
      clean: boolean region ``[H, W]`` of the clean prediction.
      perturbed: boolean region ``[H, W]`` of the perturbed prediction.
      weights: per-pixel weights ``[H, W]`` (ones, or the ROI mask).
      kind: ``"iou"`` or ``"dice"``.

    Returns:
      A scalar in ``[0, 1]``.
    """
    both = jnp.sum(weights * (clean & perturbed))
    if kind == "iou":
        denominator = jnp.sum(weights * (clean | perturbed))
        numerator = both
    else:
        denominator = jnp.sum(weights * clean) + jnp.sum(weights * perturbed)
        numerator = 2.0 * both
    return jnp.where(denominator > 0, numerator / jnp.maximum(denominator, 1e-12), 1.0)


def region_score_fn(
    score: str,
    clean: jax.Array,
    target: Target,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
) -> tuple[Callable[[jax.Array], jax.Array], jax.Array]:
    """The score of perturbed logits, with the clean prediction frozen.

    Args:
      score: one of :data:`SCORES` (see the module docstring).
      clean: logits of the clean image ``[H, W, K]``.
      target: class ``c`` and ROI ``M [H, W]``.
      score_reduction: ``"sum"`` or ``"mean"`` (``score="target"`` only).
      score_space: ``"logits"`` or ``"probabilities"`` (``score="target"``).
      overlap_within: ``"image"`` or ``"roi"`` (``"iou"``/``"dice"`` only).

    Returns:
      ``(score_of, clean_score)``: ``score_of(logits [H, W, K]) -> []`` and the
      clean image's score ``[]`` (1 for ``"iou"``/``"dice"``). Both are NaN
      for an invalid target (see :func:`segxai_jax.targets.target_validity`).
    """
    if score in ("iou", "dice"):
        validity = target_validity(target, clean.shape[-1])
        clean_region = jnp.argmax(clean, -1) == target.class_id
        if overlap_within == "roi":
            weights = target.mask
        else:
            weights = jnp.ones(clean.shape[:-1], clean.dtype)

        def overlap_of(logits):
            region = jnp.argmax(logits, -1) == target.class_id
            return weighted_overlap(clean_region, region, weights, score) * validity

        return overlap_of, validity.astype(clean.dtype)
    reduction, space = score_reduction, score_space
    if score == "mean_probability":
        reduction, space = "mean", "probabilities"

    def score_of(logits):
        return target_score(logits, target, reduction=reduction, space=space)

    return score_of, score_of(clean)
