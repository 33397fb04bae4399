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

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from experiments.cam_nas import measure as cam_nas
from experiments.cam_nas.run import (
    BudgetOptions,
    ProbeOptions,
    SpaceOptions,
    StudentTrainOptions,
    WarmupOptions,
)
from experiments.nas_proxies import measure, report
from experiments.nas_proxies.findings import evaluate_findings
from experiments.shared.data import load_data
from experiments.shared.nas_fitness import PROXIES
from experiments.shared.options import check_choices, field, from_section
from experiments.shared.results import Timer, write_json, write_results
from experiments.shared.stats import rank_correlations
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import (
    resolve_teacher,
    teacher_probe_names,
    teacher_scores,
)
from segxai_jax.models import UNetConfig, count_flops, count_params
from segxai_jax.training import ensure_writable_dir

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    split: str = field(choices=SPLITS)  # the trained students are scored on


@dataclasses.dataclass(frozen=True)
class BootstrapOptions:
    resamples: int = field(minimum=10)  # draws of the architectures


@dataclasses.dataclass(frozen=True)
class Options:
    """Everything the study reads from its config, checked (see config.py)."""

    seed: int = field(minimum=0)
    space: SpaceOptions = field()
    budget: BudgetOptions = field()
    num_architectures: int = field(minimum=3)
    probe: ProbeOptions = field()
    warmup: WarmupOptions = field()
    proxies: tuple[str, ...] = field()
    population_chunk: int = field(minimum=1)
    student_train: StudentTrainOptions = field()
    eval: EvalOptions = field()
    bootstrap: BootstrapOptions = field()

    @classmethod
    def from_config(cls, config, workdir=None) -> Options:
        """Checks every field before any data is read or anything is written."""
        options = from_section(
            cls, config, "", ignore=("experiment", "data", "teacher")
        )
        check_choices(options.proxies, "proxies", PROXIES)
        cam_nas.check_budget_fractions(options.budget)
        cam_nas.search_space(options.space, UNetConfig(num_classes=2))
        try:
            options.student_train.train_config(seed=0)
        except (TypeError, ValueError) as error:
            raise ValueError(f"config.student_train: {error}") from error
        points = teacher_probe_names(config.teacher, workdir or "")
        if options.probe.point not in points:
            raise ValueError(
                f"config.probe.point: expected one of {points}, got "
                f"{options.probe.point!r}"
            )
        if options.probe.num_images < 2 and "relation_init" in options.proxies:
            raise ValueError(
                "config.probe.num_images: relation_init compares samples, expected "
                f">= 2, got {options.probe.num_images}"
            )
        return options


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


def _cached_proxies(path, compute) -> dict:
    """The proxy scores of this run folder (``run.json`` fixed the config)."""
    if path.exists():
        return json.loads(path.read_text())
    scores = compute()
    write_json(path, scores)
    return scores


def run(config, workdir) -> dict:
    """Runs the proxy study; returns what is written to ``results.json``."""
    options = Options.from_config(config, workdir)
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()
    with timer("data"):
        data = load_data(config.data)
    with timer("teacher"):
        teacher_model, teacher_params, teacher = resolve_teacher(
            config.teacher, config.data, data, workdir, seed=options.seed
        )
    teacher_config = teacher_model.config
    teacher["test_scores"] = teacher_scores(
        teacher_model, teacher_params, data["test"], data["spec"].num_classes
    )
    teacher["params"] = count_params(teacher_config)
    image_size = int(data["test"]["image"].shape[1])
    teacher["flops"] = count_flops(teacher_config, height=image_size, width=image_size)
    space = cam_nas.search_space(options.space, teacher_config)
    budget = cam_nas.make_budget(options.budget, teacher_config, space, image_size)
    images, targets = _probe_batch(options, data, teacher_model, teacher_params)
    setup = measure.Setup(
        options=options,
        space=space,
        budget=budget,
        data=data,
        data_config=config.data.to_dict(),
        teacher_model=teacher_model,
        teacher_params=teacher_params,
        probe_images=images,
        probe_targets=targets,
    )
    genomes = measure.sample_architectures(
        space, budget, options.num_architectures, options.seed
    )
    with timer("proxies"):
        scores = _cached_proxies(
            workdir / "proxies.json",
            lambda: measure.proxy_scores(setup, genomes, options.seed),
        )
    students = []
    with timer("train_students"):
        for index, genome in enumerate(tqdm(genomes, desc="students", unit="arch")):
            students.append(
                measure.train_and_score(index, genome, setup, workdir, options.seed)
            )
    miou = [s["miou"] for s in students]
    boot = dict(resamples=options.bootstrap.resamples, seed=options.seed)
    reference = "params" if "params" in scores else None
    correlations = rank_correlations(scores, miou, reference=reference, **boot)
    if "seg_grad_cam_init" in scores:
        against_cam_nas = rank_correlations(
            scores, miou, reference="seg_grad_cam_init", **boot
        )
        for name, entry in against_cam_nas.items():
            if "tau_minus_reference" in entry:
                correlations[name]["tau_minus_cam_nas"] = entry["tau_minus_reference"]
    hand = cam_nas.hand_designed(teacher_config, budget)
    summary = {"correlations": correlations}
    findings = evaluate_findings(correlations)
    with timer("figures"):
        figures = report.make_figures(workdir, scores, students, correlations)
    results = {
        "config": config.to_dict(),
        "teacher": teacher,
        "space": dataclasses.asdict(space),
        "budget": dataclasses.asdict(budget),
        "hand_designed": {
            "config": dataclasses.asdict(hand),
            "params": count_params(hand),
            "flops": count_flops(hand, height=image_size, width=image_size),
        },
        "students": students,
        "proxies": scores,
        "summary": summary,
    }
    return write_results(
        workdir,
        results,
        findings=findings,
        figures=figures,
        seconds=timer.seconds,
        report=lambda done: report.report_markdown(done, options),
    )
