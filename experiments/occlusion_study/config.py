"""Occlusion fills x patch sizes (Gipiskis & Kurasova, CISTI 2023) on the teacher.

Command::

    python -m experiments.main --config experiments/occlusion_study/config.py \
        --workdir runs/occlusion_study

The teacher is the quickstart's (the committed one, found by its recipe).
Seven fills, patches 4/8/16 with stride k/2 (961 + 225 + 49 windows), 12 test
images: 103,740 forward passes. One unit per test image, kept in
``experiments/occlusion_study/units``; ``--minutes M`` runs the missing ones
within M minutes, ``--config.num_images=N`` adds images as new units.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (``--config experiments/occlusion_study/config.py:quick``): a
2-epoch (4, 8) teacher trained in ``<workdir>/teacher`` on
``texture_digits/tiny``, then every stage of the full study on 2 images of
32 px with patches 4 and 8. A smoke test, not a result: the tiny teacher barely
segments. Measured runtime: 20 s with a warm compilation cache, 51 s cold
(2-core CPU shared with other jobs).
"""

import dataclasses

from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, TeacherSettings, quick_teacher
from segxai_jax.explainers import FILL_KINDS

VARIANTS = ("full", "quick")
# Every kind whose substrate does not depend on the patch (one sweep per
# patch size compiles once and takes the substrate as an argument).
SUPPORTED_FILLS = tuple(k for k in FILL_KINDS if k != "patch_mean")


@dataclasses.dataclass(frozen=True)
class DeletionSettings:
    """The deletion curves: the substrates compared and their steps."""

    fills: tuple[str, ...] = field(
        default=("black", "blur"), choices=SUPPORTED_FILLS, min_items=1, distinct=True
    )
    num_steps: int = field(default=16, minimum=1)


@dataclasses.dataclass(frozen=True)
class Config:
    """The occlusion study's settings, declared and checked once.

    Attributes:
      num_images: test images (the first of the split).
      fills: the occlusion substrates compared (at least two).
      patch_sizes: occlusion windows (pixels, >= 2).
      reference_patch: the patch size of the verdicts (one of
        ``patch_sizes``).
      deletion: the deletion curves.
      fake_digit_threshold: a window counts as "segmented as a digit" above
        this share of its clean-background pixels.
      chunk_size: windows per vmapped call.
      num_figure_images: images in the figures.
      units_dir: the finished image units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "occlusion_study"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    num_images: int = field(default=12, minimum=1)
    fills: tuple[str, ...] = field(
        default=(
            "black",
            "white",
            "grey",
            "dataset_mean",
            "image_mean",
            "blur",
            "noise",
        ),
        choices=SUPPORTED_FILLS,
        min_items=2,
        distinct=True,
    )
    patch_sizes: tuple[int, ...] = field(default=(4, 8, 16), minimum=2, min_items=1)
    reference_patch: int = 8
    deletion: DeletionSettings = DeletionSettings()
    fake_digit_threshold: float = field(default=0.25, minimum=0.0, below=1.0)
    chunk_size: int = field(default=16, minimum=1)
    num_figure_images: int = field(default=2, minimum=1)
    units_dir: str = "experiments/occlusion_study/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """Occlusion study, tiny: a 2-epoch (4, 8) U-Net on ``texture_digits/tiny``."""
    quick_teacher(config)
    config.units_dir = ""
    config.num_images = 2
    config.patch_sizes = (4, 8)
    config.reference_patch = 8
    config.deletion.num_steps = 4
    config.num_figure_images = 1
