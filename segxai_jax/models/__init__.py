"""Segmentation models and their analytic size."""

from segxai_jax.models.counting import ConvSpec, conv_specs, count_flops, count_params
from segxai_jax.models.unet import (
    ACTIVATIONS,
    INPUT_NORMS,
    NORMS,
    UNet,
    UNetConfig,
    depth_to_space_2x2,
    init_unet,
    max_pool_2x2,
    softplus_with_beta,
    unet_apply_fn,
)

__all__ = [
    "ACTIVATIONS",
    "INPUT_NORMS",
    "NORMS",
    "ConvSpec",
    "UNet",
    "UNetConfig",
    "conv_specs",
    "count_flops",
    "count_params",
    "depth_to_space_2x2",
    "init_unet",
    "max_pool_2x2",
    "softplus_with_beta",
    "unet_apply_fn",
]
