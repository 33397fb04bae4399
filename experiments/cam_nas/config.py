"""CAM-NAS for segmentation: explanation-matching search vs baselines.

Commands::

    python -m experiments.main --config experiments/cam_nas/config.py \
        --workdir runs/cam_nas
    python -m experiments.main --config experiments/cam_nas/config.py:quick \
        --workdir runs/cam_nas_quick

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training; without it, it is
loaded from ``runs/quickstart/teacher`` or trained there first). Three seeds.
The study runs in units, one per (seed, method): a search and the training of
its winner, written as they finish to ``experiments/cam_nas/units/``
(``units_dir``, committed with the study); ``--minutes M`` runs the missing
units that fit in M minutes and every invocation aggregates all finished units
("N of T units"). While a unit runs, its search and its student are
checkpointed per generation and epoch in the work directory, so a killed run
loses at most one generation or epoch. Seeds added later
(``--config.seeds='(0,1,2,3)'``) run only the new units.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``five_seeds``: seeds 0-4; students bounded by 25 % of the teacher's
parameters AND 25 % of its FLOPs; CAM-NAS (Seg-Grad-CAM at init), the search
with the proxy study's best proxy (``BEST_PROXY``), random search and the
hand-designed student under the same two bounds. Over this space the two
bounds admit 74,224 students and the FLOP bound alone 74,976 (the same
hand-designed student): the combined bound is, to 1 %, the FLOP kind.

``five_seeds_params``: the same comparison under the parameter bound alone
(25 % of the teacher's parameters; 1,038,009 admitted students), units in
``units_five_seeds_params/``.

``quick``: a 2-epoch (4, 8) teacher on ``texture_digits/tiny``, trained in
``<workdir>/teacher``; one seed, 2 generations of 4 candidates, students
trained for 1 epoch. A smoke test, not a result.
"""

import dataclasses

from experiments.shared.nas_fitness import LEARNED
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

VARIANTS = ("full", "five_seeds", "five_seeds_params", "quick")
# The explanation proxy with the largest Kendall tau in experiments/nas_proxies
# (3-epoch recipe, 48 architectures: Seg-Ablation-CAM at init 0.25, XGrad-CAM
# at init 0.238; #params, 0.308, is not an explanation proxy).
BEST_PROXY = "seg_ablation_cam_init"
METHODS = (
    "cam_nas_init",
    "cam_nas_warmup",
    "random_search",
    "zen_proxy",
    "proxy_search",
    "hand_designed",
)


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """The evolutionary search."""

    population_size: int = field(default=16, minimum=1)
    archive_size: int = field(default=8, minimum=1)
    generations: int = field(default=6, minimum=1)
    tournament_size: int = field(default=3, minimum=1)
    crossover_rate: float = field(default=0.2, minimum=0.0, maximum=1.0)
    immigrant_rate: float = field(default=0.1, minimum=0.0, maximum=1.0)


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    """The images the trained students are scored on: the first of a split."""

    num_images: int = field(default=32, minimum=1)
    split: str = field(default="test", choices=SPLITS)


@dataclasses.dataclass(frozen=True)
class ProxySearchSettings:
    """The fitness of ``proxy_search`` (a learned proxy of the proxy study)."""

    proxy: str = field(default=BEST_PROXY, choices=LEARNED)


@dataclasses.dataclass(frozen=True)
class Config:
    """The CAM-NAS study's settings, declared and checked once.

    Attributes:
      seeds: search and student-training seeds; the teacher (when it is
        trained here) is trained with the first.
      space / budget: the students (per level: the teacher's width and two
        narrower choices) and their bound (a quarter of the teacher's
        parameters).
      probe / warmup: the fitness batch and the warm-up steps.
      search: the evolutionary search.
      methods: the compared searches and the hand-designed student.
      student_train: how every winner is trained (the teacher's recipe).
      eval: the images the winners are scored on.
      proxy_search: the fitness of ``proxy_search`` (absent unless used).
      units_dir: the finished (seed, method) units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "cam_nas"
    seeds: tuple[int, ...] = field(
        default=(0, 1, 2), minimum=0, min_items=1, distinct=True
    )
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    space: SpaceSettings = SpaceSettings()
    budget: BudgetSettings = BudgetSettings()
    probe: ProbeSettings = ProbeSettings()
    search: SearchSettings = SearchSettings()
    warmup: WarmupSettings = WarmupSettings()
    methods: tuple[str, ...] = field(
        default=(
            "cam_nas_init",
            "cam_nas_warmup",
            "random_search",
            "zen_proxy",
            "hand_designed",
        ),
        choices=METHODS,
        min_items=1,
        distinct=True,
    )
    student_train: StudentTrainSettings = StudentTrainSettings()
    eval: EvalSettings = EvalSettings()
    proxy_search: ProxySearchSettings | None = None
    units_dir: str = "experiments/cam_nas/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant in ("five_seeds", "five_seeds_params"):
        _five_seeds(config)
    if variant == "five_seeds_params":
        config.units_dir = "experiments/cam_nas/units_five_seeds_params"
        config.budget.flops_fraction = None
    if variant == "quick":
        _quick(config)
    return config


def _five_seeds(config) -> None:
    """Five seeds, a parameter AND a FLOP budget, the proxy study's best proxy."""
    config.units_dir = "experiments/cam_nas/units_five_seeds"
    config.seeds = (0, 1, 2, 3, 4)
    config.budget.flops_fraction = 0.25
    config.methods = ("cam_nas_init", "proxy_search", "random_search", "hand_designed")
    config.proxy_search = to_config_dict(ProxySearchSettings(proxy=BEST_PROXY))


def _quick(config) -> None:
    config.units_dir = ""
    config.seeds = (0,)
    quick_teacher(config)
    quick_space(config)
    config.budget.params_fraction = 0.6
    config.search.population_size = 4
    config.search.archive_size = 2
    config.search.generations = 2
    config.eval.num_images = 4
