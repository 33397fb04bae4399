"""Explainers for segmentation models.

Every factory binds an apply function (``apply_fn(params, x) -> logits``) or a
:class:`~segxai_jax.probes.Probe` plus keyword-only hyper-parameters and returns
a pure ``explain(key, params, x, target) -> attribution``.
"""

from segxai_jax.explainers.ablation import (
    ablation_region,
    ablation_weights,
    seg_ablation_cam,
)
from segxai_jax.explainers.ablation_effects import (
    AblationEffect,
    ablation_effects,
    class_dice,
)
from segxai_jax.explainers.batching import explain_batch, explain_targets
from segxai_jax.explainers.cam_variants import (
    eigen_cam,
    grad_cam_plus_plus,
    grad_cam_plus_plus_weights,
    layer_cam,
)
from segxai_jax.explainers.cams import (
    activation_gradients,
    grad_cam_weights,
    hires_cam,
    seg_grad_cam,
    xgrad_cam,
)
from segxai_jax.explainers.fusion import fuse_maps, multi_layer_cam
from segxai_jax.explainers.gradients import (
    IG_RULES,
    gradient_x_input,
    integrated_gradients,
    integration_points,
    target_score_fn,
    vanilla_gradient,
)
from segxai_jax.explainers.mask_ablation import (
    grid_masks,
    mask_ablation,
    mask_ablation_scores,
)
from segxai_jax.explainers.occlusion import (
    occlusion,
    occlusion_num_windows,
    occlusion_windows,
)
from segxai_jax.explainers.rise import rise, rise_mask, rise_masks
from segxai_jax.explainers.score_cam import score_cam, upsample_channels
from segxai_jax.explainers.seg_xres_cam import block_pool, seg_xres_cam
from segxai_jax.explainers.sliding_window import sliding_window
from segxai_jax.explainers.smoothgrad import VARIANTS, sample_noise, smoothgrad

# Shared with the metrics and defined below both; re-exported for convenience.
from segxai_jax.fills import (
    FILL_KINDS,
    Fill,
    apply_fill,
    gaussian_blur,
    make_fill,
)
from segxai_jax.sweeps import STRATEGIES, map_chunked

__all__ = [
    "rise",
    "rise_mask",
    "rise_masks",
    "sliding_window",
    "score_cam",
    "upsample_channels",
    "eigen_cam",
    "grad_cam_plus_plus",
    "grad_cam_plus_plus_weights",
    "layer_cam",
    "FILL_KINDS",
    "IG_RULES",
    "STRATEGIES",
    "VARIANTS",
    "AblationEffect",
    "Fill",
    "ablation_effects",
    "ablation_region",
    "ablation_weights",
    "activation_gradients",
    "apply_fill",
    "class_dice",
    "explain_batch",
    "explain_targets",
    "gaussian_blur",
    "grad_cam_weights",
    "gradient_x_input",
    "hires_cam",
    "seg_xres_cam",
    "block_pool",
    "integrated_gradients",
    "integration_points",
    "make_fill",
    "map_chunked",
    "fuse_maps",
    "grid_masks",
    "mask_ablation",
    "mask_ablation_scores",
    "multi_layer_cam",
    "occlusion",
    "occlusion_num_windows",
    "occlusion_windows",
    "sample_noise",
    "seg_ablation_cam",
    "seg_grad_cam",
    "smoothgrad",
    "target_score_fn",
    "vanilla_gradient",
    "xgrad_cam",
]
