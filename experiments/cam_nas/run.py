"""CAM-NAS for segmentation: search students whose explanations match the teacher.

The seed paper's proposal (Fig. 1) is tested on TextureDigits with the
quickstart's U-Net teacher: U-Net students of :class:`segxai_jax.nas.SearchSpace`
under a parameter budget (a fraction of the teacher's), searched by
Zen-NAS-style evolution with the CAM-NAS fitness (inverse Euclidean distance of
min-max normalised Seg-Grad-CAMs at the bottleneck, teacher vs student, same
class ROIs frozen from the teacher's prediction, on a fixed validation probe
batch). Methods, each with the same number of evaluated candidates per seed:

* ``cam_nas_init``: fitness at the shared random initialisation (CAM-NAS);
* ``cam_nas_warmup``: fitness after ``warmup.steps`` Adam steps of every
  candidate (the whole population trained in the same vmapped call);
* ``random_search``: uniform random genomes within budget, the best by the
  CAM-NAS init fitness (the baseline Zen-NAS compares with);
* ``zen_proxy``: the same evolution with a teacher-free, label-free
  Zen-score-like proxy;
* ``proxy_search``: the same evolution with another fitness,
  ``config.proxy_search.proxy`` (any learned proxy of the ``nas_proxies``
  study, e.g. the one that ranked architectures best);
* ``hand_designed``: no search: the teacher's architecture with all widths
  scaled by the largest factor that fits the budget.

Every winner is trained from scratch with the same recipe and seed and scored
on test images: mIoU and the similarity of its Seg-Grad-CAMs to the
teacher's (:mod:`.measure`). Per method: mean and Student-t 95 % CI over
seeds; the hypothesis "CAM-NAS winner >= random-search winner in mIoU" is
checked with a paired CI (:mod:`.findings`). Figures and ``report.md``:
:mod:`.report`.

The teacher comes from :func:`experiments.shared.teacher.resolve_teacher`
(``config.teacher``); when it is trained here, it is trained with the first
of ``config.seeds``.

References:
  Zhang, Wang, Joe. CAM-NAS, Applied Sciences 13(17), 9686, 2023.
  Lin et al. Zen-NAS. ICCV 2021.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.cam_nas import measure
from experiments.cam_nas import report as reporting
from experiments.cam_nas.config import Config
from experiments.cam_nas.findings import evaluate_findings
from experiments.shared.data import load_data
from experiments.shared.nas_fitness import LEARNED
from experiments.shared.options import config_to_dict
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import (
    resolve_teacher,
    teacher_probe_names,
    teacher_scores,
)
from experiments.shared.units import Unit
from segxai_jax.models import count_params
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """Checks of fields together and against the teacher's layers."""
    if "proxy_search" in settings.methods and settings.proxy_search is None:
        raise ValueError(
            "config.proxy_search.proxy: expected one of "
            f"{LEARNED} when methods include 'proxy_search'"
        )
    measure.check_student_sections(
        settings.budget,
        settings.space,
        settings.student_train,
        settings.probe,
        teacher_probe_names(settings.teacher, workdir or ""),
    )
    return settings


def options_record(settings: Config) -> dict:
    """The settings as ``results.json`` has always listed them (flat)."""
    return {
        "methods": settings.methods,
        "seeds": settings.seeds,
        "search": dataclasses.asdict(settings.search),
        "params_fraction": settings.budget.params_fraction,
        "flops_fraction": settings.budget.flops_fraction,
        "point": settings.probe.point,
        "num_probe_images": settings.probe.num_images,
        "probe_split": settings.probe.split,
        "warmup_steps": settings.warmup.steps,
        "warmup_batch_size": settings.warmup.batch_size,
        "warmup_learning_rate": settings.warmup.learning_rate,
        "num_eval_images": settings.eval.num_images,
        "eval_split": settings.eval.split,
        **(
            {"proxy_search": settings.proxy_search.proxy}
            if settings.proxy_search is not None
            else {}
        ),
    }


def _setup(options, data, teacher_model, teacher_params, teacher_dir):
    """The space, budget, probe and evaluation batches every method shares."""
    spec = data["spec"]
    teacher_config = teacher_model.config
    space = measure.search_space(options.space, teacher_config)
    image_shape = tuple(data["test"]["image"].shape[1:])
    budget = measure.make_budget(options.budget, teacher_config, space, image_shape[0])
    apply = jax.jit(
        jax.vmap(lambda p, x: teacher_model.apply({"params": p}, x[None])[0], (None, 0))
    )

    def images_and_targets(split, count):
        images = jnp.asarray(data[split]["image"][:count])
        predicted = np.asarray(apply(teacher_params, images).argmax(-1))
        targets = largest_digit_targets(
            predicted, data[split]["mask"][:count], spec.num_classes
        )
        return images, targets

    probe = options.probe
    probe_images, probe_targets = images_and_targets(probe.split, probe.num_images)
    eval_images, eval_targets = images_and_targets(
        options.eval.split, options.eval.num_images
    )
    return measure.Setup(
        probe=options.probe,
        warmup=options.warmup,
        search=options.search,
        student_train=options.student_train,
        eval=options.eval,
        proxy_search=options.proxy_search,
        teacher_model=teacher_model,
        teacher_params=teacher_params,
        space=space,
        budget=budget,
        data=data,
        data_config=config_to_dict(options.data),
        image_shape=image_shape,
        teacher_dir=teacher_dir,
        probe_images=probe_images,
        probe_targets=probe_targets,
        probe_maps=measure.cam_maps(
            teacher_model, teacher_params, probe.point, probe_images, probe_targets
        ),
        eval_images=eval_images,
        eval_targets=eval_targets,
        eval_maps=measure.cam_maps(
            teacher_model, teacher_params, "bottleneck", eval_images, eval_targets
        ),
    )


# The study in units (see experiments.shared.study): one unit per (seed,
# method), i.e. one search and the training of its winner (both checkpointed
# in <workdir>/search and <workdir>/students while they run).
NAME = "cam_nas"
AXES = ("seeds", "methods")
PRESENTATION = ()


def units(settings: Config) -> list[Unit]:
    """One unit per (seed, method), seed-major.

    The teacher, when trained here, is trained with the first seed: it is part
    of every unit's settings.
    """
    return [
        Unit(
            f"seed{seed}-{method}",
            {"seed": seed, "method": method, "teacher_seed": settings.seeds[0]},
            kind=method,
        )
        for seed in settings.seeds
        for method in settings.methods
    ]


def prepare(settings: Config, workdir, timer) -> dict:
    """Data, teacher (with its test scores) and what every method shares."""
    with timer("data"):
        data = load_data(settings.data)
    spec = data["spec"]
    with timer("teacher"):
        teacher_model, teacher_params, teacher = resolve_teacher(
            settings.teacher, settings.data, data, workdir, seed=settings.seeds[0]
        )
    teacher["test_scores"] = teacher_scores(
        teacher_model, teacher_params, data["test"], spec.num_classes
    )
    teacher["params"] = count_params(teacher_model.config)
    setup = _setup(settings, data, teacher_model, teacher_params, teacher["dir"])
    return {"teacher": teacher, "setup": setup, "workdir": workdir}


def run_unit(settings: Config, unit: Unit, context: dict):
    """Searches with one method and seed, trains and scores the winner."""
    del settings
    seed, method = unit.settings["seed"], unit.settings["method"]
    setup, workdir = context["setup"], Path(context["workdir"])
    tic = time.perf_counter()
    if method == "hand_designed":
        student = measure.hand_designed(setup.teacher_model.config, setup.budget)
        info = {}
    else:
        student, info = measure.search_method(method, seed, setup, workdir)
    scored = measure.train_and_score(student, method, seed, setup, workdir)
    return {"seed": seed, **info, **scored, "seconds": time.perf_counter() - tic}, None


def _runs(settings: Config, records) -> dict:
    runs = {method: [] for method in settings.methods}
    for record in records:
        runs[record.unit.settings["method"]].append(record.result)
    return {method: entries for method, entries in runs.items() if entries}


def aggregate(settings: Config, records) -> dict:
    """Per method: mean and CI over its finished seeds, and the verdicts."""
    runs = _runs(settings, records)
    summary = measure.summarise(runs)
    verdicts, _ = evaluate_findings(runs)
    summary.update(verdicts)
    return {"runs": runs, "summary": summary}


def findings(aggregated: dict, settings: Config):
    del settings
    return evaluate_findings(aggregated["runs"])[1]


def figures(workdir, settings: Config, records, context: dict) -> dict:
    return reporting.make_figures(
        Path(workdir), _runs(settings, records), context["teacher"]
    )


def results(settings: Config, aggregated: dict, records, context: dict) -> dict:
    del records
    setup = context["setup"]
    return {
        "teacher": context["teacher"],
        "options": options_record(settings),
        "space": dataclasses.asdict(setup.space),
        "budget": dataclasses.asdict(setup.budget),
        **aggregated,
    }


def report(completed: dict) -> str:
    return reporting.report_markdown(completed)


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing (seed, method) units; returns what results.json holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
