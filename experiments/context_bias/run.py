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
from pathlib import Path

import jax
from tqdm.auto import tqdm

from experiments.context_bias.config import Config
from experiments.context_bias.data import (
    CONDITIONS,
    fingerprint,
    load_biased_data,
    make_generator,
    render_pairs,
    unbiased_data,
)
from experiments.context_bias.findings import evaluate_findings
from experiments.context_bias.measure import measure_teacher, natural_images
from experiments.context_bias.report import make_figures, report_markdown
from experiments.shared.data import load_data
from experiments.shared.options import check_choices, config_to_dict
from experiments.shared.results import Timer, write_results
from experiments.shared.stats import mean_ci
from experiments.shared.teacher import (
    needs_training,
    resolve_teacher,
    teacher_probe_names,
    teacher_scores,
)
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """The layer name checked against the teacher's probe points."""
    check_choices(
        (settings.cam_layer,),
        "cam_layer",
        teacher_probe_names(settings.teacher, workdir or ""),
    )
    return settings


def _teachers(settings: Config, workdir, generator, timer) -> tuple[dict, dict]:
    """``({name: (model, params, info)}, data)``: biased, reference, control.

    ``data`` holds the biased data's splits that were loaded (always ``test``).
    """
    subset = settings.train_subset
    teachers = {}
    with timer("data"):
        splits = ["test"]
        if needs_training(settings.teacher, workdir, settings.data, settings.seed):
            splits = ["train", "validation", "test"]
        data = load_biased_data(settings.data, generator, splits, subset)
    spec = data["spec"]
    with timer("train_biased"):
        teachers["biased"] = resolve_teacher(
            settings.teacher,
            fingerprint(settings.data, generator, subset),
            data,
            workdir,
            seed=settings.seed,
        )
    data.pop("train", None)  # no longer needed; the control may need the memory
    with timer("reference"):
        reference_dir = workdir / "reference"
        reference_data = {"spec": spec}
        if needs_training(
            settings.reference_teacher,
            reference_dir,
            settings.reference_data,
            settings.seed,
        ):
            reference_data = load_data(settings.reference_data)
        teachers["reference"] = resolve_teacher(
            settings.reference_teacher,
            settings.reference_data,
            reference_data,
            reference_dir,
            seed=settings.seed,
        )
    if settings.control:
        with timer("train_control"):
            control_data, control = unbiased_data(
                generator, subset, ("train", "validation")
            )
            recipe = dataclasses.replace(settings.teacher, workdir="")
            teachers["control"] = resolve_teacher(
                recipe,
                fingerprint(settings.data, control, subset),
                control_data,
                workdir / "control",
                seed=settings.seed,
            )
    for model, params, info in teachers.values():
        info["biased_test_scores"] = teacher_scores(
            model, params, data["test"], spec.num_classes
        )
    return teachers, data


def run(settings: Config, workdir: str | Path) -> dict:
    """Runs the context-bias study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    settings = resolve(settings, workdir)
    timer = Timer()
    generator = make_generator(settings.data)
    teachers, data = _teachers(settings, workdir, generator, timer)
    for name, (model, _, _) in teachers.items():
        if settings.cam_layer not in model.config.probe_names:
            raise ValueError(
                f"config.cam_layer: expected one of {model.config.probe_names} "
                f"(the {name} teacher's probe points), got {settings.cam_layer!r}"
            )
    with timer("render_pairs"):
        pairs = render_pairs(generator, settings.num_images, settings.seed)
    label = pairs["label"]
    key = jax.random.key(settings.seed)
    measures, predictions, cams = {}, {}, {}
    with timer("measure"):
        for name, (model, params, _) in tqdm(
            teachers.items(), desc="teachers", unit="teacher"
        ):
            for condition in CONDITIONS:
                p = pairs[condition]
                (
                    measures[(name, condition)],
                    predictions[(name, condition)],
                    cams[(name, condition)],
                ) = measure_teacher(
                    model,
                    params,
                    p["image"],
                    p["mask"],
                    label,
                    p["family"],
                    key,
                    cam_layer=settings.cam_layer,
                    context_radius=settings.context_radius,
                    context_fill=settings.context_fill,
                )
        natural = natural_images(teachers, data["test"], settings.num_natural)
    summary = {
        name: {
            condition: {
                m: {**mean_ci(v), "per_image": v}
                for m, v in measures[(name, condition)].items()
            }
            for condition in CONDITIONS
        }
        for name in teachers
    }
    findings = evaluate_findings(measures, list(teachers))
    with timer("figures"):
        figures = make_figures(
            workdir,
            pairs,
            cams,
            predictions,
            summary,
            teachers,
            settings.num_figure_images,
        )
    results = {
        "generator": repr(generator),
        "teachers": {name: info for name, (_, _, info) in teachers.items()},
        "pairs": {
            "count": int(len(label)),
            "labels": label.tolist(),
            "mismatched_families": pairs["mismatched"]["family"].tolist(),
        },
        "config": config_to_dict(settings),
        "summary": summary,
        "natural": natural,
    }
    return write_results(
        workdir,
        results,
        findings=findings,
        figures=figures,
        seconds=timer.seconds,
        report=report_markdown,
    )
