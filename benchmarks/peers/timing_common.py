"""What both sides of the timing benchmark share: methods, options, weights."""

from __future__ import annotations

import numpy as np

CAM_METHODS = (
    "seg_grad_cam",
    "hires_cam",
    "xgrad_cam",
    "seg_ablation_cam",
    "grad_cam_plus_plus",
    "layer_cam",
    "eigen_cam",
    "score_cam",
)
SEGMENT_CELLS = 4  # mask ablation: a 4 x 4 grid of segments on both sides
DEFAULT_OPTIONS = {
    "samples": 16,  # SmoothGrad noise samples
    "steps": 16,  # integrated-gradients steps
    "noise_level": 0.15,
    "patch": 8,  # occlusion window side
    "stride": 4,  # occlusion stride
    "layer": "bottleneck",  # CAM probe / ablated layer
}


def config_from_dict(fields: dict):
    from segxai_jax.models.unet import UNetConfig

    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return UNetConfig(**fields)


def flatten(params) -> dict[str, np.ndarray]:
    return {
        f"params/{layer}/{name}": np.asarray(value)
        for layer, leaves in params.items()
        for name, value in leaves.items()
    }


def unflatten(arrays) -> dict:
    params: dict = {}
    for key in arrays.files:
        if key.startswith("params/"):
            _, layer, name = key.split("/")
            params.setdefault(layer, {})[name] = arrays[key]
    return params
