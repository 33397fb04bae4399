"""Which explainer is best for segmentation, by cost AND quality.

Run through ``experiments/main.py`` with ``configs/rank_methods.py``. Stages:

1. the teacher: the quickstart's U-Net from ``config.teacher_workdir``
   (trained there with the quickstart's settings if missing and
   ``config.train_teacher``), evaluated on ``config.split``;
2. targets: the first ``num_images`` images of the split, each explained for
   its largest predicted digit with that digit's predicted region as ROI (the
   quickstart's rule, :func:`experiments.common.largest_digit_targets`);
3. maps: every method of ``config.methods`` (those of
   :mod:`experiments.methods`, SmoothGrad-Squared, VarGrad and the seeded
   random baseline, which is always included) for every seed, one jitted
   batched call per method and seed, timed with
   :func:`segxai_jax.metrics.measure_cost` (seed 0);
4. metrics per (method, image, seed): deletion (black) and insertion (blur)
   curves of the summed target logits, AUC absolute and relative to the clean
   score; pointing game, relevance mass, relevance rank and top-|M| IoU
   against the ground-truth mask of the target class; sparseness and entropy;
   avg- and max-sensitivity; cascading model-parameter randomisation (Spearman
   similarity to the original map, on the first ``randomisation.num_images``,
   the randomised models shared by all methods);
5. summaries: mean and 95 % Student-t interval over images (seeds averaged
   within an image first: see :mod:`experiments.method_ranking`), mean rank
   over the quality metrics, the Pareto front of cost vs deletion AUC;
   ``results.json``, ``report.md`` and figures.

Seeds. Seed ``s`` gives ``key_s = fold_in(key(config.seed), s)``, split by
purpose into the explainer key (SmoothGrad noise, the random baseline), the
robustness key (input perturbations) and the randomisation key (re-drawn
weights). Maps that come out bit-identical for every seed (deterministic
methods) are scored once and their faithfulness/localisation values shared
by all seeds.

Relative AUC. A curve is divided by the clean image's score, which is the
first point of a deletion curve and the last of an insertion curve
(``relative_curve(reference="start" / "end")``): the insertion curve's first
point is the blurred image's score and may be <= 0. Images whose clean
summed logit is <= 0 have no relative curve (NaN, counted in ``n``).

Post-processing. Maps are scored as the methods return them
(``map_postprocess="none"``): input-gradient maps are reduced over RGB as in
``methods.py`` (gradient and SmoothGrad: ``max |.|``, hence >= 0; gradient x
input and integrated gradients: signed sum, whose negative part is evidence
AGAINST the class), the CAMs are ReLU'd by their definition, occlusion is the
signed score drop. Deletion then removes positive evidence first and negative
evidence last, which is what a faithful signed map should do; taking
``abs`` would rank counter-evidence as relevant, and ReLU would throw away the
order of the negative pixels. Relevance mass counts positive relevance only,
sparseness/entropy read ``|s|``. ``map_postprocess`` = ``"relu"``/``"abs"``
applies the same step to every method (the random baseline included) before
every metric, robustness and randomisation included.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common
from experiments import rank_methods_metrics as stages
from experiments.method_ranking import image_mean_ci, mean_ranks, pareto_front
from experiments.methods import Method, build_methods
from experiments.rank_methods_report import report_markdown
from experiments.reporting import Timer, write_json
from segxai_jax import explainers, viz
from segxai_jax.data import dataset_spec
from segxai_jax.metrics import (
    PassCount,
    pass_counts,
    random_saliency,
    unet_layer_groups,
)
from segxai_jax.models import UNet, UNetConfig, unet_apply_fn
from segxai_jax.postprocess import reduce_channels
from segxai_jax.training import ensure_writable_dir, evaluate, write_atomic

RANDOM = "random"
SPLITS = ("train", "validation", "test")
POSTPROCESSING = ("none", "relu", "abs")

# name, higher is better, part of the mean rank.
METRICS = (
    ("deletion_auc_rel", False, True),
    ("insertion_auc_rel", True, True),
    ("deletion_auc", False, False),
    ("insertion_auc", True, False),
    ("pointing_game", True, True),
    ("relevance_mass", True, True),
    ("relevance_rank", True, True),
    ("top_k_iou", True, True),
    ("sparseness", True, True),
    ("entropy", False, False),
    ("avg_sensitivity", False, True),
    ("max_sensitivity", False, False),
    ("randomisation_top", False, False),
    ("randomisation_mean", False, True),
)
RANKED = {name: higher for name, higher, ranked in METRICS if ranked}
PAIRED_WITH_RANDOM = (
    "deletion_auc_rel",
    "insertion_auc_rel",
    "deletion_auc",
    "insertion_auc",
)


def run(config, workdir: str | Path) -> dict:
    """Runs the ranking; returns the results written to ``results.json``."""
    _check_config(config)
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()

    with timer("teacher"):
        model, params, teacher, data = _teacher(config, workdir)
    spec = data["spec"]
    split = data[config.split]
    with timer("evaluate"):
        scores = evaluate(
            model,
            params,
            split,
            num_classes=spec.num_classes,
            batch_size=config.train.eval_batch_size,
        )

    if len(split["image"]) < config.num_images:
        raise ValueError(
            f"config.num_images: expected at most the {len(split['image'])} images "
            f"of the {config.split} split, got {config.num_images}"
        )
    images = np.asarray(split["image"][: config.num_images])
    truth = np.asarray(split["mask"][: config.num_images])
    predicted = np.asarray(model.apply({"params": params}, images).argmax(-1))
    targets = common.largest_digit_targets(predicted, truth, spec.num_classes)
    class_ids = np.asarray(targets.class_id)
    truth_masks = (truth == class_ids[:, None, None]).astype(np.float32)
    methods = _methods(model, spec.image_size, config)
    seed_keys = [
        jax.random.split(jax.random.fold_in(jax.random.key(config.seed), s), 3)
        for s in range(config.num_seeds)
    ]
    keys = {
        "explain": [k[0] for k in seed_keys],
        "robustness": [k[1] for k in seed_keys],
        "randomisation": [k[2] for k in seed_keys],
    }
    inputs = (params, images, targets)

    with timer("explain"):
        maps, costs, invariant = stages.explain_methods(
            methods, inputs, keys["explain"], config
        )
    with timer("faithfulness"):
        curves = stages.faithfulness(model, inputs, maps, invariant, config)
    with timer("map_metrics"):
        values = stages.map_metrics(maps, invariant, truth_masks, config)
    values.update({k: v for k, v in curves.items() if not k.endswith("_curves")})
    with timer("robustness"):
        values.update(stages.robustness(methods, inputs, keys["robustness"], config))
    with timer("randomisation"):
        layer_groups = unet_layer_groups(
            model.config, granularity=config.randomisation.granularity
        )
        values.update(
            stages.randomisation(
                methods, inputs, keys["randomisation"], layer_groups, config
            )
        )

    summaries = {
        name: {metric: image_mean_ci(values[metric][name]) for metric, _, _ in METRICS}
        for name in methods
    }
    ranking = mean_ranks(
        {
            n: {m: s["mean"] for m, s in summary.items()}
            for n, summary in summaries.items()
        },
        RANKED,
    )
    ranked = [n for n in methods if n != RANDOM]
    # Paired by (image, seed): the difference to the random baseline on the
    # same images has a much narrower interval than the two separate ones.
    vs_random = {
        name: {
            metric: image_mean_ci(values[metric][name] - values[metric][RANDOM])
            for metric in PAIRED_WITH_RANDOM
        }
        for name in ranked
    }
    versus_best = _compare_to_best(values, summaries, ranked)
    # Relative AUC unless no image has a positive clean score (an untrained
    # smoke-test teacher), then the absolute one.
    pareto_metric = "deletion_auc_rel"
    if all(math.isnan(summaries[n][pareto_metric]["mean"]) for n in ranked):
        pareto_metric = "deletion_auc"
    front = pareto_front(
        [costs[n]["seconds_per_image"] for n in ranked],
        [summaries[n][pareto_metric]["mean"] for n in ranked],
    )
    with timer("figures"):
        figures = _figures(
            workdir,
            images,
            maps,
            curves,
            costs,
            summaries,
            ranked,
            front,
            pareto_metric,
            [f"class {spec.class_names[int(c)]}" for c in class_ids],
        )

    method_results = {
        name: {
            "description": method.description,
            "passes": dataclasses.asdict(method.passes),
            "cost": costs[name],
            "seed_invariant_maps": invariant[name],
            "summary": summaries[name],
            "rank": ranking[name],
            "minus_random": vs_random.get(name),
            "values": {metric: values[metric][name] for metric, _, _ in METRICS},
            "mean_curves": {
                kind: _nanmean(
                    curves[f"{kind}_curves"][name].reshape(-1, curves["num_points"])
                )
                for kind in ("deletion", "insertion", "deletion_rel", "insertion_rel")
            },
            "randomisation_per_layer": _nanmean(
                values["randomisation"][name].reshape(-1, len(layer_groups))
            ),
        }
        for name, method in methods.items()
    }
    results = {
        "config": config.to_dict(),
        "teacher": {**teacher, "scores": {config.split: scores}},
        "images": {
            "split": config.split,
            "indices": list(range(config.num_images)),
            "target_class_ids": class_ids,
            "roi_pixels": np.asarray(targets.mask).sum(axis=(1, 2)),
            "ground_truth_pixels": truth_masks.sum(axis=(1, 2)),
            "clean_target_scores": curves["clean_scores"],
        },
        "randomisation_layer_groups": [list(g) for g in layer_groups],
        "methods": method_results,
        "versus_best": versus_best,
        "pareto_front": [ranked[i] for i in front],
        "pareto_metric": pareto_metric,
        "metrics": [
            {"name": m, "higher_is_better": h, "in_mean_rank": r} for m, h, r in METRICS
        ],
        "seconds": timer.seconds,
        "figures": figures,
        "environment": common.environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", report_markdown(results))
    return results


def _compare_to_best(values, summaries, ranked) -> dict:
    """Per headline metric: the best method and who is not clearly worse.

    A method is "not clearly worse" when the paired 95 % interval (over
    images, seeds averaged) of its per-image difference to the best method
    contains 0.
    """
    comparison = {}
    for metric in PAIRED_WITH_RANDOM[:2]:
        means = {
            n: summaries[n][metric]["mean"]
            for n in ranked
            if not math.isnan(summaries[n][metric]["mean"])
        }
        if not means:
            continue
        best = (max if RANKED[metric] else min)(means, key=means.get)
        differences = {
            n: image_mean_ci(values[metric][n] - values[metric][best])
            for n in means
            if n != best
        }
        comparison[metric] = {
            "best": best,
            "differences_to_best": differences,
            "not_clearly_worse": [
                n
                for n, d in differences.items()
                if not math.isnan(d["half_width"]) and d["ci_low"] <= 0 <= d["ci_high"]
            ],
        }
    return comparison


def _nanmean(rows: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN rows (all-NaN columns stay NaN, silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(rows, axis=0)


def _check_config(config) -> None:
    """Cheap checks of the config before any data or model work."""
    for field in ("num_images", "num_seeds"):
        value = config[field]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"config.{field}: expected an int >= 1, got {value!r}")
    if config.data.name != "texture_digits":
        raise ValueError(
            f"config.data.name: expected 'texture_digits', got {config.data.name!r}"
        )
    if config.split not in SPLITS:
        raise ValueError(
            f"config.split: expected one of {SPLITS}, got {config.split!r}"
        )
    if config.map_postprocess not in POSTPROCESSING:
        raise ValueError(
            f"config.map_postprocess: expected one of {POSTPROCESSING}, got "
            f"{config.map_postprocess!r}"
        )
    for section in ("robustness", "randomisation"):
        count = config[section].num_images
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(
                f"config.{section}.num_images: expected an int >= 0 (the first "
                f"images; 0 = all, capped at config.num_images), got {count!r}"
            )
    if isinstance(config.methods, str) or not len(config.methods):
        raise ValueError(
            f"config.methods: expected a non-empty sequence of method names, got "
            f"{config.methods!r}"
        )
    spec = dataset_spec(config.data.name, config.data.config)
    model = UNet(UNetConfig(num_classes=spec.num_classes, **config.model.to_dict()))
    _methods(model, spec.image_size, config)  # unknown names, probe layers


def _teacher(config, workdir: Path):
    """``(model, params, info, data)``: the loaded or newly trained teacher."""
    teacher_workdir = Path(config.teacher_workdir or workdir)
    teacher_dir = common.teacher_dir_of(teacher_workdir)
    checkpoints = teacher_dir / "checkpoints"
    present = (teacher_dir / common.MODEL_FILE).exists() and (
        checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir())
    )
    trained_here = False
    if present:
        data = common.load_data(config.data, splits=(config.split,))
    elif config.train_teacher:
        data = common.load_data(config.data)
        common.train_teacher(config, teacher_workdir, data)
        trained_here = True
    else:
        raise ValueError(
            f"config.teacher_workdir: no trained teacher in {teacher_dir} (needs "
            f"{common.MODEL_FILE} and checkpoints/); run the quickstart with "
            f"--workdir={teacher_workdir}, point teacher_workdir to a quickstart "
            "work directory, or set config.train_teacher=True"
        )
    model, params = common.load_teacher(teacher_dir)
    record = common.teacher_record(teacher_dir)
    fingerprint = record.get("fingerprint", {})
    trained_on = fingerprint.get("run", {}).get("data", {})
    for key in ("name", "config"):
        if trained_on.get(key) != config.data[key]:
            raise ValueError(
                f"config.teacher_workdir: the teacher in {teacher_dir} was trained on "
                f"data {trained_on.get('name')}/{trained_on.get('config')}, but "
                f"config.data is {config.data.name}/{config.data.config}"
            )
    if model.config.num_classes != data["spec"].num_classes:
        raise ValueError(
            f"config.teacher_workdir: the teacher predicts {model.config.num_classes} "
            f"classes, the dataset has {data['spec'].num_classes}"
        )
    history = record.get("history", [])
    planned = fingerprint.get("train", {}).get("epochs")
    info = {
        "teacher_dir": str(teacher_dir),
        "trained_here": trained_here,
        "model": dataclasses.asdict(model.config),
        "train": fingerprint.get("train", {}),
        "epochs_done": len(history),
        "epochs_planned": planned,
        "last_epoch": history[-1] if history else None,
    }
    return model, params, info, data


def _with_postprocess(method: Method, kind: str) -> Method:
    if kind == "none":
        return method
    step = jax.nn.relu if kind == "relu" else jnp.abs

    def explain(key, params, x, target):
        return step(method.explain(key, params, x, target))

    return dataclasses.replace(
        method, explain=explain, description=f"{method.description}; then {kind}"
    )


def _methods(model: UNet, image_size: int, config) -> dict[str, Method]:
    """The methods named in ``config.methods`` (plus the random baseline)."""
    options = config.explain
    available = build_methods(model, image_size=image_size, options=options)
    gradient = explainers.vanilla_gradient(unet_apply_fn(model))
    n, noise = options.smoothgrad_samples, options.noise_level
    passes = pass_counts(
        "smoothgrad", num_samples=n, base=pass_counts("vanilla_gradient")
    )
    for name, variant, what in (
        ("SmoothGrad-Squared", "squared", "mean of squared gradients"),
        ("VarGrad", "variance", "variance of gradients"),
    ):
        smooth = explainers.smoothgrad(
            gradient, num_samples=n, noise_level=noise, variant=variant
        )
        available[name] = Method(
            name,
            _reduced(smooth, "abs_max"),
            passes,
            f"{what}, {n} samples, noise {noise:g}, max over RGB",
        )
    available[RANDOM] = Method(
        RANDOM,
        _random_explain,
        PassCount(0, 0, formula="no network evaluation"),
        "uniform [0, 1) per pixel from the seed's key (baseline)",
    )
    names = list(dict.fromkeys(config.methods))
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(
            f"config.methods: unknown method names {unknown}; available: "
            f"{list(available)}"
        )
    if RANDOM not in names:
        names.append(RANDOM)
    return {
        name: _with_postprocess(available[name], config.map_postprocess)
        for name in names
    }


def _reduced(explain, reduction: str):
    def reduced(key, params, x, target):
        return reduce_channels(explain(key, params, x, target), reduction)

    return reduced


def _random_explain(key, params, x, target):
    del params, target
    return random_saliency(key, x.shape[:2])


def _figures(
    workdir, images, maps, curves, costs, summaries, ranked, front, metric, labels
) -> dict:
    def flat(kind):
        return {name: c.reshape(-1, c.shape[-1]) for name, c in curves[kind].items()}

    figures = {
        "deletion_curves": viz.mean_curves(
            flat("deletion_rel_curves"),
            workdir / "deletion_curves.png",
            baseline=RANDOM,
            title="Deletion (black fill), mean over images and seeds",
            ylabel="target score / clean score",
        ),
        "insertion_curves": viz.mean_curves(
            flat("insertion_rel_curves"),
            workdir / "insertion_curves.png",
            baseline=RANDOM,
            title="Insertion (from blur), mean over images and seeds",
            ylabel="target score / clean score",
        ),
    }
    baseline = summaries.get(RANDOM, {}).get(metric, {}).get("mean")
    figures["cost_vs_deletion"] = viz.cost_quality_scatter(
        [costs[n]["seconds_per_image"] for n in ranked],
        [summaries[n][metric]["mean"] for n in ranked],
        workdir / "cost_vs_deletion.png",
        labels=ranked,
        errors=[summaries[n][metric]["half_width"] for n in ranked],
        front=front,
        baseline=baseline,
        ylabel=f"{'relative' if metric.endswith('_rel') else 'absolute'} deletion "
        "AUC (lower is better)",
        title="Cost vs faithfulness",
    )
    count = min(4, len(images))
    figures["explanations"] = viz.explanation_grid(
        images[:count],
        {name: m[0, :count] for name, m in maps.items()},
        workdir / "explanations.png",
        row_labels=labels[:count],
    )
    return {name: Path(path).name for name, path in figures.items()}
