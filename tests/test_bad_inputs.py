"""Every public entry point refuses bad input clearly.

Each case passes ONE bad argument to a public function and asserts a
``TypeError`` or ``ValueError`` whose message names that argument: never a
plausible answer (silent) and never an error from deep inside jax, flax or
NumPy that does not say which argument was wrong (obscure). The cases are
grouped by part of the library; ``test_case_count`` keeps the set from
shrinking.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

import segxai_jax as sx
from segxai_jax import attacks, continual, data, fills, metrics, models, nas, training
from segxai_jax.sweeps import map_chunked

SIZE = 16
K = 3
NAN = float("nan")
INF = float("inf")
KEY = jax.random.key(0)


@dataclasses.dataclass(frozen=True)
class Case:
    category: str
    name: str
    call: Callable[[], object]
    argument: str  # must appear in the message


CASES: list[Case] = []


def case(category: str, name: str, argument: str):
    def register(call):
        CASES.append(Case(category, name, call, argument))
        return call

    return register


def many(category: str, argument: str, calls: dict[str, Callable]):
    for name, call in calls.items():
        CASES.append(Case(category, name, call, argument))


# ----------------------------------------------------------------------------
# Shared tiny objects, built on first use.


@functools.cache
def tiny():
    config = models.UNetConfig(num_classes=K, widths=(4, 8))
    model = models.UNet(config)
    params = numpy_init(model, (SIZE, SIZE, 3), 0)
    apply_fn = models.unet_apply_fn(model)
    probe = sx.make_probe(model, "bottleneck", input_shape=(SIZE, SIZE, 3))
    x = jnp.asarray(np.random.default_rng(1).random((SIZE, SIZE, 3)), jnp.float32)
    mask = sx.box_roi((SIZE, SIZE), 4, 4, 6, 6)
    target = sx.make_target(1, mask)
    other = models.UNet(models.UNetConfig(num_classes=K, widths=(6, 12)))
    other_params = numpy_init(other, (SIZE, SIZE, 3), 2)
    return dict(
        config=config,
        model=model,
        params=params,
        apply_fn=apply_fn,
        probe=probe,
        x=x,
        mask=mask,
        target=target,
        other_params=other_params,
        gradient=sx.vanilla_gradient(apply_fn),
        xs=jnp.stack([x, x[::-1]]),
        targets=sx.make_target(jnp.array([1, 2]), jnp.stack([mask, mask])),
        bad_targets=sx.make_target(jnp.array([1, 7]), jnp.stack([mask, mask])),
        bad_target=sx.make_target(7, mask),
    )


def t(name):
    return tiny()[name]


def arrays(num=4, *, labels_max=K - 1, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((num, SIZE, SIZE, 3)).astype(np.float32)
    masks = rng.integers(0, labels_max + 1, (num, SIZE, SIZE)).astype(np.int32)
    masks[:, 0, 0] = labels_max
    return {"image": images, "mask": masks}


# ----------------------------------------------------------------------------
# targets

many(
    "targets",
    "class_id",
    {
        "make_target float class": lambda: sx.make_target(2.5, t("mask")),
        "make_target bool class": lambda: sx.make_target(True, t("mask")),
        "make_target negative class": lambda: sx.make_target(-1, t("mask")),
        "make_target float class array": lambda: sx.make_target(
            jnp.array([1.5]), t("mask")[None]
        ),
        "predicted_class_roi class >= K": lambda: sx.predicted_class_roi(
            jnp.zeros((4, 4, K)), K
        ),
        "predicted_class_roi float class": lambda: sx.predicted_class_roi(
            jnp.zeros((4, 4, K)), 1.5
        ),
        "ground_truth_roi float class": lambda: sx.ground_truth_roi(
            np.zeros((4, 4), int), 0.5
        ),
    },
)
many(
    "targets",
    "mask",
    {
        # A 3-D mask with one class is a volume ROI; an image refuses it.
        "make_target batched mask for one class": lambda: sx.vanilla_gradient(
            t("apply_fn")
        )(None, t("params"), t("x"), sx.make_target(1, t("mask")[None])),
        "make_target mask of strings": lambda: sx.make_target(1, np.array([["a"]])),
        "make_target one mask for two classes": lambda: sx.make_target(
            [1, 2], t("mask")
        ),
    },
)
many(
    "targets",
    "box_roi",
    {
        "box outside the image": lambda: sx.box_roi((8, 8), 10, 10, 2, 2),
        "box left of the image": lambda: sx.box_roi((8, 8), 0, -5, 4, 3),
    },
)
many(
    "targets",
    "height",
    {
        "box height 0": lambda: sx.box_roi((8, 8), 0, 0, 0, 2),
        "box height 2.5": lambda: sx.box_roi((8, 8), 0, 0, 2.5, 2),
    },
)
many(
    "targets",
    "spatial_shape",
    {
        "box fractional image size": lambda: sx.box_roi((8, 8.5), 0, 0, 2, 2),
        "pixel 3-d image size": lambda: sx.pixel_roi((8, 8, 3), 0, 0),
    },
)
many(
    "targets",
    "row",
    {
        "pixel row below the image": lambda: sx.pixel_roi((8, 8), 8, 0),
        "pixel row 1.5": lambda: sx.pixel_roi((8, 8), 1.5, 0),
    },
)
case("targets", "pixel col negative", "col")(lambda: sx.pixel_roi((8, 8), 0, -1))
many(
    "targets",
    "labels",
    {
        "class_targets label >= num_classes": lambda: sx.class_targets(
            np.array([[0, 5], [1, 1]]), K
        ),
        "class_targets float labels": lambda: sx.class_targets(
            np.array([[0.0, 1.5]]), K
        ),
        "class_targets nothing to explain": lambda: sx.class_targets(
            np.zeros((2, 2), int), K
        ),
        "ground_truth_roi float labels": lambda: sx.ground_truth_roi(
            np.array([[0.5, 1.0]]), 1
        ),
    },
)
case("targets", "class_targets fractional K", "num_classes")(
    lambda: sx.class_targets(np.zeros((2, 2), int), 2.5)
)
case("targets", "class_targets skip_background=1", "skip_background")(
    lambda: sx.class_targets(np.ones((2, 2), int), K, skip_background=1)
)
case("targets", "target_score with a tuple", "target")(
    lambda: sx.target_score(jnp.zeros((SIZE, SIZE, K)), (1, t("mask")))
)
case("targets", "target_score reduction max", "reduction")(
    lambda: sx.target_score(jnp.zeros((SIZE, SIZE, K)), t("target"), reduction="max")
)
case("targets", "largest_component_roi 3-d", "binary")(
    lambda: sx.largest_component_roi(jnp.ones((2, 2, 2)))
)


# ----------------------------------------------------------------------------
# explainers: factories

many(
    "explainers",
    "apply_fn",
    {
        "vanilla_gradient of a probe": lambda: sx.vanilla_gradient(t("probe")),
        "vanilla_gradient of an int": lambda: sx.vanilla_gradient(42),
        "gradient_x_input of an explainer": lambda: sx.gradient_x_input(
            lambda key, params, x, target, extra: x
        ),
        "integrated_gradients of a probe": lambda: sx.integrated_gradients(t("probe")),
        "occlusion of a probe": lambda: sx.occlusion(t("probe")),
        "deletion_curve of a probe": lambda: metrics.deletion_curve(t("probe")),
        "insertion_curve of a string": lambda: metrics.insertion_curve("unet"),
    },
)
many(
    "explainers",
    "explainer",
    {
        "smoothgrad of an apply_fn": lambda: sx.smoothgrad(t("apply_fn")),
        "smoothgrad of a probe": lambda: sx.smoothgrad(t("probe")),
        "smoothgrad of None": lambda: sx.smoothgrad(None),
    },
)
many(
    "explainers",
    "probe",
    {
        "seg_grad_cam of an apply_fn": lambda: sx.seg_grad_cam(t("apply_fn")),
        "seg_grad_cam of a layer name": lambda: sx.seg_grad_cam("bottleneck"),
        "seg_ablation_cam of an apply_fn": lambda: sx.seg_ablation_cam(t("apply_fn")),
    },
)
many(
    "explainers",
    "num_samples",
    {
        "smoothgrad 2.5 samples": lambda: sx.smoothgrad(t("gradient"), num_samples=2.5),
        "smoothgrad True samples": lambda: sx.smoothgrad(
            t("gradient"), num_samples=True
        ),
        "smoothgrad 0 samples": lambda: sx.smoothgrad(t("gradient"), num_samples=0),
    },
)
many(
    "explainers",
    "noise_level",
    {
        "smoothgrad NaN noise": lambda: sx.smoothgrad(t("gradient"), noise_level=NAN),
        "smoothgrad inf noise": lambda: sx.smoothgrad(t("gradient"), noise_level=INF),
        "smoothgrad negative noise": lambda: sx.smoothgrad(
            t("gradient"), noise_level=-0.1
        ),
        "smoothgrad string noise": lambda: sx.smoothgrad(
            t("gradient"), noise_level="0.1"
        ),
    },
)
many(
    "explainers",
    "chunk_size",
    {
        "smoothgrad chunk 0": lambda: sx.smoothgrad(t("gradient"), chunk_size=0),
        "smoothgrad chunk 1.5": lambda: sx.smoothgrad(t("gradient"), chunk_size=1.5),
        "integrated_gradients chunk 2.0": lambda: sx.integrated_gradients(
            t("apply_fn"), chunk_size=2.0
        ),
        "occlusion chunk -1": lambda: sx.occlusion(t("apply_fn"), chunk_size=-1),
        "seg_ablation_cam chunk True": lambda: sx.seg_ablation_cam(
            t("probe"), chunk_size=True
        ),
        "explain_batch chunk 0": lambda: sx.explain_batch(t("gradient"), chunk_size=0),
        "map_chunked chunk 2.5": lambda: map_chunked(
            lambda v: v, jnp.ones(4), chunk_size=2.5
        ),
        "batched_curves chunk 0": lambda: metrics.batched_curves(
            metrics.deletion_curve(t("apply_fn")), chunk_size=0
        ),
    },
)
many(
    "explainers",
    "strategy",
    {
        "smoothgrad scan": lambda: sx.smoothgrad(t("gradient"), strategy="scan"),
        "occlusion vmap": lambda: sx.occlusion(t("apply_fn"), strategy="vmap"),
        "seg_ablation_cam loop": lambda: sx.seg_ablation_cam(
            t("probe"), strategy="loop"
        ),
    },
)
case("explainers", "smoothgrad median", "variant")(
    lambda: sx.smoothgrad(t("gradient"), variant="median")
)
many(
    "explainers",
    "num_steps",
    {
        "ig 2.5 steps": lambda: sx.integrated_gradients(t("apply_fn"), num_steps=2.5),
        "ig 0 steps": lambda: sx.integrated_gradients(t("apply_fn"), num_steps=0),
        "ig trapezoid with 1 step": lambda: sx.integrated_gradients(
            t("apply_fn"), num_steps=1, rule="riemann_trapezoid"
        ),
        "deletion 1.5 steps": lambda: metrics.deletion_curve(
            t("apply_fn"), num_steps=1.5
        ),
        "insertion 0 steps": lambda: metrics.insertion_curve(
            t("apply_fn"), num_steps=0
        ),
    },
)
case("explainers", "ig rule simpson", "rule")(
    lambda: sx.integrated_gradients(t("apply_fn"), rule="simpson")
)
many(
    "explainers",
    "baseline",
    {
        "ig baseline grey": lambda: sx.integrated_gradients(
            t("apply_fn"), baseline="grey"
        ),
        "ig baseline NaN": lambda: sx.integrated_gradients(t("apply_fn"), baseline=NAN),
        "ig baseline True": lambda: sx.integrated_gradients(
            t("apply_fn"), baseline=True
        ),
        "ig baseline of the wrong shape": lambda: sx.integrated_gradients(
            t("apply_fn"), baseline=jnp.zeros((2, 2, 3))
        )(None, t("params"), t("x"), t("target")),
    },
)
many(
    "explainers",
    "channel_reduction",
    {
        "gradient median reduction": lambda: sx.vanilla_gradient(
            t("apply_fn"), channel_reduction="median"
        ),
        "gradient x input reduction 1": lambda: sx.gradient_x_input(
            t("apply_fn"), channel_reduction=1
        ),
    },
)
many(
    "explainers",
    "score_space",
    {
        "gradient odds space": lambda: sx.vanilla_gradient(
            t("apply_fn"), score_space="odds"
        ),
        "cam log space": lambda: sx.seg_grad_cam(t("probe"), score_space="log"),
    },
)
case("explainers", "gradient max reduction", "score_reduction")(
    lambda: sx.vanilla_gradient(t("apply_fn"), score_reduction="max")
)
case("explainers", "cam gradcam++", "weighting")(
    lambda: sx.seg_grad_cam(t("probe"), weighting="gradcam++")
)
many(
    "explainers",
    "output_size",
    {
        "cam fractional output size": lambda: sx.seg_grad_cam(
            t("probe"), output_size=(8.5, 8)
        ),
        "cam output size 'half'": lambda: sx.seg_grad_cam(
            t("probe"), output_size="half"
        ),
        "cam output size of three": lambda: sx.seg_grad_cam(
            t("probe"), output_size=(8, 8, 8)
        )(None, t("params"), t("x"), t("target")),
        "ablation output size 0": lambda: sx.seg_ablation_cam(
            t("probe"), output_size=(0, 8)
        ),
    },
)
many(
    "explainers",
    "relu",
    {
        "cam relu=1": lambda: sx.seg_grad_cam(t("probe"), relu=1),
        "ablation relu='yes'": lambda: sx.seg_ablation_cam(t("probe"), relu="yes"),
    },
)
case("explainers", "cam order", "order")(
    lambda: sx.seg_grad_cam(t("probe"), order="resize")
)
many(
    "explainers",
    "ablation_value",
    {
        "ablation value NaN": lambda: sx.seg_ablation_cam(
            t("probe"), ablation_value=NAN
        ),
        "ablation value string": lambda: sx.seg_ablation_cam(
            t("probe"), ablation_value="0"
        ),
    },
)
case("explainers", "ablation scale inf", "scale")(
    lambda: sx.seg_ablation_cam(t("probe"), mode="scale", scale=INF)
)
case("explainers", "ablation region middle", "region")(
    lambda: sx.seg_ablation_cam(t("probe"), region="middle")
)
many(
    "explainers",
    "region_threshold",
    {
        "ablation threshold 1": lambda: sx.seg_ablation_cam(
            t("probe"), region_threshold=1.0
        ),
        "ablation threshold NaN": lambda: sx.seg_ablation_cam(
            t("probe"), region_threshold=NAN
        ),
    },
)
many(
    "explainers",
    "channels",
    {
        "ablation channel 99": lambda: sx.seg_ablation_cam(
            t("probe"), channels=[0, 99]
        )(None, t("params"), t("x"), t("target")),
        "ablation fractional channel": lambda: sx.seg_ablation_cam(
            t("probe"), channels=[0.5]
        ),
        "ablation channels 'all'": lambda: sx.seg_ablation_cam(
            t("probe"), channels="all"
        ),
    },
)
case("explainers", "ablation denominator", "denominator")(
    lambda: sx.seg_ablation_cam(t("probe"), denominator="max")
)
case("explainers", "ablation mode zero", "mode")(
    lambda: sx.seg_ablation_cam(t("probe"), mode="zero")
)
many(
    "explainers",
    "patch_size",
    {
        "occlusion patch 4.5": lambda: sx.occlusion(t("apply_fn"), patch_size=4.5),
        "occlusion patch 0": lambda: sx.occlusion(t("apply_fn"), patch_size=0),
        "occlusion patch larger than the image": lambda: sx.occlusion(
            t("apply_fn"), patch_size=SIZE + 1, stride=1
        )(KEY, t("params"), t("x"), t("target")),
        "occlusion patch of three": lambda: sx.occlusion(
            t("apply_fn"), patch_size=(2, 2, 2)
        ),
    },
)
many(
    "explainers",
    "stride",
    {
        "occlusion stride beyond the patch": lambda: sx.occlusion(
            t("apply_fn"), patch_size=4, stride=8
        ),
        "occlusion stride 1.5": lambda: sx.occlusion(t("apply_fn"), stride=1.5),
    },
)
many(
    "explainers",
    "fill",
    {
        "occlusion pink fill": lambda: sx.occlusion(t("apply_fn"), fill="pink"),
        "occlusion fill 3": lambda: sx.occlusion(t("apply_fn"), fill=3),
        "deletion fill 'zeros'": lambda: metrics.deletion_curve(
            t("apply_fn"), fill="zeros"
        ),
    },
)
many(
    "explainers",
    "fill_options",
    {
        "occlusion unknown fill option": lambda: sx.occlusion(
            t("apply_fn"), fill="grey", fill_options={"colour": 1}
        ),
        "occlusion fill options list": lambda: sx.occlusion(
            t("apply_fn"), fill="grey", fill_options=[1]
        ),
    },
)
case("explainers", "noise fill negative std", "noise_std")(
    lambda: sx.occlusion(t("apply_fn"), fill="noise", fill_options={"noise_std": -1})
)
case("explainers", "noise fill NaN mean", "noise_mean")(
    lambda: fills.make_fill("noise", noise_mean=NAN)
)
many(
    "explainers",
    "mean",
    {
        "dataset mean missing": lambda: fills.make_fill("dataset_mean"),
        "dataset mean NaN": lambda: fills.make_fill("dataset_mean", mean=[NAN, 0, 0]),
        "dataset mean strings": lambda: fills.make_fill("dataset_mean", mean=["a"]),
    },
)
case("explainers", "blur kernel 4", "blur_kernel_size")(
    lambda: fills.make_fill("blur", blur_kernel_size=4)
)
case("explainers", "blur sigma 0", "blur_sigma")(
    lambda: fills.make_fill("blur", blur_sigma=0)
)
case("explainers", "gaussian_blur kernel 2.5", "kernel_size")(
    lambda: fills.gaussian_blur(t("x"), kernel_size=2.5)
)
case("explainers", "gaussian_blur padding", "padding")(
    lambda: fills.gaussian_blur(t("x"), padding="wrap")
)
case("explainers", "occlusion score auc", "score")(
    lambda: sx.occlusion(t("apply_fn"), score="auc")
)
case("explainers", "occlusion overlap box", "overlap_within")(
    lambda: sx.occlusion(t("apply_fn"), score="iou", overlap_within="box")
)

# explainers: calls


def _call(explainer, *, key=KEY, params=None, x=None, target=None):
    params = t("params") if params is None else params
    x = t("x") if x is None else x
    target = t("target") if target is None else target
    return explainer(key, params, x, target)


EXPLAINERS = {
    "gradient": lambda: t("gradient"),
    "smoothgrad": lambda: sx.smoothgrad(t("gradient"), num_samples=2),
    "ig": lambda: sx.integrated_gradients(t("apply_fn"), num_steps=2),
    "grad-cam": lambda: sx.seg_grad_cam(t("probe")),
    "ablation-cam": lambda: sx.seg_ablation_cam(t("probe"), channels=[0, 1]),
    "occlusion": lambda: sx.occlusion(t("apply_fn"), patch_size=8, stride=8),
}
for _name, _make in EXPLAINERS.items():
    many(
        "explainers",
        "x",
        {
            f"{_name}: int image": lambda m=_make: _call(
                m(), x=(t("x") * 255).astype(jnp.int32)
            ),
            f"{_name}: bool image": lambda m=_make: _call(m(), x=t("x") > 0.5),
            f"{_name}: batch instead of one image": lambda m=_make: _call(
                m(), x=t("xs")
            ),
            f"{_name}: NaN pixel": lambda m=_make: _call(
                m(), x=t("x").at[0, 0, 0].set(NAN)
            ),
        },
    )
    case("explainers", f"{_name}: (class, mask) tuple", "target")(
        lambda m=_make: _call(m(), target=(1, t("mask")))
    )
    case("explainers", f"{_name}: class >= K", "class_id")(
        lambda m=_make: _call(m(), target=t("bad_target"))
    )
    case("explainers", f"{_name}: empty ROI", "mask")(
        lambda m=_make: _call(m(), target=sx.make_target(1, jnp.zeros((SIZE, SIZE))))
    )
    case("explainers", f"{_name}: another model's params", "params")(
        lambda m=_make: _call(m(), params=t("other_params"))
    )
case("explainers", "smoothgrad: key None", "key")(
    lambda: _call(sx.smoothgrad(t("gradient"), num_samples=2), key=None)
)
case("explainers", "smoothgrad: integer seed as key", "key")(
    lambda: _call(sx.smoothgrad(t("gradient"), num_samples=2), key=0)
)

# explainers: batch wrappers
many(
    "explainers",
    "class_id",
    {
        "explain_batch: class >= K": lambda: sx.explain_batch(t("gradient"))(
            None, t("params"), t("xs"), t("bad_targets")
        ),
        "explain_batch of CAMs: class >= K": lambda: sx.explain_batch(
            sx.seg_grad_cam(t("probe"))
        )(None, t("params"), t("xs"), t("bad_targets")),
        "explain_targets: class >= K": lambda: sx.explain_targets(t("gradient"))(
            None, t("params"), t("x"), t("bad_targets")
        ),
        "explain_targets of SmoothGrad: class >= K": lambda: sx.explain_targets(
            sx.smoothgrad(t("gradient"), num_samples=2)
        )(KEY, t("params"), t("x"), t("bad_targets")),
        "explain_batch with num_classes: class >= K": lambda: sx.explain_batch(
            lambda key, params, x, target: x, num_classes=K
        )(None, t("params"), t("xs"), t("bad_targets")),
    },
)
many(
    "explainers",
    "xs",
    {
        "explain_batch: one image": lambda: sx.explain_batch(t("gradient"))(
            None, t("params"), t("x"), t("targets")
        ),
        "explain_batch: int images": lambda: sx.explain_batch(t("gradient"))(
            None, t("params"), t("xs").astype(jnp.int32), t("targets")
        ),
    },
)
many(
    "explainers",
    "targets",
    {
        "explain_batch: one target for two images": lambda: sx.explain_batch(
            t("gradient")
        )(None, t("params"), t("xs"), t("target")),
        "explain_targets: a tuple": lambda: sx.explain_targets(t("gradient"))(
            None, t("params"), t("x"), ([1], t("mask")[None])
        ),
    },
)
many(
    "explainers",
    "explain",
    {
        "explain_batch of an apply_fn": lambda: sx.explain_batch(t("apply_fn")),
        "explain_targets of a probe": lambda: sx.explain_targets(t("probe")),
    },
)
case("explainers", "explain_batch fractional K", "num_classes")(
    lambda: sx.explain_batch(t("gradient"), num_classes=2.5)
)
case("explainers", "explain_targets share_key='yes'", "share_key")(
    lambda: sx.explain_targets(t("gradient"), share_key="yes")
)
case("explainers", "validate_explainer_inputs int image", "x")(
    lambda: sx.validate_explainer_inputs(t("x").astype(jnp.int32), t("target"))
)
case("explainers", "validate_explainer_inputs fractional K", "num_classes")(
    lambda: sx.validate_explainer_inputs(t("x"), t("target"), num_classes=2.5)
)

# probes
many(
    "probes",
    "name",
    {
        "make_probe unknown layer": lambda: sx.make_probe(
            t("model"), "decoder", input_shape=(SIZE, SIZE, 3)
        ),
        "make_probe layer index": lambda: sx.make_probe(
            t("model"), 3, input_shape=(SIZE, SIZE, 3)
        ),
        "Probe with an int name": lambda: sx.Probe(3, lambda p, x, e: (x, x)),
    },
)
case("probes", "make_probe of an apply_fn", "model")(
    lambda: sx.make_probe(t("apply_fn"), "bottleneck", input_shape=(SIZE, SIZE, 3))
)
case("probes", "make_probe fractional input shape", "input_shape")(
    lambda: sx.make_probe(t("model"), "bottleneck", input_shape=(16.5, 16, 3))
)
case("probes", "Probe without a forward", "forward")(lambda: sx.Probe("layer", None))
case("probes", "probe forward with another model's params", "params")(
    lambda: t("probe").activations(t("other_params"), t("x"))
)


# ----------------------------------------------------------------------------
# metrics


def _curve():
    return metrics.deletion_curve(t("apply_fn"), num_steps=2)


def _saliency():
    return jnp.asarray(np.random.default_rng(3).random((SIZE, SIZE)), jnp.float32)


many(
    "metrics",
    "predictions",
    {
        "confusion prediction >= K": lambda: metrics.confusion_matrix(
            np.array([0, 5]), np.array([0, 1]), K
        ),
        "confusion float predictions": lambda: metrics.confusion_matrix(
            np.array([0.0, 1.5]), np.array([0, 1]), K
        ),
        "confusion negative prediction": lambda: metrics.confusion_matrix(
            np.array([-1, 1]), np.array([0, 1]), K
        ),
    },
)
many(
    "metrics",
    "labels",
    {
        "confusion float labels": lambda: metrics.confusion_matrix(
            np.array([0, 1]), np.array([0.0, 1.0]), K
        ),
        "confusion shapes differ": lambda: metrics.confusion_matrix(
            np.array([0, 1]), np.array([0, 1, 1]), K
        ),
        "confusion label >= K": lambda: metrics.confusion_matrix(
            np.array([0, 1]), np.array([0, 9]), K
        ),
    },
)
case("metrics", "confusion fractional K", "num_classes")(
    lambda: metrics.confusion_matrix(np.array([0]), np.array([0]), 2.5)
)
many(
    "metrics",
    "confusion",
    {
        "scores of a negative matrix": lambda: metrics.segmentation_scores(
            -np.ones((2, 2))
        ),
        "scores of a non-square matrix": lambda: metrics.segmentation_scores(
            np.ones((2, 3))
        ),
        "scores of a NaN matrix": lambda: metrics.segmentation_scores(
            np.full((2, 2), NAN)
        ),
    },
)
many(
    "metrics",
    "saliency",
    {
        "deletion NaN saliency": lambda: _curve()(
            KEY, t("params"), t("x"), _saliency().at[0, 0].set(NAN), t("target")
        ),
        "deletion saliency of the wrong size": lambda: _curve()(
            KEY, t("params"), t("x"), _saliency()[:8], t("target")
        ),
        "sparseness of a batch": lambda: metrics.sparseness(_saliency()[None]),
        "relevance_mass NaN saliency": lambda: metrics.relevance_mass(
            _saliency().at[1, 1].set(NAN), t("mask")
        ),
        "pointing_game of a list": lambda: metrics.pointing_game([[1.0]], t("mask")),
    },
)
many(
    "metrics",
    "class_id",
    {
        "deletion: class >= K": lambda: _curve()(
            KEY, t("params"), t("x"), _saliency(), t("bad_target")
        ),
        "batched_curves: class >= K": lambda: metrics.batched_curves(_curve())(
            KEY,
            t("params"),
            t("xs"),
            jnp.stack([_saliency(), _saliency()]),
            t("bad_targets"),
        ),
        "max_sensitivity: class >= K": lambda: metrics.max_sensitivity(
            t("gradient"), KEY, t("params"), t("x"), t("bad_target"), num_samples=2
        ),
        "avg_sensitivity of CAMs: class >= K": lambda: metrics.avg_sensitivity(
            sx.seg_grad_cam(t("probe")),
            KEY,
            t("params"),
            t("x"),
            t("bad_target"),
            num_samples=2,
        ),
        "parameter_randomisation: class >= K": lambda: metrics.parameter_randomisation(
            sx.seg_grad_cam(t("probe")),
            metrics.pearson,
            KEY,
            t("params"),
            t("x"),
            t("bad_target"),
            layer_names_top_down=["head"],
        ),
    },
)
case("metrics", "batched_curves fractional K", "num_classes")(
    lambda: metrics.batched_curves(_curve(), num_classes=1.5)
)
case("metrics", "batched_curves of an apply_fn", "curve")(
    lambda: metrics.batched_curves(t("apply_fn"))
)
case("metrics", "auc of one point", "curve")(lambda: metrics.auc(jnp.ones(1)))
case("metrics", "relative_curve middle", "reference")(
    lambda: metrics.relative_curve(jnp.ones(3), reference="middle")
)
many(
    "metrics",
    "radius",
    {
        "sensitivity NaN radius": lambda: metrics.max_sensitivity(
            t("gradient"), KEY, t("params"), t("x"), t("target"), radius=NAN
        ),
        "sensitivity negative radius": lambda: metrics.sensitivities(
            t("gradient"), KEY, t("params"), t("x"), t("target"), radius=-1.0
        ),
    },
)
case("metrics", "sensitivity 2.5 samples", "num_samples")(
    lambda: metrics.max_sensitivity(
        t("gradient"), KEY, t("params"), t("x"), t("target"), num_samples=2.5
    )
)
case("metrics", "sensitivity inverted clip range", "clip_range")(
    lambda: metrics.max_sensitivity(
        t("gradient"), KEY, t("params"), t("x"), t("target"), clip_range=(1.0, 0.0)
    )
)
case("metrics", "sensitivity of an apply_fn", "explain")(
    lambda: metrics.max_sensitivity(
        t("apply_fn"), KEY, t("params"), t("x"), t("target")
    )
)
case("metrics", "sensitivity with a seed as key", "key")(
    lambda: metrics.max_sensitivity(t("gradient"), 0, t("params"), t("x"), t("target"))
)
case("metrics", "randomisation mode", "mode")(
    lambda: metrics.parameter_randomisation(
        t("gradient"),
        metrics.pearson,
        KEY,
        t("params"),
        t("x"),
        t("target"),
        layer_names_top_down=["head"],
        mode="all",
    )
)
case("metrics", "randomisation unknown layer", "layer_names_top_down")(
    lambda: metrics.randomise_params(KEY, t("params"), ["decoder"])
)
case("metrics", "randomisation params not a dict", "params")(
    lambda: metrics.randomise_params(KEY, jnp.ones(3), ["head"])
)
case("metrics", "randomisation similarity of one argument", "similarity")(
    lambda: metrics.parameter_randomisation(
        t("gradient"),
        lambda a: a.mean(),
        KEY,
        t("params"),
        t("x"),
        t("target"),
        layer_names_top_down=["head"],
    )
)
many(
    "metrics",
    "tolerance",
    {
        "pointing tolerance 1.5": lambda: metrics.pointing_game(
            _saliency(), t("mask"), tolerance=1.5
        ),
        "pointing tolerance -1": lambda: metrics.pointing_game(
            _saliency(), t("mask"), tolerance=-1
        ),
    },
)
case("metrics", "pointing empty mask", "mask")(
    lambda: metrics.pointing_game(_saliency(), jnp.zeros((SIZE, SIZE)))
)
case("metrics", "pointing ties", "ties")(
    lambda: metrics.pointing_game(_saliency(), t("mask"), ties="random")
)
many(
    "metrics",
    "k_fraction",
    {
        "top-k fraction 0": lambda: metrics.top_k_iou(_saliency(), _saliency(), 0.0),
        "top-k fraction NaN": lambda: metrics.top_k_iou(_saliency(), _saliency(), NAN),
        "top-k with mask fraction 2": lambda: metrics.top_k_iou_with_mask(
            _saliency(), t("mask"), k_fraction=2
        ),
    },
)
case("metrics", "top-k maps of different sizes", "b")(
    lambda: metrics.top_k_iou(_saliency(), _saliency()[:8], 0.1)
)
case("metrics", "ssim data range 0", "data_range")(
    lambda: metrics.ssim(_saliency(), _saliency(), data_range=0)
)
case("metrics", "ssim window box", "window")(
    lambda: metrics.ssim(_saliency(), _saliency(), window="box")
)
case("metrics", "inverse euclidean normalisation", "normalization")(
    lambda: metrics.inverse_euclidean(_saliency(), _saliency(), normalization="z")
)
case("metrics", "unet groups granularity", "granularity")(
    lambda: metrics.unet_layer_groups(t("config"), granularity="block")
)
case("metrics", "measure_cost repeats 0", "repeats")(
    lambda: metrics.measure_cost(jnp.sin, jnp.ones(2), repeats=0)
)
case("metrics", "pass_counts unknown method", "method")(
    lambda: metrics.pass_counts("lime")
)


# ----------------------------------------------------------------------------
# models

many(
    "models",
    "widths",
    {
        "UNet fractional width": lambda: models.UNetConfig(widths=(4.5, 8)),
        "UNet one width": lambda: models.UNetConfig(widths=(4,)),
        "UNet width 0": lambda: models.UNetConfig(widths=(0, 8)),
        "UNet widths as a string": lambda: models.UNetConfig(widths="48"),
    },
)
many(
    "models",
    "num_classes",
    {
        "UNet 2.5 classes": lambda: models.UNetConfig(num_classes=2.5),
        "UNet 1 class": lambda: models.UNetConfig(num_classes=1),
        "UNet True classes": lambda: models.UNetConfig(num_classes=True),
    },
)
many(
    "models",
    "in_channels",
    {
        "UNet 0 input channels": lambda: models.UNetConfig(in_channels=0),
        "UNet 1.5 input channels": lambda: models.UNetConfig(in_channels=1.5),
    },
)
many(
    "models",
    "group_size",
    {
        "UNet group size 0": lambda: models.UNetConfig(norm="group", group_size=0),
        "UNet group size 2.5": lambda: models.UNetConfig(norm="group", group_size=2.5),
    },
)
many(
    "models",
    "kernel_size",
    {
        "UNet kernel 2": lambda: models.UNetConfig(kernel_size=2),
        "UNet kernel 3.0": lambda: models.UNetConfig(kernel_size=3.0),
    },
)
case("models", "UNet 0 blocks", "blocks_per_stage")(
    lambda: models.UNetConfig(blocks_per_stage=0)
)
case("models", "UNet gelu", "activation")(lambda: models.UNetConfig(activation="gelu"))
case("models", "UNet NaN softplus beta", "softplus_beta")(
    lambda: models.UNetConfig(softplus_beta=NAN)
)
case("models", "UNet batch norm", "norm")(lambda: models.UNetConfig(norm="batch"))
case("models", "UNet input norm", "input_norm")(
    lambda: models.UNetConfig(input_norm="global")
)
case("models", "UNet bottleneck_head=1", "bottleneck_head")(
    lambda: models.UNetConfig(bottleneck_head=1)
)
many(
    "models",
    "image_size",
    {
        "init_unet image 15 px": lambda: models.init_unet(
            KEY, t("config"), image_size=15
        ),
        "init_unet image 16.5 px": lambda: models.init_unet(
            KEY, t("config"), image_size=16.5
        ),
    },
)
case("models", "apply_fn on a batch", "x")(lambda: t("apply_fn")(t("params"), t("xs")))
case("models", "apply_fn with another model's params", "params")(
    lambda: t("apply_fn")(t("other_params"), t("x"))
)
case("models", "apply_fn negative softplus beta", "softplus_beta")(
    lambda: models.unet_apply_fn(t("model"), softplus_beta=-1.0)
)
case("models", "unet_apply_fn of a config", "model")(
    lambda: models.unet_apply_fn(t("config"))
)
case("models", "count_flops height 2.5", "height")(
    lambda: models.count_flops(t("config"), height=2.5)
)


# ----------------------------------------------------------------------------
# training


def _train(**overrides):
    kwargs = dict(
        config=training.TrainConfig(epochs=1, batch_size=2, eval_batch_size=2),
        num_classes=K,
        workdir=overrides.pop("workdir"),
        progress=False,
    )
    kwargs.update(overrides)
    train_data = kwargs.pop("train_data", arrays())
    return training.train(t("model"), train_data, arrays(seed=1), **kwargs)


many(
    "training",
    "epochs",
    {
        "TrainConfig 1.5 epochs": lambda: training.TrainConfig(epochs=1.5),
        "TrainConfig 0 epochs": lambda: training.TrainConfig(epochs=0),
    },
)
case("training", "TrainConfig batch 0", "batch_size")(
    lambda: training.TrainConfig(batch_size=0)
)
many(
    "training",
    "learning_rate",
    {
        "TrainConfig NaN learning rate": lambda: training.TrainConfig(
            learning_rate=NAN
        ),
        "TrainConfig learning rate 0": lambda: training.TrainConfig(learning_rate=0),
    },
)
many(
    "training",
    "weight_decay",
    {
        "TrainConfig NaN weight decay": lambda: training.TrainConfig(weight_decay=NAN),
        "TrainConfig negative weight decay": lambda: training.TrainConfig(
            weight_decay=-1e-4
        ),
    },
)
case("training", "TrainConfig warmup 1.5", "warmup_steps")(
    lambda: training.TrainConfig(warmup_steps=1.5)
)
case("training", "TrainConfig focal loss", "loss")(
    lambda: training.TrainConfig(loss="focal")
)
case("training", "TrainConfig seed 1.5", "seed")(lambda: training.TrainConfig(seed=1.5))
case("training", "CheckpointStore keeps 0", "max_to_keep")(
    lambda: training.CheckpointStore("/tmp/segxai-bad-inputs-store", max_to_keep=0)
)
case("training", "make_eval_step fractional K", "num_classes")(
    lambda: training.make_eval_step(t("model"), 2.5)
)


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


WORKDIR_CASES: list[Case] = []


def workdir_case(category, name, argument):
    def register(call):
        WORKDIR_CASES.append(Case(category, name, call, argument))
        return call

    return register


workdir_case("training", "train: num_classes below the model's K", "num_classes")(
    lambda w: _train(workdir=w, num_classes=2)
)
workdir_case("training", "train: labels >= K", "mask")(
    lambda w: _train(workdir=w, train_data=arrays(labels_max=5))
)
workdir_case("training", "train: stop after 1.5 epochs", "stop_after_epochs")(
    lambda w: _train(workdir=w, stop_after_epochs=1.5)
)
workdir_case("training", "train: a TrainConfig dict", "config")(
    lambda w: _train(workdir=w, config={"epochs": 1})
)
case("training", "evaluate: labels >= K", "mask")(
    lambda: training.evaluate(
        t("model"), t("params"), arrays(labels_max=5), num_classes=K
    )
)
case("training", "evaluate: num_classes above the model's K", "num_classes")(
    lambda: training.evaluate(t("model"), t("params"), arrays(), num_classes=K + 1)
)
case("training", "evaluate: batch 0", "batch_size")(
    lambda: training.evaluate(
        t("model"), t("params"), arrays(), num_classes=K, batch_size=0
    )
)


# ----------------------------------------------------------------------------
# data

many(
    "data",
    "batch_size",
    {
        "batches of 1.5": lambda: next(data.batches(arrays(), batch_size=1.5, seed=0)),
        "batches larger than the data": lambda: next(
            data.batches(arrays(), batch_size=9, seed=0)
        ),
    },
)
case("data", "batches negative seed", "seed")(
    lambda: next(data.batches(arrays(), batch_size=2, seed=-1))
)
case("data", "batches without masks", "source")(
    lambda: next(data.batches({"image": arrays()["image"]}, batch_size=2, seed=0))
)
many(
    "data",
    "images",
    {
        "validate_images of ints": lambda: data.validate_images(
            np.zeros((2, 4, 4, 3), np.int32)
        ),
        "validate_images above 1": lambda: data.validate_images(
            np.full((2, 4, 4, 3), 2.0, np.float32)
        ),
        "validate_images one channel": lambda: data.validate_images(
            np.zeros((2, 4, 4, 1), np.float32)
        ),
    },
)
many(
    "data",
    "masks",
    {
        "validate_masks of floats": lambda: data.validate_masks(
            np.zeros((2, 4, 4), np.float32)
        ),
        "validate_masks label >= K": lambda: data.validate_masks(
            np.full((2, 4, 4), 20), num_classes=11
        ),
        "validate_masks negative label": lambda: data.validate_masks(
            np.full((2, 4, 4), -1)
        ),
    },
)
case("data", "unknown builder config", "config")(lambda: data.get_config("enormous"))
case("data", "unknown dataset", "name")(lambda: data.dataset_spec("mnist"))
many(
    "data",
    "size",
    {
        "resize to 8.5 px": lambda: data.resize_bilinear(
            np.zeros((4, 4, 3), np.float32), (8.5, 8)
        ),
        "resize nearest to 0 px": lambda: data.resize_nearest(
            np.zeros((4, 4), np.int32), (0, 8)
        ),
    },
)
case("data", "generate_example unknown split", "split")(
    lambda: data.generate_example("tiny", "holdout", 0)
)
case("data", "generate_example index 1.5", "index")(
    lambda: data.generate_example("tiny", "train", 1.5)
)
case("data", "TextureDigitsConfig image 63 px", "image_size")(
    lambda: data.TextureDigitsConfig(name="x", image_size=63.5)
)
case("data", "TextureDigitsConfig context bias 2", "context_bias")(
    lambda: data.TextureDigitsConfig(name="x", context_bias=2.0)
)
case("data", "trimap border", "border")(
    lambda: data.trimap_to_mask(np.ones((2, 2), np.uint8), border="edge")
)


# ----------------------------------------------------------------------------
# attacks

case("attacks", "AttackConfig 2.5 steps", "num_steps")(
    lambda: attacks.AttackConfig(num_steps=2.5)
)
case("attacks", "AttackConfig NaN learning rate", "learning_rate")(
    lambda: attacks.AttackConfig(learning_rate=NAN)
)
case("attacks", "AttackConfig negative input gamma", "gamma_input")(
    lambda: attacks.AttackConfig(gamma_input=-1.0)
)
case("attacks", "AttackConfig all gammas zero", "gamma")(
    lambda: attacks.AttackConfig(gamma_explanation=0.0, gamma_output=0.0)
)
case("attacks", "AttackConfig NaN budget", "linf_budget")(
    lambda: attacks.AttackConfig(linf_budget=NAN)
)
case("attacks", "AttackConfig inverted schedule", "softplus_schedule")(
    lambda: attacks.AttackConfig(softplus_schedule=(100.0, -1.0))
)
case("attacks", "AttackConfig random_start=1", "random_start")(
    lambda: attacks.AttackConfig(random_start=1)
)
case("attacks", "square pattern size 0", "size")(
    lambda: attacks.square_pattern((8, 8), size=0)
)
case("attacks", "square pattern corner", "corner")(
    lambda: attacks.square_pattern((8, 8), size=2, corner="middle")
)
case("attacks", "shift by half a pixel", "offset")(
    lambda: attacks.shift_map(jnp.ones((8, 8)), (0.5, 1))
)
case("attacks", "other_image_maps of one image", "maps")(
    lambda: attacks.other_image_maps(jnp.ones((1, 8, 8)))
)
case("attacks", "project NaN budget", "linf_budget")(
    lambda: attacks.project(t("x"), t("x"), NAN)
)
case("attacks", "schedule 0 steps", "num_steps")(
    lambda: attacks.softplus_beta_schedule(0, num_steps=0, beta_start=1, beta_end=2)
)
case("attacks", "explanation_attack config dict", "config")(
    lambda: attacks.explanation_attack(
        attacks.unet_apply_at(t("model")), lambda *a: None, config={"num_steps": 1}
    )
)
case("attacks", "unet_apply_at of a config", "model")(
    lambda: attacks.unet_apply_at(t("config"))
)


# ----------------------------------------------------------------------------
# nas


def _space(**kw):
    return nas.SearchSpace(num_classes=K, **kw)


case("nas", "space 2.5 classes", "num_classes")(
    lambda: nas.SearchSpace(num_classes=2.5)
)
case("nas", "space depth 0", "depths")(lambda: _space(depths=(0,)))
case("nas", "space fractional width", "widths")(
    lambda: _space(widths=((4.5, 8), (8, 16), (16, 32), (32, 64)))
)
case("nas", "space even kernel", "kernels")(lambda: _space(kernels=(2, 3)))
case("nas", "space 0 blocks", "blocks")(lambda: _space(blocks=(0, 1)))
case("nas", "budget NaN FLOPs", "max_flops")(lambda: nas.Budget(max_flops=NAN))
case("nas", "budget 2.5 params", "max_params")(lambda: nas.Budget(max_params=2.5))
case("nas", "budget below the smallest architecture", "max_params")(
    lambda: nas.budget_limits(_space(), nas.Budget(max_params=10))
)
case("nas", "relation proxy one image", "images")(
    lambda: nas.make_relation_proxy(
        _space(), images=jnp.zeros((1, 16, 16, 3)), teacher_features=jnp.zeros((1, 4))
    )
)
case("nas", "relation proxy rows differ", "teacher_features")(
    lambda: nas.make_relation_proxy(
        _space(), images=jnp.zeros((2, 16, 16, 3)), teacher_features=jnp.zeros((3, 4))
    )
)
case("nas", "relation proxy space is a dict", "space")(
    lambda: nas.make_relation_proxy(
        {"num_classes": K},
        images=jnp.zeros((2, 16, 16, 3)),
        teacher_features=jnp.zeros((2, 4)),
    )
)
case("nas", "strategy population 2.5", "population_size")(
    lambda: nas.EvolutionarySearch(
        _space(), nas.Budget(), population_size=2.5, archive_size=8
    )
)
case("nas", "strategy sampling", "sampling")(
    lambda: nas.EvolutionarySearch(
        _space(), nas.Budget(), population_size=4, archive_size=8, sampling="grid"
    )
)
case("nas", "hyperparams NaN crossover", "crossover_rate")(
    lambda: nas.EvolutionHyperparams(crossover_rate=NAN)
)
case("nas", "genome outside the space", "genome")(
    lambda: nas.genome_masks(_space(), jnp.full((_gene_count(),), 99, jnp.int32))
)
case("nas", "materialise genome outside the space", "genome")(
    lambda: nas.materialise(
        _space(),
        nas.init_supernet(KEY, _space()),
        np.full((_gene_count(),), 99, np.int32),
    )
)
case("nas", "supernet probe unknown point", "name")(
    lambda: nas.supernet_probe(_space(), "decoder")
)
case("nas", "run_search 1.5 generations", "generations")(
    lambda: nas.run_search(
        nas.EvolutionarySearch(
            _space(), nas.Budget(), population_size=4, archive_size=8
        ),
        lambda g: np.zeros(len(g)),
        seed=0,
        generations=1.5,
        progress=False,
    )
)
case("nas", "run_search negative seed", "seed")(
    lambda: nas.run_search(
        nas.EvolutionarySearch(
            _space(), nas.Budget(), population_size=4, archive_size=8
        ),
        lambda g: np.zeros(len(g)),
        seed=-1,
        generations=1,
        progress=False,
    )
)
case("nas", "zen proxy batch 0", "batch_size")(
    lambda: nas.make_zen_proxy(_space(), KEY, image_shape=(SIZE, SIZE, 3), batch_size=0)
)
case("nas", "warmup loss", "loss")(lambda: nas.make_warmup(_space(), loss="focal"))


def _gene_count():
    return int(
        np.asarray(
            nas.EvolutionarySearch(
                _space(), nas.Budget(), population_size=4, archive_size=8
            )
            .init(KEY, nas.EvolutionHyperparams())
            .best_genome
        ).shape[0]
    )


# ----------------------------------------------------------------------------
# continual

case("continual", "ContinualConfig 1.5 epochs", "epochs_per_task")(
    lambda: continual.ContinualConfig(epochs_per_task=1.5)
)
case("continual", "ContinualConfig NaN weight decay", "weight_decay")(
    lambda: continual.ContinualConfig(weight_decay=NAN)
)
case("continual", "ContinualConfig policy", "policy")(
    lambda: continual.ContinualConfig(policy="fifo-ish")
)
case("continual", "ContinualConfig seed -1", "seed")(
    lambda: continual.ContinualConfig(seed=-1)
)
many(
    "continual",
    "capacity",
    {
        "memory capacity 2.5": lambda: continual.replay_memory(capacity=2.5),
        "memory capacity 0": lambda: continual.replay_memory(capacity=0),
    },
)
case("continual", "memory sample size 0", "sample_size")(
    lambda: continual.replay_memory(capacity=4, sample_size=0)
)
case("continual", "memory policy", "policy")(
    lambda: continual.replay_memory(capacity=4, policy="lifo")
)
case("continual", "compressor kind", "kind")(
    lambda: continual.make_compressor("jpeg", image_shape=(SIZE, SIZE))
)
case("continual", "compressor patch 2.5", "patch_size")(
    lambda: continual.make_compressor("patch", image_shape=(SIZE, SIZE), patch_size=2.5)
)
case("continual", "compressor box larger than the image", "box_size")(
    lambda: continual.make_compressor("box", image_shape=(SIZE, SIZE), box_size=64)
)
case("continual", "compressor factor 0", "factor")(
    lambda: continual.make_compressor(
        "box", image_shape=(SIZE, SIZE), box_size=8, factor=0
    )
)
case("continual", "compressor downsample size 2.5", "size")(
    lambda: continual.make_compressor(
        "downsample", image_shape=(SIZE, SIZE), size=(2.5, 4)
    )
)
case("continual", "compressor image shape with channels", "image_shape")(
    lambda: continual.make_compressor("full", image_shape=(SIZE, SIZE, 3))
)
case("continual", "budget below one exemplar", "budget_bytes")(
    lambda: continual.capacity_for_budget(
        10, continual.make_compressor("full", image_shape=(SIZE, SIZE)).example
    )
)
case("continual", "budget 2.5 bytes", "budget_bytes")(
    lambda: continual.capacity_for_budget(
        2.5, continual.make_compressor("full", image_shape=(SIZE, SIZE)).example
    )
)
case("continual", "tasks with a class >= K", "tasks")(
    lambda: continual.check_tasks([[1, 2], [5]], K)
)
case("continual", "tasks sharing a class", "tasks")(
    lambda: continual.check_tasks([[1, 2], [2]], K)
)
case("continual", "split 0 classes per task", "classes_per_task")(
    lambda: continual.split_classes(11, classes_per_task=0)
)
case("continual", "salient window 2.5", "window")(
    lambda: continual.salient_corner(jnp.ones((8, 8)), 2.5)
)
case("continual", "saliency of an apply_fn", "explain")(
    lambda: continual.saliency_fn(t("apply_fn"), num_classes=K)
)
case("continual", "task data labelling", "labelling")(
    lambda: continual.task_data(arrays(), [[1], [2]], 0, num_classes=K, labelling="all")
)
case("continual", "downsample bytes 0", "target_bytes")(
    lambda: continual.downsample_size_for_bytes(0, (SIZE, SIZE))
)


# ----------------------------------------------------------------------------


def _check(category, call, argument):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    message = str(info.value)
    assert argument in message, (
        f"[{category}] the error does not name {argument!r}: "
        f"{type(info.value).__name__}: {message}"
    )


@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
def test_refused_naming_the_argument(bad):
    _check(bad.category, bad.call, bad.argument)


@pytest.mark.parametrize("bad", WORKDIR_CASES, ids=[c.name for c in WORKDIR_CASES])
def test_training_refuses_before_writing(bad, tmp_path):
    _check(bad.category, lambda: bad.call(tmp_path / "run"), bad.argument)
    assert not (tmp_path / "run" / "checkpoints").exists() or not any(
        (tmp_path / "run" / "checkpoints").iterdir()
    )


def test_case_count():
    every = CASES + WORKDIR_CASES
    names = [c.name for c in every]
    assert len(set(names)) == len(names), "case names must be unique"
    categories = {c.category for c in every}
    assert {
        "targets",
        "explainers",
        "metrics",
        "models",
        "training",
        "data",
        "attacks",
        "nas",
        "continual",
    } <= categories
    assert len(every) >= 150, len(every)


def test_invalid_targets_under_jit_give_nan_not_zero():
    """Under jit the values are unknown: every map is NaN, never a zero map."""
    bad = [
        t("bad_target"),
        sx.make_target(1, jnp.zeros((SIZE, SIZE))),
        sx.make_target(1, jnp.full((SIZE, SIZE), NAN)),
    ]
    for name, make in EXPLAINERS.items():
        explain = jax.jit(make())
        for target in bad:
            out = np.asarray(explain(KEY, t("params"), t("x"), target))
            assert np.all(np.isnan(out)), (name, target)
        good = np.asarray(explain(KEY, t("params"), t("x"), t("target")))
        assert np.all(np.isfinite(good)), name
    curve = jax.jit(_curve())
    for target in bad:
        assert np.all(np.isnan(curve(KEY, t("params"), t("x"), _saliency(), target)))
