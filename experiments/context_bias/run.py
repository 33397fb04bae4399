"""Does a context-biased teacher attend to the biased context?

Grid saliency (Hoyer et al., NeurIPS 2019) showed that segmentation models
trained on data where the context correlates with a class rely on that
context, and that explanations reveal it. TextureDigits' ``context_bias``
config builds such data: the background texture family equals the digit in
90 % of the images (one digit per image). This experiment trains a teacher on
it (the quickstart's architecture and recipe, its own work directory) and
compares it with teachers trained without the bias: the quickstart teacher
(default data: 1-3 digits, uniform families) and, optionally, a control
trained exactly like the biased teacher on in-memory data with
``context_bias = 0``.

Test pairs (:mod:`experiments.context_bias.swap`): each of the first
``num_images`` test digits is re-rendered on a texture of its own family
("matched") and of a random other family ("mismatched"); digit, size,
position and mask are identical within a pair. Per teacher and condition:

* segmentation: Dice of the true digit class against the ground truth; the
  share of digit pixels given the true class, and (mismatched) the share given
  the class that the background family stands for ("shortcut"); digit
  pixels falsely predicted on the background;
* Seg-Grad-CAM at ``cam_layer`` (target: the true class, ROI: its
  ground-truth mask): the share of the positive CAM mass outside the digit
  mask, and outside the mask dilated by ``context_radius`` pixels (far
  context); a uniform map would put ``1 - area share`` outside;
* context removal: everything farther than ``context_radius`` from the digit
  is replaced by ``context_fill``; the relative drop of ``S_c`` (summed logits
  of the true class over its mask) and the change of the digit Dice.

The natural test images are also split by whether their family matches the
digit (about 91 % do) and scored the same way.

References:
  Hoyer, Munoz, Katiyar, Khoreva, Fischer. Grid saliency for context
  explanations of semantic segmentation. NeurIPS 2019.
  Vinogradova, Dibrov, Myers. Towards interpretable semantic segmentation via
  gradient-weighted class activation mapping. AAAI 2020.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import numpy as np

from experiments.context_bias.config import Config
from experiments.context_bias.data import (
    CONDITIONS,
    fingerprint,
    load_biased_data,
    make_generator,
    render_pairs,
    unbiased_data,
    unbiased_generator,
)
from experiments.context_bias.findings import evaluate_findings
from experiments.context_bias.measure import measure_teacher, natural_images
from experiments.context_bias.report import make_figures, report_markdown
from experiments.shared.data import load_data
from experiments.shared.options import check_choices
from experiments.shared.stats import mean_ci
from experiments.shared.study import run_study
from experiments.shared.teacher import (
    needs_training,
    resolve_teacher,
    teacher_probe_names,
    teacher_scores,
)
from experiments.shared.units import Unit
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """The layer name checked against the teacher's probe points."""
    check_choices(
        (settings.cam_layer,),
        "cam_layer",
        teacher_probe_names(settings.teacher, workdir or ""),
    )
    return settings


# The study in units (see experiments.shared.study): one unit per teacher
# (the biased one, the quickstart's reference, the unbiased control), i.e.
# the teacher trained or loaded and measured on the rendered pairs.
NAME = "context_bias"
AXES = ("control",)
PRESENTATION = ("num_figure_images",)
SIDECAR = tuple(f"{kind}_{c}" for kind in ("prediction", "cam") for c in CONDITIONS)


def units(settings: Config) -> list[Unit]:
    names = ("biased", "reference", *(("control",) if settings.control else ()))
    return [Unit(name, {"teacher": name}, kind=name) for name in names]


def prepare(settings: Config, workdir, timer) -> dict:
    """The biased test split, the generator and the rendered pairs."""
    generator = make_generator(settings.data)
    with timer("data"):
        data = load_biased_data(settings.data, generator, ["test"], 0)
    with timer("render_pairs"):
        pairs = render_pairs(generator, settings.num_images, settings.seed)
    return {
        "generator": generator,
        "test": data["test"],
        "spec": data["spec"],
        "pairs": pairs,
        "workdir": Path(workdir),
    }


def _teacher(settings: Config, name: str, context: dict):
    """``(model, params, info)`` of one teacher, trained here when needed."""
    workdir, generator = context["workdir"], context["generator"]
    subset = settings.train_subset
    if name == "biased":
        recipe_data = fingerprint(settings.data, generator, subset)
        splits = ["test"]
        if needs_training(
            settings.teacher, workdir, recipe_data, settings.seed, own=True
        ):
            splits = ["train", "validation", "test"]
        data = load_biased_data(settings.data, generator, splits, subset)
        return resolve_teacher(
            settings.teacher,
            recipe_data,
            data,
            workdir,
            seed=settings.seed,
            own=True,
        )
    if name == "reference":
        home = workdir / "reference"
        data = {"spec": context["spec"]}
        reference = (settings.reference_teacher, home, settings.reference_data)
        if needs_training(*reference, settings.seed):
            data = load_data(settings.reference_data)
        return resolve_teacher(
            settings.reference_teacher,
            settings.reference_data,
            data,
            home,
            seed=settings.seed,
        )
    control = unbiased_generator(generator, subset)
    recipe_data = fingerprint(settings.data, control, subset)
    data = {"spec": context["spec"]}
    if needs_training(settings.teacher, workdir, recipe_data, settings.seed, own=True):
        data, _ = unbiased_data(generator, subset, ("train", "validation"))
    return resolve_teacher(
        dataclasses.replace(settings.teacher, workdir=""),
        recipe_data,
        data,
        workdir / "control",
        seed=settings.seed,
        own=True,
    )


def run_unit(settings: Config, unit: Unit, context: dict):
    """One teacher on the matched and mismatched pairs and the natural images.

    Returns:
      ``(result, sidecar)``: its measures per condition, its natural-image
      scores and its info; its predictions and CAMs of the pairs in the sidecar.
    """
    name = unit.settings["teacher"]
    model, params, info = _teacher(settings, name, context)
    if settings.cam_layer not in model.config.probe_names:
        raise ValueError(
            f"config.cam_layer: expected one of {model.config.probe_names} "
            f"(the {name} teacher's probe points), got {settings.cam_layer!r}"
        )
    test, pairs = context["test"], context["pairs"]
    info["biased_test_scores"] = teacher_scores(
        model, params, test, context["spec"].num_classes
    )
    key = jax.random.key(settings.seed)
    measures, sidecar = {}, {}
    for condition in CONDITIONS:
        p = pairs[condition]
        measures[condition], prediction, cam = measure_teacher(
            model,
            params,
            p["image"],
            p["mask"],
            pairs["label"],
            p["family"],
            key,
            cam_layer=settings.cam_layer,
            context_radius=settings.context_radius,
            context_fill=settings.context_fill,
        )
        sidecar[f"prediction_{condition}"] = prediction
        sidecar[f"cam_{condition}"] = cam
    natural = natural_images({name: (model, params, info)}, test, settings.num_natural)
    result = {"measures": measures, "natural": natural, "info": info}
    return result, sidecar


def _measures(records) -> dict:
    return {
        (r.unit.name, condition): r.result["measures"][condition]
        for r in records
        for condition in CONDITIONS
    }


def aggregate(settings: Config, records) -> dict:
    """Mean [95 % CI] per teacher, condition and measure."""
    del settings
    measures = _measures(records)
    return {
        r.unit.name: {
            condition: {
                m: {**mean_ci(v), "per_image": v}
                for m, v in measures[(r.unit.name, condition)].items()
            }
            for condition in CONDITIONS
        }
        for r in records
    }


def findings(summary: dict, settings: Config):
    """The verdicts need the biased teacher and another one."""
    del settings
    if "biased" not in summary or len(summary) < 2:
        return []
    measures = {
        (name, condition): {
            m: np.asarray(v["per_image"]) for m, v in summary[name][condition].items()
        }
        for name in summary
        for condition in CONDITIONS
    }
    return evaluate_findings(measures, list(summary))


def figures(workdir, settings: Config, records, context: dict) -> dict:
    """The figures, once every teacher's sidecar is at hand."""
    arrays = {r.unit.name: r.sidecar() for r in records}
    if "biased" not in arrays or any(a is None for a in arrays.values()):
        return {}
    cams = {(n, c): a[f"cam_{c}"] for n, a in arrays.items() for c in CONDITIONS}
    predictions = {
        (n, c): a[f"prediction_{c}"] for n, a in arrays.items() for c in CONDITIONS
    }
    return make_figures(
        Path(workdir),
        context["pairs"],
        cams,
        predictions,
        aggregate(settings, records),
        list(arrays),
        context["spec"].num_classes,
        settings.num_figure_images,
    )


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    del settings
    pairs = context["pairs"]
    natural = {}
    for record in records:
        natural.update(record.result["natural"])
    return {
        "generator": repr(context["generator"]),
        "teachers": {r.unit.name: r.result["info"] for r in records},
        "pairs": {
            "count": int(len(pairs["label"])),
            "labels": pairs["label"].tolist(),
            "mismatched_families": pairs["mismatched"]["family"].tolist(),
        },
        "summary": summary,
        "natural": natural,
    }


def report(completed: dict) -> str:
    return report_markdown(completed)


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing teacher units; returns what ``results.json`` holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
