"""Which explainer is best for segmentation, by cost AND quality.

Run through ``experiments/main.py`` with ``rank_methods/config.py``. Stages:

1. the teacher: the quickstart's U-Net from ``config.teacher.workdir``
   (trained there with the quickstart's recipe if missing and
   ``config.teacher.train_if_missing``; see :mod:`experiments.shared.teacher`),
   evaluated on ``config.split``;
2. targets: the first ``num_images`` images of the split, each explained for
   its largest predicted digit with that digit's predicted region as ROI (the
   quickstart's rule, :func:`experiments.shared.targets.largest_digit_targets`);
3. maps: every method of ``config.methods`` (those of
   :mod:`experiments.shared.methods`, SmoothGrad-Squared, VarGrad and the seeded
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
   within an image first: see :mod:`experiments.shared.stats`), mean rank
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
``shared/methods.py`` (gradient and SmoothGrad: ``max |.|``, hence >= 0; gradient x
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
import warnings
from pathlib import Path

import jax
import numpy as np

from experiments.rank_methods import measure, report
from experiments.rank_methods.config import Config
from experiments.rank_methods.findings import METRICS, summarise
from experiments.rank_methods.methods import select_methods
from experiments.shared.options import config_to_dict
from experiments.shared.results import Timer, environment, write_json
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher
from segxai_jax.data import dataset_spec
from segxai_jax.metrics import unet_layer_groups
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import ensure_writable_dir, evaluate, write_atomic


def resolve(settings: Config, workdir=None) -> Config:
    """The method names and their probe layers, checked on the teacher's U-Net."""
    del workdir
    try:
        spec = dataset_spec(settings.data.name, settings.data.config or None)
    except ValueError as error:
        raise ValueError(f"config.data: {error}") from error
    fields = {
        "in_channels": spec.num_channels,
        **config_to_dict(settings.teacher.model),
    }
    model = UNet(UNetConfig(num_classes=spec.num_classes, **fields))
    select_methods(model, spec.image_size, **method_choice(settings))  # names, layers
    return settings


def method_choice(settings: Config) -> dict:
    """The keywords of :func:`select_methods` from the settings."""
    return {
        "methods": settings.methods,
        "map_postprocess": settings.map_postprocess,
        "explain": settings.explain,
    }


def run(settings: Config, workdir: str | Path) -> dict:
    """Runs the ranking; returns the results written to ``results.json``."""
    settings = resolve(settings)
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()
    data, model, params, teacher = load_data_and_teacher(
        settings.teacher,
        settings.data,
        workdir,
        timer,
        seed=settings.seed,
        splits=(settings.split,),
    )
    spec = data["spec"]
    split = data[settings.split]
    with timer("evaluate"):
        scores = evaluate(
            model,
            params,
            split,
            num_classes=spec.num_classes,
            batch_size=settings.teacher.train.eval_batch_size,
        )
    teacher["scores"] = {settings.split: scores}

    if len(split["image"]) < settings.num_images:
        raise ValueError(
            f"config.num_images: expected at most the {len(split['image'])} images "
            f"of the {settings.split} split, got {settings.num_images}"
        )
    images = np.asarray(split["image"][: settings.num_images])
    truth = np.asarray(split["mask"][: settings.num_images])
    predicted = np.asarray(model.apply({"params": params}, images).argmax(-1))
    targets = largest_digit_targets(predicted, truth, spec.num_classes)
    class_ids = np.asarray(targets.class_id)
    truth_masks = (truth == class_ids[:, None, None]).astype(np.float32)
    methods = select_methods(model, spec.image_size, **method_choice(settings))
    seed_keys = [
        jax.random.split(jax.random.fold_in(jax.random.key(settings.seed), s), 3)
        for s in range(settings.num_seeds)
    ]
    keys = {
        "explain": [k[0] for k in seed_keys],
        "robustness": [k[1] for k in seed_keys],
        "randomisation": [k[2] for k in seed_keys],
    }
    inputs = (params, images, targets)

    with timer("explain"):
        maps, costs, invariant = measure.explain_methods(
            methods, inputs, keys["explain"], settings.explain
        )
    with timer("faithfulness"):
        curves = measure.faithfulness(
            model, inputs, maps, invariant, settings.faithfulness, settings.seed
        )
    with timer("map_metrics"):
        tolerance = settings.localisation.pointing_tolerance
        values = measure.map_metrics(maps, invariant, truth_masks, tolerance)
    values.update({k: v for k, v in curves.items() if not k.endswith("_curves")})
    with timer("robustness"):
        values.update(
            measure.robustness(
                methods,
                inputs,
                keys["robustness"],
                settings.robustness,
                settings.num_seeds,
            )
        )
    with timer("randomisation"):
        layer_groups = unet_layer_groups(
            model.config, granularity=settings.randomisation.granularity
        )
        values.update(
            measure.randomisation(
                methods,
                inputs,
                keys["randomisation"],
                layer_groups,
                settings.randomisation,
                settings.num_seeds,
            )
        )
    summary = summarise(values, methods, costs)
    summaries, ranked = summary["summaries"], summary["ranked"]
    with timer("figures"):
        figures = report.make_figures(
            workdir,
            images,
            maps,
            curves,
            costs,
            summaries,
            ranked,
            summary["front"],
            summary["pareto_metric"],
            [f"class {spec.class_names[int(c)]}" for c in class_ids],
        )

    method_results = {
        name: {
            "description": method.description,
            "passes": dataclasses.asdict(method.passes),
            "cost": costs[name],
            "seed_invariant_maps": invariant[name],
            "summary": summaries[name],
            "rank": summary["ranking"][name],
            "minus_random": summary["vs_random"].get(name),
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
        "config": config_to_dict(settings),
        "teacher": teacher,
        "images": {
            "split": settings.split,
            "indices": list(range(settings.num_images)),
            "target_class_ids": class_ids,
            "roi_pixels": np.asarray(targets.mask).sum(axis=(1, 2)),
            "ground_truth_pixels": truth_masks.sum(axis=(1, 2)),
            "clean_target_scores": curves["clean_scores"],
        },
        "randomisation_layer_groups": [list(g) for g in layer_groups],
        "methods": method_results,
        "versus_best": summary["versus_best"],
        "pareto_front": [ranked[i] for i in summary["front"]],
        "pareto_metric": summary["pareto_metric"],
        "metrics": [
            {"name": m, "higher_is_better": h, "in_mean_rank": r} for m, h, r in METRICS
        ],
        "seconds": timer.seconds,
        "figures": figures,
        "environment": environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", report.report_markdown(results))
    return results


def _nanmean(rows: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN rows (all-NaN columns stay NaN, silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(rows, axis=0)
