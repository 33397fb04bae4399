"""Context bias, tiny: in-memory 32 px biased data, (4, 8) U-Nets, 2 epochs.

Command::

    python -m experiments.main --config experiments/configs/context_bias_quick.py \
        --workdir runs/context_bias_quick

Generates a tiny biased dataset in memory (64 training images, one digit
each, family = digit with probability 0.9), trains the biased teacher, a
reference teacher on ``texture_digits/tiny`` and the unbiased control, and runs
every stage on 8 digit pairs. A smoke test, not a result. Measured runtime:
15 s with a warm compilation cache, 38 s cold (2-core CPU shared with other
jobs).
"""

from experiments.configs import context_bias


def get_config():
    config = context_bias.get_config()
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
    return config
