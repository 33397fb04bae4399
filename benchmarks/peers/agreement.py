"""Do our explainers and the peers' give the same maps on the same model?

Same weights (Flax model and its PyTorch twin), same images, same targets: the
paper's target score, logits of class ``c`` summed over an ROI mask ``M``.
Prints per-image Pearson correlations (mean and minimum over the batch) of

* vanilla gradient: ``segxai_jax.explainers.gradients.vanilla_gradient`` vs
  Captum ``Saliency`` (``abs=False`` for the raw gradient; ``abs=True`` +
  channel max vs our ``channel_reduction="abs_max"``);
* Seg-Grad-CAM at the bottleneck: ``seg_grad_cam`` (ReLU, then bilinear resize,
  then min-max per image) vs pytorch-grad-cam ``GradCAM`` with
  ``SemanticSegmentationTarget`` (ReLU, min-max, ``cv2.resize``);
* Grad-CAM++, LayerCAM, Eigen-CAM and Score-CAM (corner-aligned upsampling)
  at the bottleneck, the same way, vs pytorch-grad-cam's ``GradCAMPlusPlus``,
  ``LayerCAM``, ``EigenCAM`` and ``ScoreCAM``. The
  sign of a principal component is arbitrary: ours is set to agree with the
  channel sum, pytorch-grad-cam keeps the SVD's; ``eigen_cam_flipped`` compares
  theirs with our map of the opposite sign, so one of the two rows is the
  agreement;
* segment-mask ablation (``segxai_jax.mask_ablation``, black fill, every pixel
  the score drop of its segment) with a 4 x 4 grid of segments vs Captum
  ``FeatureAblation`` with the same segments as ``feature_mask`` and baseline
  0 (Captum needs segments that do not overlap; ours allows overlaps).

Besides the Pearson correlation, the largest absolute difference relative to
the peer map's largest magnitude is printed (``max error``).

Targets: per image an ROI box (a quarter of the image side, random position)
and the class the model predicts most often inside it.

Run (needs the ``peers`` extra)::

    python benchmarks/peers/agreement.py
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from map_stats import make_targets, min_max, pearson, per_image  # noqa: E402, F401
from parity import QUICKSTART, build_pair  # noqa: E402
from torch_unet import nhwc_to_nchw  # noqa: E402

from segxai_jax.explainers.cam_variants import (  # noqa: E402
    eigen_cam,
    grad_cam_plus_plus,
    layer_cam,
)
from segxai_jax.explainers.cams import finish_cam, seg_grad_cam  # noqa: E402
from segxai_jax.explainers.gradients import vanilla_gradient  # noqa: E402
from segxai_jax.explainers.mask_ablation import mask_ablation  # noqa: E402
from segxai_jax.explainers.score_cam import score_cam  # noqa: E402
from segxai_jax.models.unet import UNetConfig, unet_apply_fn  # noqa: E402
from segxai_jax.probes import make_probe  # noqa: E402
from segxai_jax.targets import make_target  # noqa: E402


def grid_segments(size: int, cells: int = 4) -> np.ndarray:
    """``[H, W]`` int segment ids of a ``cells x cells`` grid (a simple generator)."""
    rows = np.arange(size) * cells // size
    return (rows[:, None] * cells + rows[None, :]).astype(np.int64)


def ours(model, params, x, classes, masks):
    """Our maps: raw gradient, abs-max gradient, the CAMs, mask ablation."""
    apply_fn = unet_apply_fn(model)
    targets = make_target(jnp.asarray(classes), jnp.asarray(masks))
    batched = jax.vmap  # one explainer call per (image, target)

    def run(explain):
        fn = jax.jit(batched(lambda xi, ti: explain(None, params, xi, ti)))
        return np.asarray(fn(jnp.asarray(x), targets))

    probe = make_probe(model, "bottleneck", input_shape=x.shape[1:])
    segments = grid_segments(x.shape[1])
    segment_masks = np.stack([segments == i for i in range(segments.max() + 1)])
    return {
        "mask_ablation": run(mask_ablation(apply_fn, segment_masks, fill="black")),
        "grad_raw": run(vanilla_gradient(apply_fn)),  # [B, H, W, C]
        "grad_abs_max": run(vanilla_gradient(apply_fn, channel_reduction="abs_max")),
        "cam": min_max(run(seg_grad_cam(probe))),  # [B, H, W]
        "grad_cam_plus_plus": min_max(run(grad_cam_plus_plus(probe))),
        "layer_cam": min_max(run(layer_cam(probe))),
        "eigen_cam": min_max(run(eigen_cam(probe))),
        "score_cam": min_max(run(score_cam(probe, align_corners=True))),
        "eigen_cam_flipped": min_max(
            run(_flipped(eigen_cam(probe, relu=False, output_size=None)))
        ),
    }


def _flipped(coarse):
    """Eigen-CAM with the other sign of the component: ReLU, then resize."""

    def flipped(key, params, x, target):
        return finish_cam(-coarse(key, params, x, target), target.mask.shape)

    return flipped


def theirs(twin, x, classes, masks):
    """Captum Saliency (raw, abs + channel max) and pytorch-grad-cam GradCAM."""
    from captum.attr import FeatureAblation, Saliency
    from pytorch_grad_cam import (
        EigenCAM,
        GradCAM,
        GradCAMPlusPlus,
        LayerCAM,
        ScoreCAM,
    )
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

    xt = nhwc_to_nchw(x)
    cls_t = torch.from_numpy(classes.astype(np.int64))
    mask_t = torch.from_numpy(masks)

    def score(inp):  # [B] = sum over the ROI of the class-c logits
        logits = twin(inp)
        chosen = logits[torch.arange(inp.shape[0]), cls_t]  # [B, H, W]
        return (chosen * mask_t).sum(dim=(1, 2))

    saliency = Saliency(score)
    raw = saliency.attribute(xt.clone().requires_grad_(), abs=False).detach().numpy()
    absolute = (
        saliency.attribute(xt.clone().requires_grad_(), abs=True).detach().numpy()
    )
    targets = [
        SemanticSegmentationTarget(int(c), m)
        for c, m in zip(classes, masks, strict=True)
    ]

    def cam_of(method):
        with method(model=twin, target_layers=[twin.stages["bottleneck"]]) as cam:
            return np.asarray(cam(input_tensor=xt.clone(), targets=targets))

    eigen = cam_of(EigenCAM)
    feature_mask = torch.from_numpy(grid_segments(x.shape[1]))[None, None]
    ablation = FeatureAblation(score).attribute(
        xt.clone(), baselines=0.0, feature_mask=feature_mask
    )
    return {
        "mask_ablation": ablation.detach().numpy()[:, 0],  # the same on every channel
        "grad_raw": raw.transpose(0, 2, 3, 1),
        "grad_abs_max": absolute.max(axis=1),
        "cam": cam_of(GradCAM),
        "grad_cam_plus_plus": cam_of(GradCAMPlusPlus),
        "layer_cam": cam_of(LayerCAM),
        "eigen_cam": eigen,
        "eigen_cam_flipped": eigen,
        "score_cam": cam_of(ScoreCAM),
    }


def compare(config: UNetConfig, *, batch: int, size: int, seed: int = 0):
    """``(pearson, max_error)``: per comparison, per-image Pearson correlations
    and per-image ``max |ours - theirs| / max |theirs|``."""
    model, params, twin = build_pair(config, size, seed)
    x = np.random.default_rng(seed + 1).random(
        (batch, size, size, config.in_channels), dtype=np.float32
    )
    logits = np.asarray(jax.jit(lambda v: model.apply({"params": params}, v))(x))
    classes, masks = make_targets(logits, seed + 2)
    a = ours(model, params, x, classes, masks)
    b = theirs(twin, x, classes, masks)
    result = {name: per_image(a[name], b[name]) for name in a}
    result["eigen_cam_either_sign"] = np.fmax(
        result["eigen_cam"], result["eigen_cam_flipped"]
    )
    errors = {name: max_error(a[name], b[name]) for name in a}
    errors["eigen_cam_either_sign"] = np.fmin(
        errors["eigen_cam"], errors["eigen_cam_flipped"]
    )
    return result, errors


def max_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per image: ``max |a - b| / max |b|``."""
    axes = tuple(range(1, a.ndim))
    scale = np.maximum(np.abs(b).max(axis=axes), 1e-12)
    return np.abs(a - b).max(axis=axes) / scale


def agreement(config: UNetConfig, *, batch: int, size: int, seed: int = 0):
    """``{name: per-image Pearson correlations}`` for every comparison."""
    return compare(config, batch=batch, size=size, seed=seed)[0]


LABELS = {
    "grad_raw": "vanilla gradient, raw [H,W,C]   vs Captum Saliency(raw)",
    "grad_abs_max": "vanilla gradient, abs_max [H,W] vs Captum Saliency(abs).max(C)",
    "cam": "Seg-Grad-CAM bottleneck, min-max vs pytorch-grad-cam GradCAM",
    "grad_cam_plus_plus": "Grad-CAM++ bottleneck, min-max vs GradCAMPlusPlus",
    "layer_cam": "LayerCAM bottleneck, min-max vs LayerCAM",
    "eigen_cam": "Eigen-CAM bottleneck, min-max vs EigenCAM",
    "eigen_cam_flipped": "Eigen-CAM, other sign, min-max vs EigenCAM",
    "eigen_cam_either_sign": "Eigen-CAM, the sign that agrees, per image",
    "score_cam": "Score-CAM (align_corners=True) vs ScoreCAM",
    "mask_ablation": "mask ablation, 4x4 grid segments vs Captum FeatureAblation",
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = UNetConfig(**QUICKSTART)
    result, errors = compare(config, batch=args.batch, size=args.size, seed=args.seed)
    print(f"quickstart U-Net, random weights, batch {args.batch} x {args.size}^2")
    for name, r in result.items():
        print(
            f"{LABELS[name]}: Pearson mean {np.nanmean(r):.8f} "
            f"min {np.nanmin(r):.8f} (max 1 - r: {np.nanmax(1 - r):.2e}; "
            f"NaN: {int(np.isnan(r).sum())}); max error {np.nanmax(errors[name]):.2e}"
        )


if __name__ == "__main__":
    main()
