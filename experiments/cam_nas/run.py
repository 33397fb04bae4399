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
from experiments.cam_nas.findings import evaluate_findings
from experiments.shared.data import load_data
from experiments.shared.nas_fitness import LEARNED
from experiments.shared.options import check_choices, field, from_section
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import (
    resolve_teacher,
    teacher_probe_names,
    teacher_scores,
)
from experiments.shared.units import Unit
from segxai_jax.models import UNetConfig, count_params
from segxai_jax.training import TrainConfig, ensure_writable_dir
from segxai_jax.training.losses import LOSSES

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class SpaceOptions:
    """The students' choices; the rest of a student comes from the teacher."""

    depths: tuple[int, ...] = field()
    widths: tuple[tuple[int, ...], ...] = field()  # per level
    blocks: tuple[int, ...] = field()
    kernels: tuple[int, ...] = field()


@dataclasses.dataclass(frozen=True)
class BudgetOptions:
    """Fractions in (0, 1] of the teacher's parameters and forward FLOPs."""

    params_fraction: float | None = field(default=None)
    flops_fraction: float | None = field(default=None)


@dataclasses.dataclass(frozen=True)
class ProbeOptions:
    """The fitness probe batch: the first images of a split."""

    point: str = field()  # a probe point of the teacher
    num_images: int = field(minimum=1)
    split: str = field(choices=SPLITS)


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    population_size: int = field(minimum=1)
    archive_size: int = field(minimum=1)
    generations: int = field(minimum=1)
    tournament_size: int = field(minimum=1)
    crossover_rate: float = field(minimum=0.0, maximum=1.0)
    immigrant_rate: float = field(minimum=0.0, maximum=1.0)


@dataclasses.dataclass(frozen=True)
class WarmupOptions:
    """The Adam steps of ``cam_nas_warmup`` before its fitness."""

    steps: int = field(minimum=1)
    batch_size: int = field(minimum=1)
    learning_rate: float = field(minimum=0.0)


@dataclasses.dataclass(frozen=True)
class ProxySearchOptions:
    """The fitness of ``proxy_search`` (a learned proxy of the proxy study)."""

    proxy: str = field(choices=LEARNED)


@dataclasses.dataclass(frozen=True)
class StudentTrainOptions:
    """How every winner is trained: the TrainConfig fields but ``seed``."""

    epochs: int = field(minimum=1)
    batch_size: int = field(minimum=1)
    learning_rate: float = field(minimum=0.0)
    warmup_steps: int = field(minimum=0)
    weight_decay: float = field(minimum=0.0)
    loss: str = field(choices=LOSSES)
    eval_batch_size: int = field(minimum=1)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(seed=seed, **dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    """The images the trained students are scored on: the first of a split."""

    num_images: int = field(minimum=1)
    split: str = field(choices=SPLITS)


@dataclasses.dataclass(frozen=True)
class Options:
    """Everything the study reads from its config, checked (see config.py)."""

    methods: tuple[str, ...] = field()
    seeds: tuple[int, ...] = field(minimum=0)
    space: SpaceOptions = field()
    budget: BudgetOptions = field()
    probe: ProbeOptions = field()
    search: SearchOptions = field()
    warmup: WarmupOptions = field()
    student_train: StudentTrainOptions = field()
    eval: EvalOptions = field()
    proxy_search: ProxySearchOptions | None = field(default=None)

    @classmethod
    def from_config(cls, config, workdir=None) -> Options:
        """Checks every field before any data is read or anything is written."""
        options = from_section(
            cls, config, "", ignore=("experiment", "data", "teacher", "units_dir")
        )
        check_choices(options.methods, "methods", measure.METHODS)
        if not options.seeds:
            raise ValueError("config.seeds: expected at least one seed")
        measure.check_budget_fractions(options.budget)
        if "proxy_search" in options.methods and options.proxy_search is None:
            raise ValueError(
                "config.proxy_search.proxy: expected one of "
                f"{LEARNED} when methods include 'proxy_search'"
            )
        measure.search_space(options.space, UNetConfig(num_classes=2))
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
        return options

    def record(self) -> dict:
        """The options as ``results.json`` has always listed them (flat)."""
        return {
            "methods": self.methods,
            "seeds": self.seeds,
            "search": dataclasses.asdict(self.search),
            "params_fraction": self.budget.params_fraction,
            "flops_fraction": self.budget.flops_fraction,
            "point": self.probe.point,
            "num_probe_images": self.probe.num_images,
            "probe_split": self.probe.split,
            "warmup_steps": self.warmup.steps,
            "warmup_batch_size": self.warmup.batch_size,
            "warmup_learning_rate": self.warmup.learning_rate,
            "num_eval_images": self.eval.num_images,
            "eval_split": self.eval.split,
            **(
                {"proxy_search": self.proxy_search.proxy}
                if self.proxy_search is not None
                else {}
            ),
        }


def _setup(options, data, teacher_model, teacher_params, teacher_dir, config):
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
        options=options,
        teacher_model=teacher_model,
        teacher_params=teacher_params,
        space=space,
        budget=budget,
        data=data,
        data_config=config.data.to_dict(),
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


def units(opts: Options) -> list[Unit]:
    """One unit per (seed, method), seed-major.

    The teacher, when trained here, is trained with the first seed: it is part
    of every unit's settings.
    """
    return [
        Unit(
            f"seed{seed}-{method}",
            {"seed": seed, "method": method, "teacher_seed": opts.seeds[0]},
            kind=method,
        )
        for seed in opts.seeds
        for method in opts.methods
    ]


def prepare(config, workdir, timer) -> dict:
    """Data, teacher (with its test scores) and what every method shares."""
    options = Options.from_config(config, workdir)
    with timer("data"):
        data = load_data(config.data)
    spec = data["spec"]
    with timer("teacher"):
        teacher_model, teacher_params, teacher = resolve_teacher(
            config.teacher, config.data, data, workdir, seed=options.seeds[0]
        )
    teacher["test_scores"] = teacher_scores(
        teacher_model, teacher_params, data["test"], spec.num_classes
    )
    teacher["params"] = count_params(teacher_model.config)
    setup = _setup(options, data, teacher_model, teacher_params, teacher["dir"], config)
    return {"config": config, "teacher": teacher, "setup": setup, "workdir": workdir}


def run_unit(opts: Options, unit: Unit, context: dict):
    """Searches with one method and seed, trains and scores the winner."""
    del opts
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


def _runs(opts: Options, records) -> dict:
    runs = {method: [] for method in opts.methods}
    for record in records:
        runs[record.unit.settings["method"]].append(record.result)
    return {method: entries for method, entries in runs.items() if entries}


def aggregate(opts: Options, records) -> dict:
    """Per method: mean and CI over its finished seeds, and the verdicts."""
    runs = _runs(opts, records)
    summary = measure.summarise(runs)
    verdicts, _ = evaluate_findings(runs)
    summary.update(verdicts)
    return {"runs": runs, "summary": summary}


def findings(aggregated: dict, opts: Options):
    del opts
    return evaluate_findings(aggregated["runs"])[1]


def figures(workdir, opts: Options, records, context: dict) -> dict:
    return reporting.make_figures(
        Path(workdir), _runs(opts, records), context["teacher"]
    )


def results(opts: Options, aggregated: dict, records, context: dict) -> dict:
    del records
    setup = context["setup"]
    return {
        "config": context["config"].to_dict(),
        "teacher": context["teacher"],
        "options": opts.record(),
        "space": dataclasses.asdict(setup.space),
        "budget": dataclasses.asdict(setup.budget),
        **aggregated,
    }


def report(completed: dict, opts: Options) -> str:
    return reporting.report_markdown(completed, opts)


def run(config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing (seed, method) units; returns what results.json holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], config, workdir, minutes=minutes)
