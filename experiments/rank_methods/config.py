"""Rank methods: which explainer is best for segmentation, by cost AND quality.

Commands (the full run reuses the quickstart's teacher and trains one there
with the quickstart's recipe if it is missing; ``quick`` trains a small
teacher on the 32-px ``tiny`` dataset in its own workdir)::

    python -m experiments.main --config experiments/rank_methods/config.py \
        --workdir runs/rank_methods [--config.teacher.workdir=runs/quickstart]
    python -m experiments.main --config experiments/rank_methods/config.py:quick \
        --workdir runs/rank_methods_quick

Every method of ``experiments/shared/methods.py`` plus SmoothGrad-Squared, VarGrad and
a seeded random-saliency baseline explains the largest predicted digit of the
first 16 TextureDigits test images (ROI = its predicted region) for 3 seeds;
each map is scored for faithfulness (deletion/insertion AUC, absolute and
relative), localisation against the ground-truth mask, complexity, robustness,
model-parameter randomisation and cost. Writes ``report.md``,
``results.json``, ``deletion_curves.png``, ``insertion_curves.png``,
``cost_vs_deletion.png`` and ``explanations.png``.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (about 1.5 min): 4 test images x 2 seeds of ``tiny`` with a 40-epoch
(8, 16, 32) teacher, fewer curve steps and perturbations. The numbers only
show that the pipeline works; a tiny teacher explains poorly.
"""

import dataclasses

from experiments.shared.methods import MethodSettings
from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, TeacherSettings
from segxai_jax.fills import FILL_KINDS
from segxai_jax.metrics.randomisation import GRANULARITIES
from segxai_jax.region_scores import SCORES

VARIANTS = ("full", "quick")
SPLITS = ("train", "validation", "test")
POSTPROCESSING = ("none", "relu", "abs")

# The random baseline is always added; listing it here is optional.
METHODS = (
    "gradient",
    "gradient x input",
    "integrated gradients",
    "SmoothGrad",
    "SmoothGrad-Squared",
    "VarGrad",
    "Seg-Grad-CAM",
    "HiRes-CAM",
    "XGrad-CAM",
    "Seg-Ablation-CAM",
    "occlusion",
    "Seg-XRes-CAM",
    "Grad-CAM++",
    "LayerCAM",
    "Eigen-CAM",
    "Score-CAM",
    "RISE",
    "mask ablation",
    "random",
)


@dataclasses.dataclass(frozen=True)
class ExplainSettings(MethodSettings):
    """The shared method settings plus timing and the batching of the maps."""

    timing_repeats: int = field(default=3, minimum=1)  # timed calls per method
    batch_chunk_size: int = field(default=0, minimum=0)  # images per vmap; 0 = all


@dataclasses.dataclass(frozen=True)
class FaithfulnessSettings:
    """Deletion / insertion curves."""

    num_steps: int = field(default=32, minimum=1)
    deletion_fill: str = field(default="black", choices=FILL_KINDS)
    insertion_fill: str = field(default="blur", choices=FILL_KINDS)
    # "target": summed logits of the class over the frozen ROI.
    score: str = field(default="target", choices=SCORES)
    step_chunk_size: int = field(default=4, minimum=1)
    pair_chunk_size: int = field(default=4, minimum=1)


@dataclasses.dataclass(frozen=True)
class LocalisationSettings:
    pointing_tolerance: int = field(default=0, minimum=0)


@dataclasses.dataclass(frozen=True)
class RobustnessSettings:
    """Local Lipschitz estimates: the first images (0 = all, capped at
    ``num_images``), samples, radius; original + perturbed inputs explained
    together in chunks; (image, seed) pairs per jitted call."""

    num_images: int = field(default=8, minimum=0)
    num_samples: int = field(default=4, minimum=1)
    radius: float = field(default=0.02, minimum=0.0)
    chunk_size: int = field(default=5, minimum=0)
    pair_chunk_size: int = field(default=4, minimum=1)


@dataclasses.dataclass(frozen=True)
class RandomisationSettings:
    """Model randomisation: the first images (0 = all), the layer groups, and
    images explained together per call (0 = all)."""

    num_images: int = field(default=4, minimum=0)
    granularity: str = field(default="stage", choices=GRANULARITIES)
    chunk_size: int = field(default=0, minimum=0)


@dataclasses.dataclass(frozen=True)
class Config:
    """The ranking's settings, declared and checked once.

    Attributes:
      seed: the teacher's (when it is trained here) and the evaluation keys':
        evaluation seed s uses ``fold_in(key(seed), s)``, s < ``num_seeds``.
      data / teacher: the quickstart's; the data also selects the images.
      split / num_images: the explained images (the first of the split).
      methods: the ranked methods (the random baseline is always added).
      map_postprocess: applied to every map before any metric: "none" (raw
        maps), "relu" or "abs".
      units_dir: the finished method units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "rank_methods"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    split: str = field(default="test", choices=SPLITS)
    num_images: int = field(default=16, minimum=1)
    num_seeds: int = field(default=3, minimum=1)
    methods: tuple[str, ...] = field(default=METHODS, min_items=1)
    map_postprocess: str = field(default="none", choices=POSTPROCESSING)
    explain: ExplainSettings = ExplainSettings()
    faithfulness: FaithfulnessSettings = FaithfulnessSettings()
    localisation: LocalisationSettings = LocalisationSettings()
    robustness: RobustnessSettings = RobustnessSettings()
    randomisation: RandomisationSettings = RandomisationSettings()
    units_dir: str = "experiments/rank_methods/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    config.units_dir = ""
    config.teacher.workdir = ""  # this run's own workdir
    config.data.config = "tiny"
    config.teacher.model.widths = (8, 16, 32)
    # 64 training images: many small steps; the quickstart's weight decay
    # (0.05) keeps such a short run predicting background only.
    config.teacher.train.epochs = 40
    config.teacher.train.batch_size = 8
    config.teacher.train.learning_rate = 2e-2
    config.teacher.train.weight_decay = 1e-4
    config.teacher.train.warmup_steps = 8
    config.num_images = 4
    config.num_seeds = 2
    # The smoke test keeps the first twelve methods (the new ones are
    # exercised by the quickstart's quick config).
    config.methods = METHODS[:11] + ("random",)
    config.explain.rise_masks = 10
    config.explain.segment_cells = 2
    config.explain.smoothgrad_samples = 8
    config.explain.ig_steps = 8
    config.explain.ablation_layer = "enc1"
    config.explain.timing_repeats = 2
    config.faithfulness.num_steps = 16
    config.robustness.num_samples = 3
    config.randomisation.num_images = 2
