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

from ml_collections import config_dict

from experiments.quickstart import config as quickstart

VARIANTS = ("full", "quick")


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "ablation_regions"
    config.seed = 0
    config.data = base.data
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "runs/quickstart",
            "train_if_missing": True,
            "model": base.teacher.model,
            "train": base.teacher.train,
        }
    )
    config.num_images = 40
    config.layers = ()  # () = every probe point of the model
    # Primary threshold first (the finding's verdict uses it).
    config.region_thresholds = (0.0, 0.5)
    config.mode = "value"
    config.ablation_value = 0.0
    config.scale = 0.0
    config.chunk_size = 8
    config.figure_layer = "bottleneck"
    config.num_figure_images = 4
    # One unit per (threshold, layer); "" keeps them in <workdir>/units.
    config.units_dir = "experiments/ablation_regions/units"
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """A 2-epoch (4, 8) teacher on ``texture_digits/tiny``; 4 images."""
    config.data.config = "tiny"
    config.teacher.workdir = ""
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
    config.num_images = 4
    config.num_figure_images = 2
    config.units_dir = ""
