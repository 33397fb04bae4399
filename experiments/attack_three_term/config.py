"""The three-term attack on explanations, as the seed paper describes it.

Command::

    python -m experiments.main \
        --config experiments/attack_three_term/config.py \
        --workdir runs/attack_three_term --minutes 25

The seed paper (its reference [7]) describes the attack by "a three-term loss
function which ensures that the perceptible noise is not introduced in the
input, that the output is not significantly changed, and that the generated
explanation is close to the targeted one": here ``gamma_input > 0`` for every
attack, with and without an L-inf budget (``budgets``), towards three kinds of
target map (another image's map, a square, the own map shifted), for the
vanilla gradient, SmoothGrad (fresh noise at every attack step:
``smoothgrad.fresh_noise``) and Seg-Grad-CAM.

Phases: ``short`` (``attack.num_steps`` = 200 steps) over ``seeds`` x
``num_images`` test images, every (budget, target, explainer); ``long``
(``long_steps`` = 1500, Dombrowski et al.'s recipe length) on the images of
``long_seeds`` for the ``long_budgets``; ``gradient_free`` (below). Each
(phase, budget, target, explainer, seed) is a unit, written to ``units_dir``
as it finishes; short units run first, then the gradient-free ones, then the
long ones.

Every unit also scores three training-free detectors on its clean and
attacked images (the disagreement of the attacked explanation with a
re-explanation: softplus model, SmoothGrad, Seg-Ablation-CAM), so that
detection AUROCs come from the same committed units.

The ``gradient_free`` phase attacks the perturbation-based explainers
(Seg-Ablation-CAM, occlusion with 16-pixel windows at stride 8) with the same
three-term loss minimised by an evolution strategy
(:func:`segxai_jax.attacks.gradient_free_attack`): coarse settings, 60 steps
of 8 antithetic pairs on a 16x16 direction grid, because every loss value
costs the explainer's forward passes (about 10 s per step for 8 images on the
2-core CPU, measured with 16 pairs: 20 s).

``quick``: a 2-epoch (4, 8) teacher on ``texture_digits/tiny``, one seed of
two images, the gradient only, 3 short and 4 long steps, occlusion attacked
for 2 gradient-free steps. A smoke test.
"""

import dataclasses

from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, TeacherSettings, quick_teacher
from segxai_jax.attacks import AttackConfig

VARIANTS = ("full", "quick")
EXPLAINERS = ("gradient", "smoothgrad", "seg_grad_cam")
GRADIENT_FREE = ("seg_ablation_cam", "occlusion")  # perturbation-based
ALL_EXPLAINERS = (*EXPLAINERS, *GRADIENT_FREE)
TARGETS = ("other_image", "square", "shifted")
BUDGETS = ("none", "linf")


@dataclasses.dataclass(frozen=True)
class SmoothGradSettings:
    """The attacked SmoothGrad.

    Attributes:
      num_samples: noise samples per explanation (per attack step).
      noise_level: noise std as a fraction of the input range.
      fresh_noise: draw new noise at every attack step (the attacker must
        move the expectation, not fit one set of samples).
    """

    num_samples: int = field(default=8, minimum=1)
    noise_level: float = field(default=0.15, minimum=0.0)
    fresh_noise: bool = True


@dataclasses.dataclass(frozen=True)
class DefenceSettings:
    """Re-explanations: the defences of the attack report and the detectors."""

    softplus_beta: float = field(default=2.0, minimum=0.0)
    smoothgrad_samples: int = field(default=16, minimum=1)
    noise_level: float = field(default=0.15, minimum=0.0)


@dataclasses.dataclass(frozen=True)
class GradientFreeSettings:
    """The gradient-free phase: perturbation-based explainers, evolution strategy.

    Coarse by design (each loss evaluation runs the explainer's forward
    passes): Seg-Ablation-CAM at ``ablation_layer`` and occlusion with
    ``occlusion_patch`` / ``occlusion_stride`` windows.

    Attributes:
      explainers: perturbation-based explainers only (the gradient family is
        attacked through its gradients in the other phases).
      seeds / budgets / targets: the image subsets, budgets and target kinds
        of this phase.
      num_steps / learning_rate: the optimiser's (Adam).
      population / sigma / grid: the search
        (:class:`segxai_jax.attacks.SearchConfig`).
    """

    explainers: tuple[str, ...] = field(
        default=GRADIENT_FREE, choices=ALL_EXPLAINERS, distinct=True
    )
    seeds: tuple[int, ...] = field(default=(0,), minimum=0, distinct=True)
    budgets: tuple[str, ...] = field(default=("linf",), choices=BUDGETS, distinct=True)
    targets: tuple[str, ...] = field(
        default=("square", "other_image"), choices=TARGETS, distinct=True
    )
    num_steps: int = field(default=60, minimum=1)
    learning_rate: float = field(default=1e-2, minimum=0.0)
    population: int = field(default=8, minimum=1)
    sigma: float = field(default=0.01, minimum=0.0)
    grid: int = field(default=16, minimum=1)
    occlusion_patch: int = field(default=16, minimum=1)
    occlusion_stride: int = field(default=8, minimum=1)


@dataclasses.dataclass(frozen=True)
class Config:
    """The three-term attack study's settings, declared and checked once.

    Attributes:
      seed: the teacher's training seed when it is trained here.
      seeds: image subsets of the short phase (the subsets of
        ``attack_explanations``: the same seed draws the same test images).
      num_images: test images per seed.
      explainers / targets / budgets: the grid of the short phase; budget
        ``"none"`` attacks without an L-inf ball (the input term alone keeps
        the change small), ``"linf"`` within ``attack.linf_budget``.
      long_seeds / long_budgets / long_steps: the long phase.
      gradient_free: the phase that attacks perturbation-based explainers
        without gradients (:class:`GradientFreeSettings`).
      attack: the short phase's attack; its ``linf_budget`` is used by the
        ``"linf"`` units only.
      units_dir: the finished units; "" keeps them in ``<workdir>/units``.
    """

    experiment: str = "attack_three_term"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    seeds: tuple[int, ...] = field(
        default=(0, 1, 2), minimum=0, min_items=1, distinct=True
    )
    num_images: int = field(default=8, minimum=2)
    explainers: tuple[str, ...] = field(
        default=EXPLAINERS, choices=ALL_EXPLAINERS, min_items=1, distinct=True
    )
    targets: tuple[str, ...] = field(
        default=TARGETS, choices=TARGETS, min_items=1, distinct=True
    )
    budgets: tuple[str, ...] = field(
        default=BUDGETS, choices=BUDGETS, min_items=1, distinct=True
    )
    long_seeds: tuple[int, ...] = field(default=(0,), minimum=0, distinct=True)
    long_budgets: tuple[str, ...] = field(
        default=("none",), choices=BUDGETS, distinct=True
    )
    long_steps: int = field(default=1500, minimum=1)
    square_size: int = field(default=16, minimum=1)
    shift: tuple[int, ...] = (16, 16)
    smoothgrad: SmoothGradSettings = SmoothGradSettings()
    cam_layer: str = "bottleneck"
    ablation_layer: str = "bottleneck"
    attack: AttackConfig = AttackConfig(
        num_steps=200,
        learning_rate=3e-3,
        gamma_explanation=1e11,
        gamma_output=1e6,
        gamma_input=1e6,
        softplus_schedule=(10.0, 100.0),
        linf_budget=16 / 255,
        random_start=False,
    )
    defence: DefenceSettings = DefenceSettings()
    gradient_free: GradientFreeSettings = GradientFreeSettings()
    units_dir: str = "experiments/attack_three_term/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """A 2-epoch (4, 8) teacher on ``texture_digits/tiny``; a few attack steps."""
    quick_teacher(config)
    config.seeds = (0,)
    config.num_images = 2
    config.explainers = ("gradient",)
    config.targets = ("square",)
    config.smoothgrad.num_samples = 2
    config.attack.num_steps = 3
    config.long_steps = 4
    config.defence.smoothgrad_samples = 2
    config.gradient_free.explainers = ("occlusion",)
    config.gradient_free.targets = ("square",)
    config.gradient_free.num_steps = 2
    config.gradient_free.population = 2
    config.gradient_free.grid = 4
    config.units_dir = ""
