"""Attack on explanations: move each explanation to another image's, output kept.

Command::

    python -m experiments.main \
        --config experiments/attack_explanations/config.py \
        --workdir runs/attack_explanations [--minutes 25]

The study runs in units, one per (seed, explainer), written as they finish to
``experiments/attack_explanations/units/`` (``units_dir``; committed with the
study): ``--minutes`` runs the missing units that fit in the budget, and every
invocation aggregates all finished units into the work directory's
``results.json`` and ``report.md`` ("N of T units"). Seeds added to
``seeds`` run only the new units.

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training); without it, it is
loaded from ``runs/quickstart/teacher`` or trained there first with the
quickstart's recipe (about 4-7 more minutes).

Three explainers (vanilla gradient, SmoothGrad with 4 fixed noise samples,
Seg-Grad-CAM at the bottleneck), 3 attack seeds x 8 test images each (a
different subset per seed), target = the explanation of another image of
the batch, Adam, softplus beta 10 -> 100, evaluation with the ReLU model.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (``--config experiments/attack_explanations/config.py:quick``): a
2-epoch (4, 8) teacher trained in ``<workdir>/teacher`` on
``texture_digits/tiny``; 1 seed x 2 images, 3 attack steps per explainer. A
smoke test, not a result. Measured runtime on the 2-core CPU shared with other
jobs: 12 s with a warm compilation cache for the gradient alone, about 2 min for
its smoke test with an empty cache (load 5-6; compiling the three
double-backward attack programs dominates).
"""

import dataclasses

from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, TeacherSettings, quick_teacher
from segxai_jax.attacks import AttackConfig

VARIANTS = ("full", "quick")
EXPLAINERS = ("gradient", "smoothgrad", "seg_grad_cam")
TARGETS = ("other_image", "square", "shifted")


@dataclasses.dataclass(frozen=True)
class SmoothGradSettings:
    """The attacked SmoothGrad: fixed noise samples and their level."""

    num_samples: int = field(default=4, minimum=1)
    noise_level: float = field(default=0.15, minimum=0.0)


@dataclasses.dataclass(frozen=True)
class DefenceSettings:
    """The re-explanations of the attacked image (softplus model, SmoothGrad)."""

    softplus_beta: float = field(default=2.0, minimum=0.0)
    smoothgrad_samples: int = field(default=16, minimum=1)
    noise_level: float = field(default=0.15, minimum=0.0)


@dataclasses.dataclass(frozen=True)
class Config:
    """The attack study's settings, declared and checked once.

    Attributes:
      seed: the teacher's training seed when it is trained here.
      seeds: attack seeds; each draws its own test images, SmoothGrad noise
        and random start.
      num_images: attacked test images per seed.
      explainers: the attacked explanations.
      target: the target map: another image's map, a square or the own map
        shifted by ``shift``.
      square_size / shift: the square and shifted targets' geometry (pixels).
      cam_layer: Seg-Grad-CAM's layer.
      attack: the attack (:class:`segxai_jax.attacks.AttackConfig`);
        ``linf_budget=None`` = no budget.
      units_dir: the finished (seed, explainer) units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "attack_explanations"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    seeds: tuple[int, ...] = field(
        default=(0, 1, 2), minimum=0, min_items=1, distinct=True
    )
    num_images: int = field(default=8, minimum=1)
    explainers: tuple[str, ...] = field(
        default=EXPLAINERS, choices=EXPLAINERS, min_items=1, distinct=True
    )
    target: str = field(default="other_image", choices=TARGETS)
    square_size: int = field(default=16, minimum=1)
    shift: tuple[int, ...] = (16, 16)
    smoothgrad: SmoothGradSettings = SmoothGradSettings()
    cam_layer: str = "bottleneck"
    attack: AttackConfig = AttackConfig(
        num_steps=200,
        learning_rate=3e-3,
        gamma_explanation=1e11,
        gamma_output=1e6,
        gamma_input=0.0,
        softplus_schedule=(10.0, 100.0),
        linf_budget=16 / 255,
        random_start=False,
    )
    defence: DefenceSettings = DefenceSettings()
    num_figure_images: int = field(default=3, minimum=0)
    units_dir: str = "experiments/attack_explanations/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """A 2-epoch (4, 8) teacher on ``texture_digits/tiny``; 3 attack steps."""
    quick_teacher(config)
    config.seeds = (0,)
    config.num_images = 2
    config.smoothgrad.num_samples = 2
    config.attack.num_steps = 3
    config.attack.linf_budget = 0.05
    config.defence.smoothgrad_samples = 3
    config.num_figure_images = 2
    config.units_dir = ""
