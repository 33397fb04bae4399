"""Context bias: a teacher trained on ``texture_digits/context_bias`` vs unbiased ones.

Command::

    python -m experiments.main --config experiments/context_bias/config.py \
        --workdir runs/context_bias

The biased teacher (the quickstart's U-Net and optimiser, 3 epochs of the
8,000 training images = 750 steps) and a control teacher with the same recipe
on in-memory data from the same generator with context bias 0
(``--config.control=False`` skips it) are loaded from
``experiments/shared/teachers/context_bias_*`` when their recipe matches, else
trained in ``<workdir>/teacher`` and ``<workdir>/control/teacher`` (about 4
minutes each); both are compared with the committed quickstart teacher. The
first run also builds the ``context_bias`` TFDS dataset (9,000 images, ~15 s).
One unit per teacher, kept in ``experiments/context_bias/units``.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (``--config experiments/context_bias/config.py:quick``): in-memory
32 px biased data and (4, 8) U-Nets trained for 2 epochs. Generates a tiny
biased dataset in memory (64 training images, one digit each, family = digit
with probability 0.9), trains the biased teacher, a
reference teacher on ``texture_digits/tiny`` and the unbiased control, and runs
every stage on 8 digit pairs. A smoke test, not a result. Measured runtime:
15 s with a warm compilation cache, 38 s cold (2-core CPU shared with other
jobs).
"""

import dataclasses

from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import (
    DataSettings,
    TeacherSettings,
    TrainSettings,
)

VARIANTS = ("full", "quick")
# Fills that need no options (the context is replaced by one of these).
CONTEXT_FILLS = ("black", "white", "grey", "image_mean", "blur", "noise")


@dataclasses.dataclass(frozen=True)
class BiasedDataSettings:
    """The context-biased TextureDigits: the TFDS config, or (``generate``)
    built in memory from the fields below (the quick config)."""

    name: str = "texture_digits"
    config: str = "context_bias"
    data_dir: str = ""
    generate: bool = False
    image_size: int = field(default=64, minimum=16)
    num_train: int = field(default=8000, minimum=1)
    num_validation: int = field(default=500, minimum=1)
    num_test: int = field(default=500, minimum=1)
    context_bias: float = field(default=0.9, minimum=0.0, maximum=1.0)


@dataclasses.dataclass(frozen=True)
class Config:
    """The context-bias study's settings, declared and checked once.

    Attributes:
      data: the biased data; ``teacher``: the biased teacher (the quickstart
        recipe for 3 epochs, trained in the work directory).
      train_subset: training images used (0 = all).
      reference_data / reference_teacher: the quickstart's teacher on
        unbiased data.
      control: also train the recipe on the same data without the bias.
      num_images: digit pairs rendered on matched / mismatched families.
      num_natural: natural test images of the context measures.
      context_radius / context_fill: the context ring replaced and its fill.
      cam_layer: Seg-Grad-CAM's layer.
      num_figure_images: pairs in the figures.
      units_dir: the finished teacher units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "context_bias"
    seed: int = field(default=0, minimum=0)
    data: BiasedDataSettings = BiasedDataSettings()
    teacher: TeacherSettings = TeacherSettings(
        workdir="", train=TrainSettings(epochs=3)
    )
    train_subset: int = field(default=0, minimum=0)
    reference_data: DataSettings = DataSettings()
    reference_teacher: TeacherSettings = TeacherSettings()
    control: bool = True
    num_images: int = field(default=100, minimum=1)
    num_natural: int = field(default=500, minimum=1)
    context_radius: int = field(default=8, minimum=0)
    context_fill: str = field(default="blur", choices=CONTEXT_FILLS)
    cam_layer: str = "bottleneck"
    num_figure_images: int = field(default=3, minimum=1)
    units_dir: str = "experiments/context_bias/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """Context bias, tiny: in-memory 32 px biased data, (4, 8) U-Nets, 2 epochs."""
    config.units_dir = ""
    config.data.generate = True
    config.data.image_size = 32
    config.data.num_train = 64
    config.data.num_validation = 16
    config.data.num_test = 16
    for teacher in (config.teacher, config.reference_teacher):
        teacher.model.widths = (4, 8)
        teacher.train.epochs = 2
        teacher.train.batch_size = 16
    config.reference_data.config = "tiny"
    config.reference_teacher.workdir = ""
    config.control = True
    config.num_images = 8
    config.num_natural = 16
    config.context_radius = 4
    config.num_figure_images = 2
