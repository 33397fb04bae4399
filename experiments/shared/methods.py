"""The explanation methods the experiments compare, built for one U-Net.

Each :class:`Method` maps ``(key, params, x [H, W, 3], target)`` to a saliency
map ``[H, W]`` (input-gradient methods reduce channels as noted), plus its
analytic pass count. Raw maps are returned; figures min-max them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax.numpy as jnp

from experiments.shared.options import field
from segxai_jax import explainers
from segxai_jax.fills import FILL_KINDS
from segxai_jax.metrics import PassCount, pass_counts
from segxai_jax.models import UNet, unet_apply_fn
from segxai_jax.postprocess import reduce_channels
from segxai_jax.probes import make_probe


@dataclasses.dataclass(frozen=True)
class MethodSettings:
    """Settings of the compared methods (a config's ``explain`` section; the
    defaults are the quickstart's).

    Attributes:
      smoothgrad_samples: noisy samples of SmoothGrad.
      noise_level: SmoothGrad's sigma relative to the image's range.
      ig_steps: integrated-gradients steps.
      cam_layer: probe point of the Grad-CAM family.
      ablation_layer: probe point of Seg-Ablation-CAM.
      occlusion_patch: occlusion window side (pixels).
      occlusion_stride: occlusion stride (pixels).
      occlusion_fill: the occluding fill (also mask ablation's).
      rise_masks: RISE's random masks.
      rise_grid: cells per side of RISE's mask patterns.
      segment_cells: cells per side of mask ablation's segments (two grids,
        the second shifted by half a cell: overlapping segments).
    """

    smoothgrad_samples: int = field(default=16, minimum=1)
    noise_level: float = field(default=0.15, minimum=0.0)
    ig_steps: int = field(default=16, minimum=1)
    cam_layer: str = "bottleneck"
    ablation_layer: str = "enc2"
    occlusion_patch: int = field(default=8, minimum=1)
    occlusion_stride: int = field(default=4, minimum=1)
    occlusion_fill: str = field(default="grey", choices=FILL_KINDS)
    rise_masks: int = field(default=500, minimum=1)
    rise_grid: int = field(default=8, minimum=1)
    segment_cells: int = field(default=4, minimum=1)


@dataclasses.dataclass(frozen=True)
class Method:
    """One explanation method, ready to call.

    Attributes:
      name: display name.
      explain: ``explain(key, params, x, target) -> [H, W]``.
      passes: network evaluations per explanation.
      description: hyper-parameters in words.
    """

    name: str
    explain: Callable
    passes: PassCount
    description: str


def _reduced(explain, method: str):
    def reduced(key, params, x, target):
        return reduce_channels(explain(key, params, x, target), method)

    return reduced


def build_methods(model: UNet, *, image_size: int, options) -> dict[str, Method]:
    """All methods of the comparison for ``model`` on ``image_size`` images.

    Args:
      model: the U-Net (its probe points are used for the CAM methods).
      image_size: H = W of the inputs.
      options: the :class:`MethodSettings` fields.
    """
    apply_fn = unet_apply_fn(model)
    shape = (image_size, image_size, model.config.in_channels)
    cam_probe = make_probe(model, options.cam_layer, input_shape=shape)
    ablation_probe = make_probe(model, options.ablation_layer, input_shape=shape)
    gradient = explainers.vanilla_gradient(apply_fn)
    one_pass = pass_counts("vanilla_gradient")
    n, steps = options.smoothgrad_samples, options.ig_steps
    windows = explainers.occlusion_num_windows(
        image_size, options.occlusion_patch, options.occlusion_stride
    )
    methods = [
        Method(
            "gradient",
            _reduced(gradient, "abs_max"),
            one_pass,
            "abs(dS/dx), max over RGB",
        ),
        Method(
            "gradient x input",
            _reduced(explainers.gradient_x_input(apply_fn), "sum"),
            one_pass,
            "x * dS/dx, summed over RGB",
        ),
        Method(
            "integrated gradients",
            _reduced(explainers.integrated_gradients(apply_fn, num_steps=steps), "sum"),
            pass_counts("integrated_gradients", num_steps=steps),
            f"{steps} Gauss-Legendre steps from black, summed over RGB",
        ),
        Method(
            "SmoothGrad",
            _reduced(
                explainers.smoothgrad(
                    gradient, num_samples=n, noise_level=options.noise_level
                ),
                "abs_max",
            ),
            pass_counts("smoothgrad", num_samples=n, base=one_pass),
            f"{n} samples, noise {options.noise_level:g}, max abs over RGB",
        ),
        Method(
            "Seg-Grad-CAM",
            explainers.seg_grad_cam(cam_probe),
            pass_counts("seg_grad_cam"),
            f"probe {options.cam_layer}",
        ),
        Method(
            "HiRes-CAM",
            explainers.seg_grad_cam(cam_probe, weighting="hires_cam"),
            pass_counts("seg_grad_cam"),
            f"probe {options.cam_layer}",
        ),
        Method(
            "XGrad-CAM",
            explainers.seg_grad_cam(cam_probe, weighting="xgrad_cam"),
            pass_counts("seg_grad_cam"),
            f"probe {options.cam_layer}",
        ),
        Method(
            "Seg-Ablation-CAM",
            explainers.seg_ablation_cam(ablation_probe),
            pass_counts(
                "seg_ablation_cam", num_channels=ablation_probe.activation_shape[-1]
            ),
            f"probe {options.ablation_layer}, every channel zeroed",
        ),
        Method(
            "occlusion",
            explainers.occlusion(
                apply_fn,
                patch_size=options.occlusion_patch,
                stride=options.occlusion_stride,
                fill=options.occlusion_fill,
            ),
            pass_counts("occlusion", num_windows=windows),
            f"{options.occlusion_patch}px patch, stride {options.occlusion_stride}, "
            f"{options.occlusion_fill} fill",
        ),
    ]
    methods += _sweep_and_cam_variants(apply_fn, cam_probe, image_size, options)
    return {m.name: m for m in methods}


def _sweep_and_cam_variants(apply_fn, cam_probe, image_size, options):
    """Seg-XRes-CAM, Grad-CAM++, LayerCAM, Eigen-CAM, Score-CAM, RISE, mask ablation."""
    layer, channels = options.cam_layer, cam_probe.activation_shape[-1]
    n = options.rise_masks
    cells = options.segment_cells
    hw = (image_size, image_size)
    segments = jnp.concatenate(
        [
            explainers.grid_masks(hw, cells),
            explainers.grid_masks(hw, cells, offset=0.5),
        ]
    )
    return [
        Method(
            "Seg-XRes-CAM",
            explainers.seg_xres_cam(cam_probe, pool_size=2),
            pass_counts("seg_xres_cam"),
            f"probe {layer}, gradient max-pooled over 2x2 blocks",
        ),
        Method(
            "Grad-CAM++",
            explainers.grad_cam_plus_plus(cam_probe),
            pass_counts("grad_cam_plus_plus"),
            f"probe {layer}",
        ),
        Method(
            "LayerCAM",
            explainers.layer_cam(cam_probe),
            pass_counts("layer_cam"),
            f"probe {layer}",
        ),
        Method(
            "Eigen-CAM",
            explainers.eigen_cam(cam_probe),
            pass_counts("eigen_cam"),
            f"probe {layer}, first principal component (no target)",
        ),
        Method(
            "Score-CAM",
            explainers.score_cam(cam_probe),
            pass_counts("score_cam", num_channels=channels),
            f"probe {layer}, {channels} channels as masks",
        ),
        Method(
            "RISE",
            explainers.rise(
                apply_fn,
                num_masks=n,
                grid=options.rise_grid,
                chunk_size=math.gcd(n, 50),
            ),
            pass_counts("rise", num_masks=n),
            f"{n} masks of a {options.rise_grid}x{options.rise_grid} grid, keep 0.5",
        ),
        Method(
            "mask ablation",
            explainers.mask_ablation(apply_fn, segments, fill=options.occlusion_fill),
            pass_counts("mask_ablation", num_masks=len(segments)),
            f"{len(segments)} segments: {cells}x{cells} grid and the grid "
            f"shifted by half a cell, {options.occlusion_fill} fill",
        ),
    ]
