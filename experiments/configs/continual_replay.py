"""Replay compression for class-incremental segmentation (full study).

Command::

    python -m experiments.main --config experiments/configs/continual_replay.py \
        --workdir runs/continual_replay

TextureDigits at 32 px generated in memory (1,000 training, 200 test images,
1-2 digits each), 5 tasks of 2 digits, a (8, 16, 32) U-Net trained from
scratch per run, 2 epochs per task. Strategies: full images, salient patch
(16 x 16 of 32 x 32), random patch, salient box (16 x 16 at full resolution +
the image at 1/4 per side), random box, uniform downsampling at the box's
bytes; bounds: fine-tuning and joint training. Budgets: the bytes of 10, 20
and 50 full exemplars; 3 seeds.

Expected runtime and result: see the README section "Continual learning:
replay compression" (filled in from the measured run).
"""

from ml_collections import config_dict


def _strategy(name, kind, **options):
    return config_dict.ConfigDict({"name": name, "kind": kind, **options})


def get_config():
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
    return config
