"""segxai_jax: explainable semantic segmentation in JAX/Flax.

The functional API: build an apply function or a probe from a model, a
:class:`Target` (class + ROI), and an explainer; every explainer returns a pure
``explain(key, params, x, target)`` to ``jit``/``vmap`` as you like.

Subpackages (``segxai_jax.metrics``, ``.attacks``, ``.nas``, ``.continual``,
``.data``, ``.models``, ``.training``, ``.viz``, ...) are reachable as
attributes after ``import segxai_jax``; each is imported on first use, so the
package itself imports quickly.
"""

import importlib as _importlib

from segxai_jax.adapters import linen_apply_fn, nnx_apply_fn
from segxai_jax.explainers import (
    eigen_cam,
    explain_batch,
    explain_targets,
    grad_cam_plus_plus,
    gradient_x_input,
    hires_cam,
    integrated_gradients,
    layer_cam,
    mask_ablation,
    occlusion,
    rise,
    score_cam,
    seg_ablation_cam,
    seg_grad_cam,
    seg_xres_cam,
    smoothgrad,
    vanilla_gradient,
    xgrad_cam,
)
from segxai_jax.instances import component_targets, instance_targets
from segxai_jax.probes import make_probe, probe_points, token_probe
from segxai_jax.targets import (
    binary_target,
    box_roi,
    class_targets,
    ground_truth_roi,
    largest_component_roi,
    make_target,
    pixel_roi,
    predicted_class_roi,
    target_score,
    target_validity,
)
from segxai_jax.types import ApplyFn, Explainer, Probe, Target
from segxai_jax.validation import validate_explainer_inputs

__version__ = "0.1.0"

_SUBMODULES = (
    "adapters",
    "attacks",
    "continual",
    "data",
    "explainers",
    "fills",
    "instances",
    "memory",
    "metrics",
    "models",
    "nas",
    "postprocess",
    "probes",
    "region_scores",
    "runtime",
    "sweeps",
    "targets",
    "training",
    "types",
    "validation",
    "viz",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f"segxai_jax.{name}")
    raise AttributeError(f"module 'segxai_jax' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBMODULES])


__all__ = [
    "eigen_cam",
    "grad_cam_plus_plus",
    "ApplyFn",
    "Explainer",
    "Probe",
    "Target",
    "binary_target",
    "box_roi",
    "class_targets",
    "component_targets",
    "explain_batch",
    "explain_targets",
    "gradient_x_input",
    "ground_truth_roi",
    "hires_cam",
    "seg_xres_cam",
    "instance_targets",
    "integrated_gradients",
    "largest_component_roi",
    "linen_apply_fn",
    "layer_cam",
    "make_probe",
    "make_target",
    "nnx_apply_fn",
    "mask_ablation",
    "occlusion",
    "pixel_roi",
    "predicted_class_roi",
    "probe_points",
    "rise",
    "score_cam",
    "seg_ablation_cam",
    "seg_grad_cam",
    "smoothgrad",
    "target_score",
    "target_validity",
    "token_probe",
    "validate_explainer_inputs",
    "vanilla_gradient",
    "xgrad_cam",
]
