"""Quickstart: build TextureDigits, train a U-Net teacher, evaluate and report.

Commands::

    python -m experiments.main --config experiments/quickstart/config.py \
        --workdir runs/quickstart
    # the same U-Net trained for 30 epochs instead of 6:
    python -m experiments.main --config experiments/quickstart/config.py:long \
        --workdir runs/quickstart_long
    # the same recipe on real pixels (the tiled nuclei image; needs the
    # realdata extra), one run per seed:
    python -m experiments.main --config experiments/quickstart/config.py:nuclei \
        --workdir runs/quickstart_nuclei_seed0 --config.seed=0
    # a smoke test of the whole job on the tiny config (seconds):
    python -m experiments.main --config experiments/quickstart/config.py:quick \
        --workdir /tmp/quickstart_quick

Writes into the work directory: ``report.md``, ``results.json``,
``segmentation.png`` (input / ground truth / prediction), ``training_curve.png``,
``explanations.png``, ``teacher/`` (Orbax checkpoints, ``model.json``,
``train_log.jsonl``).

The teacher recipe (``teacher.model``, ``teacher.train``) is the shared one of
:mod:`experiments.shared.recipe`, which the other experiments load from the
committed teacher (``experiments/shared/teachers/quickstart``) or
``runs/quickstart``.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).
"""

import dataclasses

from experiments.shared.methods import MethodSettings
from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import (
    DataSettings,
    TeacherSettings,
    TrainSettings,
)

VARIANTS = ("full", "long", "nuclei", "quick")
# Epochs per variant: nuclei has 3,016 training tiles (8,000 digit images), so
# more epochs give about as many steps as the digits' 6.
_EPOCHS = {"full": 6, "long": 30, "nuclei": 16, "quick": 2}


@dataclasses.dataclass(frozen=True)
class ExplainSettings(MethodSettings):
    """The shared method settings plus the explained images and timing."""

    num_images: int = field(default=4, minimum=1)
    timing_repeats: int = field(default=3, minimum=1)  # timed calls per method


@dataclasses.dataclass(frozen=True)
class ReportSettings:
    num_figure_images: int = field(default=6, minimum=1)


@dataclasses.dataclass(frozen=True)
class Config:
    """The quickstart's settings, declared and checked once.

    Attributes:
      seed: the teacher's training seed and the explainers' keys.
      data: the dataset (TextureDigits; the ``nuclei`` variant: real pixels).
      teacher: the recipe (``experiments.shared.recipe``), trained in this
        run's own work directory.
      report / explain: the figures and the explained, timed methods.
    """

    experiment: str = "quickstart"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings(workdir="")
    report: ReportSettings = ReportSettings()
    explain: ExplainSettings = ExplainSettings()


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    dataset = "nuclei" if variant == "nuclei" else "texture_digits"
    teacher = TeacherSettings(workdir="", train=TrainSettings(epochs=_EPOCHS[variant]))
    config = to_config_dict(Config(data=DataSettings(name=dataset), teacher=teacher))
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """A smoke test: a 2-epoch (4, 8) U-Net on ``texture_digits/tiny``, two
    images explained with small settings. Its numbers mean nothing."""
    config.data.config = "tiny"
    config.teacher.model.widths = (4, 8)
    config.teacher.train.batch_size = 16
    config.report.num_figure_images = 2
    config.explain.num_images = 2
    config.explain.smoothgrad_samples = 2
    config.explain.ig_steps = 2
    config.explain.ablation_layer = "enc0"
    config.explain.occlusion_patch = 16
    config.explain.occlusion_stride = 16
    config.explain.rise_masks = 10
    config.explain.segment_cells = 2
    config.explain.timing_repeats = 1
