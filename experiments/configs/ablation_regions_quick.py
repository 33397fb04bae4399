"""Ablation region study, tiny: a 2-epoch (4, 8) U-Net on ``texture_digits/tiny``.

Command::

    python -m experiments.main \
        --config experiments/configs/ablation_regions_quick.py \
        --workdir runs/ablation_regions_quick

Trains its own tiny teacher in ``<workdir>/teacher`` (set
``--config.teacher.workdir`` to use another one) and runs every stage on 4
images. A smoke test, not a result. Measured runtime: 10 s with a warm
compilation cache, 46 s cold (2-core CPU shared with other jobs).
"""

from experiments.configs import ablation_regions


def get_config():
    config = ablation_regions.get_config()
    config.data.config = "tiny"
    config.teacher.workdir = ""
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
    config.num_images = 4
    config.num_figure_images = 2
    return config
