"""Replay compression, tiny: a smoke test of the whole pipeline, not a result.

Command::

    python -m experiments.main \
        --config experiments/configs/continual_replay_quick.py \
        --workdir runs/continual_replay_quick

32 training and 8 test images of 16 px, 2 tasks of 5 digits, a (4, 8) U-Net,
1 epoch per task, one budget, one seed; fine-tuning, full images and the
salient box.
"""

from experiments.configs import continual_replay


def get_config():
    config = continual_replay.get_config()
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
    return config
