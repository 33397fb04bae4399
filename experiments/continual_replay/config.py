"""Replay compression for class-incremental segmentation (full study and quick).

Commands::

    python -m experiments.main --config experiments/continual_replay/config.py \
        --workdir runs/continual_replay [--minutes 25]
    # tiny: a smoke test of the whole pipeline, not a result
    python -m experiments.main \
        --config experiments/continual_replay/config.py:quick \
        --workdir runs/continual_replay_quick

TextureDigits at 32 px generated in memory (1,500 training, 200 test images,
one digit of 16-26 px each), 5 tasks of 2 digits, a (8, 16, 32, 64) U-Net
trained from scratch per run, 6 epochs per task. Strategies: full images,
salient patch (16 x 16 of 32 x 32), salient box (16 x 16 at full resolution
+ the image at 1/4 per side), random box, uniform downsampling at the box's
bytes; bounds: fine-tuning and joint training. Budgets: the bytes of 10, 20
and 50 full exemplars; seeds 0, 1, 2: 51 runs. A random patch control is one
line away (``_strategy("random_patch", "patch", patch_size=16,
placement="random")``); it was left out to fit the CPU time.

The study runs in units, one per (seed, strategy, budget) training run,
written as they finish to ``experiments/continual_replay/units/``
(``units_dir``, committed with the study); ``--minutes`` runs the missing ones
that fit, and every invocation aggregates all finished units ("N of T
units"). A run in progress also checkpoints after every task in
``<workdir>/runs/<name>/`` and resumes there.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick``: 32 training and 8 test images of 16 px, 2 tasks of 5 digits, a
(4, 8) U-Net, 1 epoch per task, one budget, one seed; fine-tuning, full
images and the salient box.
"""

from ml_collections import config_dict

VARIANTS = ("full", "quick")


def _strategy(name, kind, **options):
    return config_dict.ConfigDict({"name": name, "kind": kind, **options})


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = config_dict.ConfigDict()
    config.experiment = "continual_replay"
    config.seeds = (0, 1, 2)
    config.data = config_dict.ConfigDict(
        {
            "image_size": 32,
            "num_train": 1500,
            "num_test": 200,
            "min_digits": 1,
            "max_digits": 1,
            "min_digit_size": 16,
            "max_digit_size": 26,
            "seed": 0,
        }
    )
    config.model = config_dict.ConfigDict(
        {
            "widths": (8, 16, 32, 64),
            "blocks_per_stage": 1,
            "kernel_size": 3,
            "input_norm": "per_image",
            "bottleneck_head": True,
        }
    )
    config.train = config_dict.ConfigDict(
        {
            "epochs_per_task": 6,
            "batch_size": 16,
            "replay_batch_size": 16,
            "learning_rate": 1e-2,
            "weight_decay": 1e-4,
            "loss": "cross_entropy+dice",
            "policy": "reservoir",
            "labelling": "current",
            "saliency_batch_size": 64,
            "eval_batch_size": 100,
        }
    )
    config.classes_per_task = 2
    config.saliency_layer = "bottleneck"
    config.budget_images = (10, 20, 50)
    config.strategies = [
        _strategy("finetune", "finetune"),
        _strategy("joint", "joint"),
        _strategy("full", "full"),
        _strategy("patch", "patch", patch_size=16, placement="salient"),
        _strategy("box", "box", box_size=16, factor=4, placement="salient"),
        _strategy("random_box", "box", box_size=16, factor=4, placement="random"),
        _strategy("downsample", "downsample", box_size=16, factor=4),
    ]
    # Finished runs (units); "" keeps them in <workdir>/units.
    config.units_dir = "experiments/continual_replay/units"
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    config.units_dir = ""
    config.seeds = (0,)
    config.data.image_size = 16
    config.data.num_train = 32
    config.data.num_test = 8
    config.data.max_digits = 2
    config.data.min_digit_size = 8
    config.data.max_digit_size = 12
    config.model.widths = (4, 8)
    config.train.learning_rate = 3e-3
    config.train.epochs_per_task = 1
    config.train.batch_size = 8
    config.train.replay_batch_size = 4
    config.train.saliency_batch_size = 16
    config.classes_per_task = 5
    config.budget_images = (4,)
    names = ("finetune", "full", "box")
    config.strategies = [s for s in config.strategies if s.name in names]
    for s in config.strategies:
        if "box_size" in s:
            s.box_size = 8
            s.factor = 2
