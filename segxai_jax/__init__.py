"""segxai_jax: explainable semantic segmentation in JAX/Flax.

The functional API: build an apply function or a probe from a model, a
:class:`Target` (class + ROI), and an explainer; every explainer returns a pure
``explain(key, params, x, target)`` to ``jit``/``vmap`` as you like.
"""

from segxai_jax.explainers import (
    explain_batch,
    explain_targets,
    gradient_x_input,
    integrated_gradients,
    occlusion,
    seg_ablation_cam,
    seg_grad_cam,
    smoothgrad,
    vanilla_gradient,
)
from segxai_jax.probes import Probe, make_probe, probe_points
from segxai_jax.targets import (
    Target,
    box_roi,
    class_targets,
    ground_truth_roi,
    largest_component_roi,
    make_target,
    pixel_roi,
    predicted_class_roi,
    target_score,
)
from segxai_jax.validation import validate_explainer_inputs

__version__ = "0.1.0"

__all__ = [
    "Probe",
    "Target",
    "box_roi",
    "class_targets",
    "explain_batch",
    "explain_targets",
    "gradient_x_input",
    "ground_truth_roi",
    "integrated_gradients",
    "largest_component_roi",
    "make_probe",
    "make_target",
    "occlusion",
    "pixel_roi",
    "predicted_class_roi",
    "probe_points",
    "seg_ablation_cam",
    "seg_grad_cam",
    "smoothgrad",
    "target_score",
    "validate_explainer_inputs",
    "vanilla_gradient",
]
