"""Foreground vs background deactivation per layer (Seg-Ablation-CAM study).

Command::

    python -m experiments.main --config experiments/ablation_regions/config.py \
        --workdir runs/ablation_regions

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training). The study runs in
units, one per (threshold, layer), kept in ``experiments/ablation_regions/units``
as they finish (``units_dir``; ``--minutes M`` for a time budget). Every probe
point of the U-Net, 40 test images, region thresholds 0
(any overlap) and 0.5 (majority).

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (``--config experiments/ablation_regions/config.py:quick``): a
2-epoch (4, 8) teacher trained in ``<workdir>/teacher`` on
``texture_digits/tiny`` and every stage on 4 images. A smoke test, not a
result. Measured runtime: 10 s with a warm compilation cache, 46 s cold (2-core
CPU shared with other jobs).
"""

import dataclasses

from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, TeacherSettings, quick_teacher
from segxai_jax.explainers.ablation import MODES

VARIANTS = ("full", "quick")


@dataclasses.dataclass(frozen=True)
class Config:
    """The study's settings, declared and checked once.

    Attributes:
      num_images: test images explained (the first of the split).
      layers: probe points of the teacher; () = every probe point.
      region_thresholds: ROI share above which a grid cell is foreground
        (0 = any overlap); the first decides the verdict.
      mode / ablation_value / scale: how a region is deactivated (set to
        ``ablation_value``, or multiplied by ``scale``).
      chunk_size: deactivations per vmapped call.
      figure_layer / num_figure_images: what the figures show.
      units_dir: the finished (threshold, layer) units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "ablation_regions"
    seed: int = field(default=0, minimum=0)
    data: DataSettings = DataSettings()
    teacher: TeacherSettings = TeacherSettings()
    num_images: int = field(default=40, minimum=1)
    layers: tuple[str, ...] = ()
    region_thresholds: tuple[float, ...] = field(
        default=(0.0, 0.5), minimum=0.0, below=1.0, min_items=1
    )
    mode: str = field(default="value", choices=MODES)
    ablation_value: float = 0.0
    scale: float = 0.0
    chunk_size: int = field(default=8, minimum=1)
    figure_layer: str = "bottleneck"
    num_figure_images: int = field(default=4, minimum=1)
    units_dir: str = "experiments/ablation_regions/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """A 2-epoch (4, 8) teacher on ``texture_digits/tiny``; 4 images."""
    quick_teacher(config)
    config.num_images = 4
    config.num_figure_images = 2
    config.units_dir = ""
