"""Occlusion fills x patch sizes (Gipiskis & Kurasova, CISTI 2023) on the teacher.

Command::

    python -m experiments.main --config experiments/occlusion_study/config.py \
        --workdir runs/occlusion_study

The teacher is the quickstart's (``runs/quickstart/teacher``); when it is
missing it is trained there first with the quickstart's recipe (about 4 more
minutes). Seven fills, patches 4/8/16 with stride k/2 (961 + 225 + 49 windows),
12 test images: 103,740 forward passes.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (``--config experiments/occlusion_study/config.py:quick``): a
2-epoch (4, 8) teacher trained in ``<workdir>/teacher`` on
``texture_digits/tiny``, then every stage of the full study on 2 images of
32 px with patches 4 and 8. A smoke test, not a result: the tiny teacher barely
segments. Measured runtime: 20 s with a warm compilation cache, 51 s cold
(2-core CPU shared with other jobs).
"""

from ml_collections import config_dict

from experiments.quickstart import config as quickstart

VARIANTS = ("full", "quick")


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "occlusion_study"
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
    config.num_images = 12
    config.fills = (
        "black",
        "white",
        "grey",
        "dataset_mean",
        "image_mean",
        "blur",
        "noise",
    )
    config.patch_sizes = (4, 8, 16)
    config.reference_patch = 8
    config.deletion = config_dict.ConfigDict(
        {"fills": ("black", "blur"), "num_steps": 16}
    )
    # A window counts as "segmented as a digit" above this share of its
    # clean-background pixels.
    config.fake_digit_threshold = 0.25
    config.chunk_size = 16
    config.num_figure_images = 2
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """Occlusion study, tiny: a 2-epoch (4, 8) U-Net on ``texture_digits/tiny``."""
    config.data.config = "tiny"
    config.teacher.workdir = ""
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
    config.num_images = 2
    config.patch_sizes = (4, 8)
    config.reference_patch = 8
    config.deletion.num_steps = 4
    config.num_figure_images = 1
