"""Context bias: a teacher trained on ``texture_digits/context_bias`` vs unbiased ones.

Command::

    python -m experiments.main --config experiments/context_bias/config.py \
        --workdir runs/context_bias

Trains the biased teacher (the quickstart's U-Net and optimiser, 3 epochs of
the 8,000 training images = 750 steps) in ``<workdir>/teacher`` and a control
teacher with the same recipe on in-memory data from the same generator with
context bias 0 (``<workdir>/control/teacher``; ``--config.control=False``
skips it), and compares both with the quickstart teacher
(``runs/quickstart/teacher``; trained there first with the quickstart's recipe
when missing, about 4 more minutes). The first run also builds the
``context_bias`` TFDS dataset (9,000 images, ~15 s). Teachers resume from
their checkpoints, so a second run only measures (~1 minute).

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

from ml_collections import config_dict

from experiments.quickstart import config as quickstart

VARIANTS = ("full", "quick")


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "context_bias"
    config.seed = 0
    # generate=True builds the biased data in memory from the fields below
    # instead of loading the TFDS config (used by the quick config).
    config.data = config_dict.ConfigDict(
        {
            "name": "texture_digits",
            "config": "context_bias",
            "data_dir": "",
            "generate": False,
            "image_size": 64,
            "num_train": 8000,
            "num_validation": 500,
            "num_test": 500,
            "context_bias": 0.9,
        }
    )
    train = base.teacher.train.copy_and_resolve_references()
    train.epochs = 3
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "",
            "train_if_missing": True,
            "model": base.teacher.model,
            "train": train,
        }
    )
    config.train_subset = 0  # 0 = every training image
    config.reference_data = base.data
    config.reference_teacher = config_dict.ConfigDict(
        {
            "workdir": "runs/quickstart",
            "train_if_missing": True,
            "model": base.teacher.model,
            "train": base.teacher.train,
        }
    )
    config.control = True
    config.num_images = 100
    config.num_natural = 500
    config.context_radius = 8
    config.context_fill = "blur"
    config.cam_layer = "bottleneck"
    config.num_figure_images = 3
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """Context bias, tiny: in-memory 32 px biased data, (4, 8) U-Nets, 2 epochs."""
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
