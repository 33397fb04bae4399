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
import sys
import warnings
from pathlib import Path

import jax
import numpy as np

from experiments.rank_methods import measure
from experiments.rank_methods import report as report_module
from experiments.rank_methods.config import Config
from experiments.rank_methods.findings import METRICS, summarise
from experiments.rank_methods.methods import RANDOM, select_methods
from experiments.shared.options import config_to_dict
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher
from experiments.shared.units import Unit
from segxai_jax.data import dataset_spec
from segxai_jax.metrics import unet_layer_groups
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import ensure_writable_dir, evaluate


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


# The study in units (see experiments.shared.study): one unit per method
# (its maps, curves, map metrics, robustness and randomisation on every image
# and seed). The random baseline runs first, so that every partial set of
# units can be compared with it.
NAME = "rank_methods"
AXES = ("methods",)
PRESENTATION = ()


def method_names(settings: Config) -> list[str]:
    """The ranked methods in config order, the random baseline last."""
    names = list(dict.fromkeys(settings.methods))
    return names if RANDOM in names else [*names, RANDOM]


def units(settings: Config) -> list[Unit]:
    names = method_names(settings)
    order = [RANDOM, *(n for n in names if n != RANDOM)]
    return [Unit(_unit_name(n), {"method": n}, kind=n) for n in order]


def _unit_name(method: str) -> str:
    return method.lower().replace(" ", "_").replace("-", "_").replace("+", "p")


def prepare(settings: Config, workdir, timer) -> dict:
    """Data, teacher (with its scores), images, targets, methods and keys."""
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
    seed_keys = [
        jax.random.split(jax.random.fold_in(jax.random.key(settings.seed), s), 3)
        for s in range(settings.num_seeds)
    ]
    return {
        "model": model,
        "teacher": teacher,
        "spec": spec,
        "images": images,
        "targets": targets,
        "class_ids": class_ids,
        "truth_masks": (truth == class_ids[:, None, None]).astype(np.float32),
        "methods": select_methods(model, spec.image_size, **method_choice(settings)),
        "inputs": (params, images, targets),
        "keys": {
            "explain": [k[0] for k in seed_keys],
            "robustness": [k[1] for k in seed_keys],
            "randomisation": [k[2] for k in seed_keys],
        },
        "layer_groups": unet_layer_groups(
            model.config, granularity=settings.randomisation.granularity
        ),
    }


def run_unit(settings: Config, unit: Unit, context: dict):
    """Every measure of one method.

    Returns:
      ``(result, sidecar)``: its cost, seed invariance, per-(image, seed)
      values of every metric and its curves; its maps in the sidecar.
    """
    name = unit.settings["method"]
    one = {name: context["methods"][name]}
    inputs, keys = context["inputs"], context["keys"]
    maps, costs, invariant = measure.explain_methods(
        one, inputs, keys["explain"], settings.explain
    )
    curves = measure.faithfulness(
        context["model"], inputs, maps, invariant, settings.faithfulness, settings.seed
    )
    tolerance = settings.localisation.pointing_tolerance
    values = measure.map_metrics(maps, invariant, context["truth_masks"], tolerance)
    values.update({k: v for k, v in curves.items() if k.endswith(("_auc", "_rel"))})
    values.update(
        measure.robustness(
            one, inputs, keys["robustness"], settings.robustness, settings.num_seeds
        )
    )
    values.update(
        measure.randomisation(
            one,
            inputs,
            keys["randomisation"],
            context["layer_groups"],
            settings.randomisation,
            settings.num_seeds,
        )
    )
    result = {
        "cost": costs[name],
        "seed_invariant_maps": invariant[name],
        "values": {metric: v[name] for metric, v in values.items()},
        "curves": {k: v[name] for k, v in curves.items() if k.endswith("_curves")},
        "clean_scores": curves["clean_scores"],
        "num_points": curves["num_points"],
    }
    return result, {"maps": maps[name]}


def _by_method(settings: Config, records) -> dict:
    """The finished methods' results, in config order."""
    done = {r.unit.settings["method"]: r for r in records}
    return {n: done[n] for n in method_names(settings) if n in done}


def aggregate(settings: Config, records) -> dict:
    """Intervals, ranks and comparisons over the finished methods."""
    done = _by_method(settings, records)
    metrics = next(iter(done.values())).result["values"]
    values = {m: {n: r.result["values"][m] for n, r in done.items()} for m in metrics}
    costs = {n: r.result["cost"] for n, r in done.items()}
    return summarise(values, list(done), costs)


def findings(summary: dict, settings: Config):
    """The ranking has no verdicts of its own (the report's findings lines
    read the summaries)."""
    del summary, settings
    return []


def figures(workdir, settings: Config, records, context: dict) -> dict:
    """The figures, once every method's maps (its sidecar) are at hand."""
    done = _by_method(settings, records)
    arrays = {n: r.sidecar() for n, r in done.items()}
    if len(done) < len(method_names(settings)) or any(
        a is None for a in arrays.values()
    ):
        return {}
    summary = aggregate(settings, records)
    curves = {
        kind: {n: r.result["curves"][kind] for n, r in done.items()}
        for kind in next(iter(done.values())).result["curves"]
    }
    spec = context["spec"]
    return report_module.make_figures(
        Path(workdir),
        context["images"],
        {n: a["maps"] for n, a in arrays.items()},
        curves,
        {n: r.result["cost"] for n, r in done.items()},
        summary["summaries"],
        summary["ranked"],
        summary["front"],
        summary["pareto_metric"],
        [f"class {spec.class_names[int(c)]}" for c in context["class_ids"]],
    )


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    done = _by_method(settings, records)
    methods, targets = context["methods"], context["targets"]
    layer_groups = context["layer_groups"]
    first = next(iter(done.values())).result
    method_results = {}
    for name, record in done.items():
        r = record.result
        method_results[name] = {
            "description": methods[name].description,
            "passes": dataclasses.asdict(methods[name].passes),
            "cost": r["cost"],
            "seed_invariant_maps": r["seed_invariant_maps"],
            "summary": summary["summaries"][name],
            "rank": summary["ranking"][name],
            "minus_random": summary["vs_random"].get(name),
            "values": {metric: r["values"][metric] for metric, _, _ in METRICS},
            "mean_curves": {
                kind: _nanmean(
                    r["curves"][f"{kind}_curves"].reshape(-1, r["num_points"])
                )
                for kind in ("deletion", "insertion", "deletion_rel", "insertion_rel")
            },
            "randomisation_per_layer": _nanmean(
                r["values"]["randomisation"].reshape(-1, len(layer_groups))
            ),
        }
    ranked = summary["ranked"]
    return {
        "teacher": context["teacher"],
        "images": {
            "split": settings.split,
            "indices": list(range(settings.num_images)),
            "target_class_ids": context["class_ids"],
            "roi_pixels": np.asarray(targets.mask).sum(axis=(1, 2)),
            "ground_truth_pixels": context["truth_masks"].sum(axis=(1, 2)),
            "clean_target_scores": first["clean_scores"],
        },
        "randomisation_layer_groups": [list(g) for g in layer_groups],
        "methods": method_results,
        "versus_best": summary["versus_best"],
        "pareto_front": [ranked[i] for i in summary["front"]],
        "pareto_metric": summary["pareto_metric"],
        "metrics": [
            {"name": m, "higher_is_better": h, "in_mean_rank": r} for m, h, r in METRICS
        ],
    }


def report(completed: dict) -> str:
    return report_module.report_markdown(completed)


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing method units; returns what ``results.json`` holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)


def _nanmean(rows: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN rows (all-NaN columns stay NaN, silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(rows, axis=0)
