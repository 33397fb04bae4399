"""Occlusion fills and patch sizes: reproducing Gipiskis & Kurasova (CISTI 2023).

The paper slides occlusion patches of several colours and sizes over the
inputs of segmentation models and reports (as summarised in the seed paper,
sec. 5, and in ``ALGORITHMS.md``):

1. the results depend on the occlusion colour (fill) and size;
2. a black patch can be segmented as part of the object;
3. Gaussian-based fills distort the output less;
4. segmentation scores change little under occlusion (less than the scores of
   perturbation explanations in classification), so maps need min-max
   rescaling to be readable.

This experiment measures each claim on TextureDigits test images with a
trained U-Net teacher. Target: the digit class with the largest predicted
area, its predicted region ``M`` frozen as ROI, score ``S_c(x; M)`` = summed
logits (the seed paper's target). For every fill and patch size ``k`` (stride
``k // 2``) ONE sweep over the windows records, per window:

* the drop of ``S_c`` (the occlusion map is the per-pixel mean over covering
  windows, exactly :func:`segxai_jax.explainers.occlusion`; checked against it
  on one image per patch size, see ``library_check`` in ``results.json``);
* the mean class probability over ``M``; the Dice of class ``c`` against the
  clean prediction;
* classification-style scores of the same network (there is no separate
  classifier): the probability of class ``c`` from a softmax over the ten
  digit classes of the logits pooled over the image, by global average (a
  GAP classification head) or by max; probabilities are compared by their
  absolute spread (a relative one explodes when another digit dominates);
* how many of the occluded pixels that the clean prediction called background
  are now predicted as some digit ("fill segmented as a digit");
* the share of pixels OUTSIDE the patch whose predicted label changed
  (distortion beyond the occluded area).

Deletion AUC (RISE) of every map is measured with the same settings for all
fills (choice: mean probability of class ``c`` over ``M`` as the score, 16
steps, and two substrates, ``"black"`` and ``"blur"``, so that no fill is
favoured by being its own deletion substrate in both; a random map is the
baseline). Map similarity between fills: Spearman rank correlation and SSIM
(min-max normalised maps), averaged over images.

Not tested: the paper's link between fill effects and the object's colours
and foreground/background ratio.

References:
  Gipiskis, Kurasova. Occlusion-based approach for interpretable semantic
  segmentation. CISTI 2023.
  Petsiuk, Das, Saenko. RISE. BMVC 2018 (deletion curves).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.occlusion_study.config import Config
from experiments.occlusion_study.findings import evaluate_findings
from experiments.occlusion_study.measure import (
    aggregate_units,
    deletion_aucs,
    image_measures,
    map_similarity,
)
from experiments.occlusion_study.report import make_figures, report_markdown
from experiments.occlusion_study.sweeps import Plan, check_library, run_sweeps
from experiments.shared.data import load_data
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import needs_training, resolve_teacher, teacher_scores
from experiments.shared.units import Unit
from segxai_jax.models import unet_apply_fn

# The study in units (see experiments.shared.study): one unit per test image,
# every fill x patch sweep of that image, its deletion curves and the map
# similarities between its fills and patch sizes. Adding images adds units.
NAME = "occlusion_study"
AXES = ("num_images",)
PRESENTATION = ("num_figure_images",)


def resolve(settings: Config, workdir=None) -> Config:
    """Checks of fields together."""
    del workdir
    if settings.reference_patch not in settings.patch_sizes:
        raise ValueError(
            "config.reference_patch: expected one of config.patch_sizes "
            f"{settings.patch_sizes}, got {settings.reference_patch!r}"
        )
    return settings


def _plan(settings: Config) -> Plan:
    """The fields every stage shares (the config's fields of these names)."""
    return Plan(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(Plan)})


def units(settings: Config) -> list[Unit]:
    """One unit per test image (the first ``num_images`` of the split)."""
    return [
        Unit(f"image{i:03d}", {"image": i}, kind="image")
        for i in range(settings.num_images)
    ]


def prepare(settings: Config, workdir, timer) -> dict:
    """The test images, the teacher, the dataset mean and the keys."""
    workdir = Path(workdir)
    with timer("data"):
        splits = ("test", "validation")
        if needs_training(settings.teacher, workdir, settings.data, settings.seed):
            splits = ("train", "validation", "test")
        data = load_data(settings.data, splits=splits)
    spec = data["spec"]
    if max(settings.patch_sizes) > spec.image_size:
        raise ValueError(
            f"config.patch_sizes: expected at most the image size {spec.image_size}, "
            f"got {settings.patch_sizes}"
        )
    available = len(data["test"]["image"])
    if settings.num_images > available:
        raise ValueError(
            f"config.num_images: expected at most the {available} test images, "
            f"got {settings.num_images}"
        )
    with timer("teacher"):
        model, params, teacher = resolve_teacher(
            settings.teacher, settings.data, data, workdir, seed=settings.seed
        )
    teacher["test_scores"] = teacher_scores(
        model, params, data["test"], spec.num_classes
    )
    apply_fn = unet_apply_fn(model)
    batch_apply = jax.jit(jax.vmap(apply_fn, (None, 0)))
    key_noise, key_random, key_deletion = jax.random.split(
        jax.random.key(settings.seed), 3
    )
    return {
        "spec": spec,
        "test": data["test"],
        "teacher": teacher,
        "params": params,
        "apply_fn": apply_fn,
        "batch_apply": batch_apply,
        # Choice: the "dataset mean" fill is the validation split's channel mean.
        "dataset_mean": np.asarray(data["validation"]["image"].mean(axis=(0, 1, 2))),
        "keys": {"noise": key_noise, "random": key_random, "deletion": key_deletion},
    }


def _image_sweeps(settings: Config, index: int, context: dict):
    """``(image [1, H, W, C], target, sweeps)`` of one test image."""
    plan = _plan(settings)
    params, batch_apply = context["params"], context["batch_apply"]
    image = jnp.asarray(context["test"]["image"][index : index + 1])
    # Per image (a batch of one), so that a unit does not depend on the others.
    clean_logits = batch_apply(params, image)
    predicted = np.asarray(clean_logits.argmax(-1))
    target = largest_digit_targets(
        predicted,
        context["test"]["mask"][index : index + 1],
        context["spec"].num_classes,
    )
    sweeps = run_sweeps(
        context["apply_fn"],
        params,
        image,
        clean_logits,
        target,
        context["dataset_mean"],
        context["keys"]["noise"],
        plan,
        indices=(index,),
    )
    return image, target, sweeps


def run_unit(settings: Config, unit: Unit, context: dict):
    """Every fill x patch sweep of one image, its deletion AUCs and similarities.

    Returns:
      ``(result, sidecar)``: the image's measures; its occlusion maps
      (``"<fill> k=<patch>"`` -> ``[H, W]``) in the sidecar, for the figures.
    """
    plan = _plan(settings)
    index = unit.settings["image"]
    image, target, sweeps = _image_sweeps(settings, index, context)
    keys = context["keys"]
    result = {
        "image": index,
        "target_class": int(np.asarray(target.class_id)[0]),
        **image_measures(sweeps, plan),
        "deletion": deletion_aucs(
            context["apply_fn"],
            context["params"],
            image,
            target,
            sweeps,
            jax.random.fold_in(keys["random"], index),
            jax.random.fold_in(keys["deletion"], index),
            context["spec"].num_classes,
            plan,
            context["dataset_mean"],
        ),
        "similarity": map_similarity(sweeps, plan),
    }
    if index == 0:
        result["library_check"] = check_library(
            context["apply_fn"], context["params"], image[0], target, sweeps, plan
        )
    sidecar = {f"{f} k={p}": entry["maps"][0] for (f, p), entry in sweeps.items()}
    return result, sidecar


def aggregate(settings: Config, records) -> dict:
    """Means [95 % CI] over the images of every measure (see ``measure.py``)."""
    return aggregate_units(_plan(settings), [r.result for r in records])


def findings(summary: dict, settings: Config):
    return evaluate_findings(
        summary["summaries"],
        summary["deletion"],
        summary["similarity"],
        _plan(settings),
    )


def figures(workdir, settings: Config, records, context: dict) -> dict:
    """The figures; the maps of figure images whose sidecar is missing (a
    fresh clone) are computed again."""
    plan = _plan(settings)
    shown = []
    for record in records[: plan.num_figure_images]:
        index = record.unit.settings["image"]
        maps = record.sidecar()
        if maps is None:
            _, _, sweeps = _image_sweeps(settings, index, context)
            maps = {f"{f} k={p}": e["maps"][0] for (f, p), e in sweeps.items()}
        shown.append((index, maps, record.result["clean_score"]))
    params, batch_apply = context["params"], context["batch_apply"]

    def predict(xs):
        return np.asarray(batch_apply(params, xs).argmax(-1))

    return make_figures(
        Path(workdir),
        np.asarray(context["test"]["image"]),
        shown,
        aggregate(settings, records),
        plan,
        context["spec"].num_classes,
        context["dataset_mean"],
        context["keys"]["noise"],
        predict,
    )


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    images = [r.result["image"] for r in records]
    windows = records[0].result["windows"]
    return {
        "teacher": context["teacher"],
        "dataset": context["spec"].name,
        "images": {
            "split": "test",
            "count": len(images),
            "indices": images,
            "target_classes": [r.result["target_class"] for r in records],
        },
        "dataset_mean": context["dataset_mean"].tolist(),
        "forward_passes": {
            p: len(settings.fills) * len(images) * windows[p] for p in windows
        },
        "library_check": next(
            (r.result["library_check"] for r in records if "library_check" in r.result),
            {"skipped": "image 0 is not among the finished units"},
        ),
        **summary,
    }


def report(completed: dict) -> str:
    return report_markdown(completed)


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing image units; returns what ``results.json`` holds."""
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
