"""NAS proxies ranked against trained accuracy, as training-free NAS is judged.

A proxy is useful for NAS when it RANKS architectures as training would.
Following the protocol of the training-free NAS literature (NASWOT, Zen-NAS,
ZiCo, MeCo; DisWOT for teacher-student proxies), the study

1. samples ``num_architectures`` distinct U-Net students uniformly from the
   CAM-NAS search space under the budget (:func:`.measure.sample_architectures`);
2. scores each with every proxy
   (:data:`experiments.shared.nas_fitness.PROXIES`): the similarity of its
   explanations to the teacher's (CAM-NAS's fitness: inverse Euclidean
   distance of min-max normalised maps of the teacher's class ROIs on a fixed
   probe batch) for Seg-Grad-CAM, XGrad-CAM, Seg-Ablation-CAM and the vanilla
   gradient, at the shared random initialisation and after a few warm-up
   steps; a DisWOT-like teacher-student similarity of sample relations; the
   Zen-like input-sensitivity proxy; #params and FLOPs;
3. trains every architecture from scratch with ONE short recipe (the
   teacher's, for ``student_train.epochs`` epochs) and the same seed, and
   scores it on ``eval.split`` (mIoU over all classes);
4. reports Kendall tau-b and Spearman rho between each proxy and the trained
   mIoU, with bootstrap 95 % intervals over architectures, and paired
   intervals of each proxy's tau minus that of #params (ZiCo's bar: a proxy
   worth its cost must rank better than the parameter count).

The teacher comes from :func:`experiments.shared.teacher.resolve_teacher`.

References:
  Zhang, Wang, Joe. CAM-NAS, Applied Sciences 13(17), 9686, 2023.
  Dong, Li, Wei. DisWOT. CVPR 2023.
  Li et al. ZiCo: zero-shot NAS via inverse coefficient of variation on
  gradients. ICLR 2023.
  Lin et al. Zen-NAS. ICCV 2021.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.cam_nas import measure as cam_nas
from experiments.nas_proxies import measure
from experiments.nas_proxies import report as reporting
from experiments.nas_proxies.config import Config
from experiments.nas_proxies.findings import evaluate_findings
from experiments.shared.data import load_data
from experiments.shared.options import config_to_dict
from experiments.shared.stats import rank_correlations
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import (
    resolve_teacher,
    teacher_probe_names,
    teacher_scores,
)
from experiments.shared.units import Unit
from segxai_jax.models import UNetConfig, count_flops, count_params
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """Checks of fields together and against the teacher's layers."""
    cam_nas.check_student_sections(
        settings.budget,
        settings.space,
        settings.student_train,
        settings.probe,
        teacher_probe_names(settings.teacher, workdir or ""),
    )
    if settings.probe.num_images < 2 and "relation_init" in settings.proxies:
        raise ValueError(
            "config.probe.num_images: relation_init compares samples, expected "
            f">= 2, got {settings.probe.num_images}"
        )
    return settings


def _probe_batch(options, data, teacher_model, teacher_params):
    """The first probe images and the teacher's largest predicted digit ROIs."""
    split, count = data[options.probe.split], options.probe.num_images
    images = jnp.asarray(split["image"][:count])
    apply = jax.jit(
        jax.vmap(lambda p, x: teacher_model.apply({"params": p}, x[None])[0], (None, 0))
    )
    predicted = np.asarray(apply(teacher_params, images).argmax(-1))
    targets = largest_digit_targets(
        predicted, split["mask"][:count], data["spec"].num_classes
    )
    return images, targets


# The study in units (see experiments.shared.study): the proxy scores of all
# sampled architectures (one unit: batched supernet calls) and one unit per
# trained architecture. The sample is fixed by the shared config (space,
# budget, num_architectures, seed), so a unit is named by its index.
NAME = "nas_proxies"
AXES = ()
PRESENTATION = ()
# What each kind of unit depends on: the proxy scores not on the students'
# recipe, a trained student not on the proxies' probe and warm-up. A short
# recipe can therefore change (in a new units_dir, with proxies.json copied
# over) without recomputing the proxy scores.
_SAMPLE = ("seed", "data", "teacher", "space", "budget", "num_architectures")
DEPENDS = {
    "proxies": (*_SAMPLE, "probe", "warmup", "proxies", "population_chunk"),
    "student": (*_SAMPLE, "student_train", "eval"),
}


def units(settings: Config) -> list[Unit]:
    """The proxy scores, one unit per sampled architecture, and one per
    calibration student (a full-recipe run trained again with the short
    recipe)."""
    proxies = [Unit("proxies", {"scores": "all architectures"}, kind="proxies")]
    students = [
        Unit(f"arch{index:03d}", {"index": index}, kind="student")
        for index in range(settings.num_architectures)
    ]
    # The calibration runs before the remaining students: it says whether the
    # short recipe ranks students as the full one does at all.
    return proxies + calibration_units(settings.calibration_source) + students


def calibration_units(source: str) -> list[Unit]:
    """One unit per trained student of ``source`` (a study's results.json)."""
    if not source:
        return []
    path = Path(source)
    try:
        runs = json.loads(path.read_text())["runs"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            f"config.calibration_source: expected a results.json with 'runs' "
            f"(e.g. experiments/cam_nas/results.json), got {source!r} ({error})"
        ) from error
    out = []
    for method, entries in runs.items():
        for entry in entries:
            settings = {
                "source": f"{method}/seed{entry['seed']}",
                "config": entry["config"],
                "seed": entry["seed"],
                "full_recipe_miou": entry["miou"],
            }
            name = f"calib-{method}-s{entry['seed']}"
            # The same short recipe as a sampled student: the same cost kind.
            out.append(Unit(name, settings, kind="student"))
    return out


def prepare(settings: Config, workdir, timer) -> dict:
    """Data, teacher, space, budget, the probe batch and the sampled genomes."""
    with timer("data"):
        data = load_data(settings.data)
    with timer("teacher"):
        teacher_model, teacher_params, teacher = resolve_teacher(
            settings.teacher, settings.data, data, workdir, seed=settings.seed
        )
    teacher_config = teacher_model.config
    teacher["test_scores"] = teacher_scores(
        teacher_model, teacher_params, data["test"], data["spec"].num_classes
    )
    teacher["params"] = count_params(teacher_config)
    image_size = int(data["test"]["image"].shape[1])
    teacher["flops"] = count_flops(teacher_config, height=image_size, width=image_size)
    space = cam_nas.search_space(settings.space, teacher_config)
    budget = cam_nas.make_budget(settings.budget, teacher_config, space, image_size)
    images, targets = _probe_batch(settings, data, teacher_model, teacher_params)
    setup = measure.Setup(
        proxies=settings.proxies,
        population_chunk=settings.population_chunk,
        probe=settings.probe,
        warmup=settings.warmup,
        student_train=settings.student_train,
        eval=settings.eval,
        space=space,
        budget=budget,
        data=data,
        data_config=config_to_dict(settings.data),
        teacher_model=teacher_model,
        teacher_params=teacher_params,
        probe_images=images,
        probe_targets=targets,
    )
    genomes = measure.sample_architectures(
        space, budget, settings.num_architectures, settings.seed
    )
    return {
        "teacher": teacher,
        "setup": setup,
        "genomes": genomes,
        "image_size": image_size,
        "workdir": Path(workdir),
    }


def run_unit(settings: Config, unit: Unit, context: dict):
    """The proxy scores of every architecture, or one trained architecture."""
    setup, genomes = context["setup"], context["genomes"]
    if _is_calibration(unit):
        config = UNetConfig(**unit.settings["config"])
        folder = context["workdir"] / "calibration" / unit.name
        short = measure.train_student(config, folder, setup, unit.settings["seed"])
        return {**short, "full_recipe_miou": unit.settings["full_recipe_miou"]}, None
    if unit.kind == "proxies":
        scores = measure.proxy_scores(setup, genomes, settings.seed)
        return {k: np.asarray(v).tolist() for k, v in scores.items()}, None
    index = unit.settings["index"]
    student = measure.train_and_score(
        index, genomes[index], setup, context["workdir"], settings.seed
    )
    return student, None


def _parts(records):
    scores, students = None, []
    for record in records:
        if record.unit.kind == "proxies":
            scores = record.result
        elif not _is_calibration(record.unit):
            students.append(record.result)
    return scores, students


def _is_calibration(unit: Unit) -> bool:
    return "full_recipe_miou" in unit.settings


def calibration(settings: Config, records) -> dict | None:
    """Kendall tau / Spearman rho of short-recipe vs full-recipe mIoU."""
    runs = [r.result for r in records if _is_calibration(r.unit)]
    if len(runs) < 3:
        return None
    short = [r["miou"] for r in runs]
    full = [r["full_recipe_miou"] for r in runs]
    boot = dict(resamples=settings.bootstrap.resamples, seed=settings.seed)
    agreement = rank_correlations({"short_recipe": short}, full, **boot)
    distinct = {json.dumps(r["config"], sort_keys=True) for r in runs}
    return {
        "source": settings.calibration_source,
        "students": len(runs),
        "architectures": len(distinct),
        "short_vs_full": agreement["short_recipe"],
        "short_miou": short,
        "full_miou": full,
    }


def aggregate(settings: Config, records) -> dict:
    """Rank correlations of every proxy with the finished students' mIoU."""
    scores, students = _parts(records)
    if scores is None or len(students) < 3:
        return {"correlations": {}, "students": students, "proxies": scores}
    done = [s["index"] for s in students]
    scores = {k: [v[i] for i in done] for k, v in scores.items()}
    miou = [s["miou"] for s in students]
    boot = dict(resamples=settings.bootstrap.resamples, seed=settings.seed)
    reference = "params" if "params" in scores else None
    correlations = rank_correlations(scores, miou, reference=reference, **boot)
    if "seg_grad_cam_init" in scores:
        against_cam_nas = rank_correlations(
            scores, miou, reference="seg_grad_cam_init", **boot
        )
        for name, entry in against_cam_nas.items():
            if "tau_minus_reference" in entry:
                correlations[name]["tau_minus_cam_nas"] = entry["tau_minus_reference"]
    return {"correlations": correlations, "students": students, "proxies": scores}


def findings(aggregated: dict, settings: Config):
    del settings
    if not aggregated["correlations"]:
        return []
    return evaluate_findings(aggregated["correlations"])


def figures(workdir, settings: Config, records, context: dict) -> dict:
    del context
    aggregated = aggregate(settings, records)
    if not aggregated["correlations"]:
        return {}
    return reporting.make_figures(
        Path(workdir),
        aggregated["proxies"],
        aggregated["students"],
        aggregated["correlations"],
    )


def results(settings: Config, aggregated: dict, records, context: dict) -> dict:
    setup, image_size = context["setup"], context["image_size"]
    hand = cam_nas.hand_designed(setup.teacher_model.config, setup.budget)
    return {
        "teacher": context["teacher"],
        "space": dataclasses.asdict(setup.space),
        "budget": dataclasses.asdict(setup.budget),
        "hand_designed": {
            "config": dataclasses.asdict(hand),
            "params": count_params(hand),
            "flops": count_flops(hand, height=image_size, width=image_size),
        },
        "students": aggregated["students"],
        "proxies": aggregated["proxies"],
        "summary": {
            "correlations": aggregated["correlations"],
            **({"calibration": cal} if (cal := calibration(settings, records)) else {}),
        },
    }


def report(completed: dict) -> str:
    return reporting.report_markdown(completed)


def run(settings: Config, workdir, *, minutes: float | None = None) -> dict:
    """Runs the missing units of the proxy study; returns results.json."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
