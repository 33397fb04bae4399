"""Adversarial manipulation of explanations (Dombrowski et al. 2019).

:func:`explanation_attack` moves the explanation of a batch of images towards
target maps (:mod:`~segxai_jax.attacks.target_maps`) while keeping the
segmentation and the input nearly unchanged; :func:`gradient_free_attack`
minimises the same loss from loss values alone (an evolution strategy) for
perturbation-based explainers;
:mod:`~segxai_jax.attacks.evaluation` measures the result with the deployed
(ReLU) model and re-measures it with a defence.
"""

from segxai_jax.attacks.config import (
    AttackConfig,
    check_swappable,
    softplus_beta_schedule,
)
from segxai_jax.attacks.evaluation import (
    evaluate_attack,
    explain_images,
    explanation_metrics,
    input_metrics,
    map_similarity,
    output_metrics,
)
from segxai_jax.attacks.explanation_attack import (
    AttackInfo,
    AttackState,
    ExplanationAttack,
    explanation_attack,
    normalize_heatmap,
    project,
    unet_apply_at,
)
from segxai_jax.attacks.gradient_free import (
    SearchConfig,
    es_gradient,
    gradient_free_attack,
    search_directions,
)
from segxai_jax.attacks.target_maps import (
    CORNERS,
    check_target_maps,
    other_image_maps,
    shift_map,
    shifted_maps,
    square_pattern,
)

__all__ = [
    "CORNERS",
    "AttackConfig",
    "AttackInfo",
    "AttackState",
    "ExplanationAttack",
    "SearchConfig",
    "check_swappable",
    "check_target_maps",
    "es_gradient",
    "evaluate_attack",
    "explain_images",
    "explanation_attack",
    "explanation_metrics",
    "gradient_free_attack",
    "input_metrics",
    "map_similarity",
    "normalize_heatmap",
    "other_image_maps",
    "output_metrics",
    "project",
    "search_directions",
    "shift_map",
    "shifted_maps",
    "softplus_beta_schedule",
    "square_pattern",
    "unet_apply_at",
]
