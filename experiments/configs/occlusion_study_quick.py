"""Occlusion study, tiny: a 2-epoch (4, 8) U-Net on ``texture_digits/tiny``.

Command::

    python -m experiments.main \
        --config experiments/configs/occlusion_study_quick.py \
        --workdir runs/occlusion_study_quick

Trains its own tiny teacher in ``<workdir>/teacher`` (set
``--config.teacher.workdir`` to use another one), then runs every stage of the
full study on 2 images of 32 px with patches 4 and 8. A smoke test, not a
result: the tiny teacher barely segments. Measured runtime: 20 s with a warm
compilation cache, 51 s cold (2-core CPU shared with other jobs).
"""

from experiments.configs import occlusion_study


def get_config():
    config = occlusion_study.get_config()
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
    return config
