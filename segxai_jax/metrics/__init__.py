"""Quantitative evaluation of explanations and their compute cost.

Families (Quantus' taxonomy, Hedstrom et al., JMLR 2023), each a pure function
of one map that composes with ``jax.vmap``:

* faithfulness: deletion / insertion curves, AUC, random baseline;
* localisation: pointing game, relevance mass and rank, top-k IoU with a mask;
* leakage: relevance outside the target region and on other classes' pixels;
* meta-evaluation: does a metric react to model randomisation but resist
  small input noise (:func:`metric_sanity`);
* complexity: sparseness (Gini), entropy;
* randomisation: model-parameter randomisation (cascading / independent);
* robustness: max- and avg-sensitivity;
* similarity between two maps (also NAS fitness and attack losses);
* cost: compile time, time per image, forward/backward passes;

and the quality of a segmentation itself (confusion matrix, pixel accuracy,
IoU, mIoU, Dice), which training, attacks and continual learning report.
"""

from segxai_jax.metrics.complexity import entropy, sparseness
from segxai_jax.metrics.cost import ExplainerCost, PassCount, measure_cost, pass_counts
from segxai_jax.metrics.curves import auc, batched_curves, relative_curve
from segxai_jax.metrics.faithfulness import (
    deletion_curve,
    insertion_curve,
    random_saliency,
)
from segxai_jax.metrics.leakage import class_mass, off_target_leakage
from segxai_jax.metrics.localisation import (
    pointing_game,
    relevance_mass,
    relevance_rank,
    top_k_iou_with_mask,
)
from segxai_jax.metrics.meta import metric_sanity
from segxai_jax.metrics.randomisation import (
    parameter_randomisation,
    randomise_params,
    unet_layer_groups,
)
from segxai_jax.metrics.robustness import (
    avg_sensitivity,
    max_sensitivity,
    sensitivities,
)
from segxai_jax.metrics.segmentation import confusion_matrix, segmentation_scores
from segxai_jax.metrics.similarity import (
    cosine,
    inverse_euclidean,
    pearson,
    spearman,
    ssim,
    top_k_iou,
)

__all__ = [
    "ExplainerCost",
    "PassCount",
    "auc",
    "avg_sensitivity",
    "batched_curves",
    "class_mass",
    "confusion_matrix",
    "cosine",
    "deletion_curve",
    "entropy",
    "insertion_curve",
    "inverse_euclidean",
    "max_sensitivity",
    "off_target_leakage",
    "measure_cost",
    "metric_sanity",
    "parameter_randomisation",
    "pass_counts",
    "pearson",
    "pointing_game",
    "random_saliency",
    "randomise_params",
    "relative_curve",
    "relevance_mass",
    "relevance_rank",
    "segmentation_scores",
    "sensitivities",
    "sparseness",
    "spearman",
    "ssim",
    "top_k_iou",
    "top_k_iou_with_mask",
    "unet_layer_groups",
]
