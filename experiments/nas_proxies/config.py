"""NAS proxies judged as proxies are judged: rank correlation with trained mIoU.

Commands::

    python -m experiments.main --config experiments/nas_proxies/config.py \
        --workdir runs/nas_proxies
    python -m experiments.main --config experiments/nas_proxies/config.py:quick \
        --workdir runs/nas_proxies_quick

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training). The study runs in
units: the proxy scores of all sampled architectures (one unit, batched
supernet calls) and one unit per trained architecture, written as they finish
to ``experiments/nas_proxies/units/`` (``units_dir``, committed with the
study); ``--minutes M`` runs the missing units that fit and every invocation
aggregates the finished ones ("N of T units"; correlations over the trained
architectures so far, labelled partial). A student being trained is
checkpointed per epoch in ``<workdir>/students/arch<i>``.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``three_epochs``: the same study with the students trained for 3 epochs (the
1-epoch recipe ranked the calibration students unlike the full one), in
``experiments/nas_proxies/units_three_epochs`` (the proxy unit copied from
``units/``, as it does not depend on the recipe).

``quick``: a 2-epoch (4, 8) teacher on ``texture_digits/tiny`` trained in
``<workdir>/teacher``; 4 architectures of a tiny space trained for 1 epoch.
A smoke test, not a result.
"""

import dataclasses

from experiments.shared.nas_fitness import PROXIES
from experiments.shared.nas_settings import (
    SPLITS,
    BudgetSettings,
    ProbeSettings,
    SpaceSettings,
    StudentTrainSettings,
    WarmupSettings,
    quick_space,
)
from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, TeacherSettings, quick_teacher

VARIANTS = ("full", "three_epochs", "quick")


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    split: str = field(default="test", choices=SPLITS)  # students scored on


@dataclasses.dataclass(frozen=True)
class BootstrapSettings:
    resamples: int = field(default=2000, minimum=10)  # draws of the architectures


@dataclasses.dataclass(frozen=True)
class Config:
    """The proxy study's settings, declared and checked once.

    Attributes:
      seed: draws the architectures, the supernet weights, the students.
      space / budget: CAM-NAS's space and budget (a quarter of the teacher's
        parameters); ``flops_fraction`` bounds forward FLOPs as well when set.
      num_architectures: the architectures sampled (once, from ``seed``).
      probe / warmup: the explanation proxies' batch and warm-up steps.
      proxies: the proxies scored.
      population_chunk: candidates per compiled proxy call.
      student_train: the short recipe every sampled architecture is trained
        with: the teacher's, for one epoch (250 steps of 32 images) instead
        of six.
      eval / bootstrap: the students' test split; bootstrap draws of the CIs.
      calibration_source: a results.json of students trained with the full
        recipe elsewhere, trained again with the short one (does the short
        recipe rank them the same way?); "" = no calibration.
      units_dir: the finished units (proxy scores, each trained
        architecture); "" keeps them in ``<workdir>/units``.
    """

    experiment: str = "nas_proxies"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    space: SpaceSettings = SpaceSettings()
    budget: BudgetSettings = BudgetSettings(params_fraction=0.25)
    num_architectures: int = field(default=48, minimum=3)
    probe: ProbeSettings = ProbeSettings()
    warmup: WarmupSettings = WarmupSettings()
    proxies: tuple[str, ...] = field(
        default=(
            "seg_grad_cam_init",
            "seg_grad_cam_warmup",
            "xgrad_cam_init",
            "xgrad_cam_warmup",
            "seg_ablation_cam_init",
            "seg_ablation_cam_warmup",
            "gradient_init",
            "gradient_warmup",
            "relation_init",
            "zen",
            "params",
            "flops",
        ),
        choices=PROXIES,
        min_items=1,
        distinct=True,
    )
    population_chunk: int = field(default=8, minimum=1)
    student_train: StudentTrainSettings = StudentTrainSettings(epochs=1)
    eval: EvalSettings = EvalSettings()
    bootstrap: BootstrapSettings = BootstrapSettings()
    calibration_source: str = "experiments/cam_nas/results.json"
    units_dir: str = "experiments/nas_proxies/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "three_epochs":
        _three_epochs(config)
    if variant == "quick":
        _quick(config)
    return config


def _three_epochs(config) -> None:
    """The short recipe for 3 epochs (750 steps) instead of 1: the 1-epoch
    students stayed near the background solution and ranked the calibration
    students unlike the full recipe. Its own units; the proxy scores do not
    depend on the recipe, so ``units/proxies.json`` is copied there."""
    config.student_train.epochs = 3
    config.units_dir = "experiments/nas_proxies/units_three_epochs"


def _quick(config) -> None:
    config.units_dir = ""
    config.calibration_source = ""
    quick_teacher(config)
    quick_space(config)
    config.budget.params_fraction = 0.9
    config.num_architectures = 4
    config.population_chunk = 2
    config.bootstrap.resamples = 50
