"""What the benchmark measures for one teacher: per-image values of every metric.

:func:`measure_teacher` returns, per method, ``[B]`` arrays (one value per
explained image) of every metric, the mean curves per substrate and the cost.
Work is batched as in ``rank_methods``: one jitted call per method for the
maps, one per (substrate, curve kind) for all methods' curves, one for all map
metrics.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from experiments.rank_methods import measure as rank_measure
from experiments.rank_methods.methods import select_methods
from experiments.shared.targets import largest_digit_targets
from segxai_jax import explainers
from segxai_jax.metrics import (
    auc,
    batched_curves,
    class_mass,
    deletion_curve,
    entropy,
    insertion_curve,
    off_target_leakage,
    randomise_params,
    relative_curve,
    relevance_mass,
    sparseness,
    top_k_iou_with_mask,
    unet_layer_groups,
)
from segxai_jax.models import unet_apply_fn

CURVE_KINDS = ("deletion", "insertion")
MAP_METRICS = ("relevance_mass", "top_k_iou", "leakage", "other_class_mass")
COMPLEXITY = ("sparseness", "entropy")
# The metrics the sanity check re-scores under a minor and a disruptive change.
SANITY_METRICS = ("deletion", "relevance_mass", "leakage", "sparseness")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What every teacher is measured with (the config's fields of these names).

    Attributes:
      methods: the benchmarked methods (the random baseline is added).
      substrates: the deletion / insertion substrates.
      faithfulness: the curves' ``num_steps``, ``score`` and chunk sizes.
      sanity: the sanity check's ``noise_radius`` and ``substrate``.
      timing_repeats: timed calls per method.
    """

    methods: tuple[str, ...]
    substrates: tuple[str, ...]
    faithfulness: Any
    sanity: Any
    timing_repeats: int


def explained_images(model, params, split, settings, num_classes):
    """The first ``num_images`` test images with a foreground target.

    An image is explained for its largest predicted foreground class, with
    that class's predicted region as ROI (the ground truth's when the model
    predicts no foreground); images without any foreground (nuclei tiles
    without a nucleus) have no target and are skipped.

    Returns:
      ``(indices [B], images, truth [B, H, W] int32, targets)``.
    """
    count = settings.num_images
    images = np.asarray(split["image"])
    truth = np.asarray(split["mask"]).astype(np.int32)
    predicted = np.asarray(model.apply({"params": params}, images).argmax(-1))
    has_target = ((predicted > 0) | (truth > 0)).any(axis=(1, 2))
    indices = np.flatnonzero(has_target)[:count]
    if len(indices) < count:
        raise ValueError(
            f"config.settings.*.num_images: expected at most the {len(indices)} "
            f"test images with a foreground target, got {count}"
        )
    targets = largest_digit_targets(predicted[indices], truth[indices], num_classes)
    return indices, images[indices], truth[indices], targets


def _maps_of(methods, key, params, images, targets) -> dict[str, np.ndarray]:
    """Maps ``[B, H, W]`` of every method (jitted batched calls, untimed)."""
    maps = {}
    for name, method in methods.items():
        batched = jax.jit(explainers.explain_batch(method.explain))
        maps[name] = np.asarray(batched(key, params, images, targets), np.float32)
    return maps


def _curves(apply_fn, key, params, images, maps, targets, substrate, opts, mean):
    """Deletion / insertion AUCs ``[M, B]`` and curves ``[M, B, n + 1]``.

    With ``score="target"`` (summed logits) the curves are divided by the
    clean score (relative AUC; NaN where it is <= 0); bounded scores
    (``"mean_probability"``, ``"iou"``, ``"dice"``) are used as they are.
    """
    options = opts.faithfulness
    fill_options = {"mean": mean} if substrate == "dataset_mean" else None
    names = list(maps)
    saliencies = jnp.asarray(np.stack([maps[n] for n in names]))  # [M, B, H, W]
    out = {}
    for kind in CURVE_KINDS:
        make = deletion_curve if kind == "deletion" else insertion_curve
        curve = make(
            apply_fn,
            num_steps=options.num_steps,
            fill=substrate,
            fill_options=fill_options,
            score=options.score,
            chunk_size=options.step_chunk_size,
        )
        batched = jax.jit(batched_curves(curve, chunk_size=options.pair_chunk_size))
        scores = np.asarray(batched(key, params, images, saliencies, targets))
        if options.score == "target":
            clean = scores[..., 0] if kind == "deletion" else scores[..., -1]
            relative = np.full_like(scores, np.nan)
            valid = clean > 0  # a ratio to a non-positive clean score means nothing
            if valid.any():
                reference = "start" if kind == "deletion" else "end"
                relative[valid] = np.asarray(
                    relative_curve(scores[valid], reference=reference)
                )
            scores = relative
        aucs = np.asarray(auc(scores))
        for m, name in enumerate(names):
            out.setdefault(name, {})[kind] = aucs[m]
            out[name][f"{kind}_curve"] = scores[m]
    return out


@jax.jit
def _map_scores(saliencies, rois, truth, class_ids, num_classes_one_hot):
    """Localisation, leakage and complexity of maps ``[M, B, H, W]``."""
    num_classes = num_classes_one_hot.shape[0]

    def one(saliency, roi, labels, class_id):
        truth_mask = labels == class_id
        shares = class_mass(saliency, labels, num_classes)
        others = jnp.sum(shares) - shares[0] - shares[class_id]
        return {
            "relevance_mass": relevance_mass(saliency, truth_mask),
            "top_k_iou": top_k_iou_with_mask(saliency, truth_mask),
            "leakage": off_target_leakage(saliency, roi),
            "other_class_mass": others,
            "sparseness": sparseness(saliency),
            "entropy": entropy(saliency),
        }

    per_image = jax.vmap(one)
    return jax.vmap(per_image, in_axes=(0, None, None, None))(
        saliencies, rois, truth, class_ids
    )


def map_scores(maps, targets, truth, num_classes) -> dict[str, dict[str, np.ndarray]]:
    """Metric -> method -> ``[B]``; NaN where the metric is undefined.

    Localisation is undefined where the ground truth lacks the target class;
    leakage onto other classes where the image has no other foreground class
    (always, for a binary dataset).
    """
    names = list(maps)
    saliencies = jnp.asarray(np.stack([maps[n] for n in names]))
    class_ids = np.asarray(targets.class_id)
    scores = _map_scores(
        saliencies,
        jnp.asarray(targets.mask) > 0,
        jnp.asarray(truth),
        jnp.asarray(class_ids),
        jnp.zeros(num_classes),
    )
    present = (truth == class_ids[:, None, None]).any(axis=(1, 2))
    other = np.array(
        [
            bool(np.setdiff1d(np.unique(t), [0, c]).size)
            for t, c in zip(truth, class_ids, strict=True)
        ]
    )
    out = {}
    for metric, values in scores.items():
        values = np.asarray(values, np.float64)
        if metric in ("relevance_mass", "top_k_iou"):
            values = np.where(present[None], values, np.nan)
        if metric == "other_class_mass":
            values = np.where(other[None], values, np.nan)
        out[metric] = {name: values[m] for m, name in enumerate(names)}
    return out


def _timed_maps(methods, key, params, images, targets, opts):
    """Maps and the cost of each method (``rank_methods``' timed calls)."""
    explain = types.SimpleNamespace(
        batch_chunk_size=0, timing_repeats=opts.timing_repeats
    )
    maps, costs, _ = rank_measure.explain_methods(
        methods, (params, images, targets), [key], explain
    )
    return {name: stacked[0] for name, stacked in maps.items()}, costs


def measure_teacher(model, params, data, settings, opts: Plan, key) -> dict:
    """Every metric of every method on one teacher's explained images.

    Args:
      model: the teacher U-Net.
      params: its parameters.
      data: ``load_data`` output with ``"test"``, ``"validation"`` and
        ``"spec"``.
      settings: the dataset's ``config.settings.<name>`` section.
      opts: what every teacher is measured with.
      key: the evaluation key of this teacher.

    Returns:
      ``{"values": metric -> method -> [B], "curves": substrate -> kind ->
      method -> [n + 1] (mean curve), "costs": method -> dict,
      "targets": {...}}``.
    """
    spec = data["spec"]
    indices, images, truth, targets = explained_images(
        model, params, data["test"], settings, spec.num_classes
    )
    methods = select_methods(
        model,
        spec.image_size,
        methods=opts.methods,
        map_postprocess="none",
        explain=settings.explain,
    )
    apply_fn = unet_apply_fn(model)
    mean = np.asarray(data["validation"]["image"].mean(axis=(0, 1, 2)))
    key_maps, key_curves, key_noise, key_random = jax.random.split(key, 4)

    maps, costs = _timed_maps(methods, key_maps, params, images, targets, opts)
    values, curves = map_scores(maps, targets, truth, spec.num_classes), {}
    for substrate in tqdm(opts.substrates, desc="substrates", unit="substrate"):
        result = _curves(
            apply_fn, key_curves, params, images, maps, targets, substrate, opts, mean
        )
        for kind in CURVE_KINDS:
            values[f"{kind}/{substrate}"] = {n: r[kind] for n, r in result.items()}
            curves.setdefault(substrate, {})[kind] = {
                n: np.nanmean(r[f"{kind}_curve"], axis=0) for n, r in result.items()
            }

    sanity = {}
    noisy = np.clip(
        images
        + np.asarray(
            jax.random.uniform(
                key_noise,
                images.shape,
                minval=-opts.sanity.noise_radius,
                maxval=opts.sanity.noise_radius,
            )
        ),
        0.0,
        1.0,
    ).astype(np.float32)
    groups = unet_layer_groups(model.config)
    randomised = randomise_params(key_random, params, groups, mode="cascading")[-1]
    for condition, (tree, xs) in {
        "minor": (params, noisy),
        "disruptive": (randomised, images),
    }.items():
        condition_maps = _maps_of(methods, key_maps, tree, xs, targets)
        scores = map_scores(condition_maps, targets, truth, spec.num_classes)
        curve = _curves(
            apply_fn,
            key_curves,
            tree,
            xs,
            condition_maps,
            targets,
            opts.sanity.substrate,
            opts,
            mean,
        )
        sanity[condition] = {
            "deletion": {n: r["deletion"] for n, r in curve.items()},
            **{m: scores[m] for m in SANITY_METRICS if m != "deletion"},
        }
    sanity["clean"] = {
        "deletion": values[f"deletion/{opts.sanity.substrate}"],
        **{m: values[m] for m in SANITY_METRICS if m != "deletion"},
    }
    return {
        "values": values,
        "curves": curves,
        "sanity": sanity,
        "costs": costs,
        "targets": {
            "test_indices": indices,
            "class_ids": np.asarray(targets.class_id),
            "roi_pixels": np.asarray(targets.mask).sum(axis=(1, 2)),
        },
    }
