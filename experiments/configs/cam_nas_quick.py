"""CAM-NAS, tiny: a 2-epoch (4, 8) teacher on ``texture_digits/tiny``.

Command::

    python -m experiments.main --config experiments/configs/cam_nas_quick.py \
        --workdir runs/cam_nas_quick

Trains its own tiny teacher in ``<workdir>/teacher``; one seed, 2
generations of 4 candidates, students trained for 1 epoch. A smoke test, not
a result.
"""

from experiments.configs import cam_nas


def get_config():
    config = cam_nas.get_config()
    config.seeds = (0,)
    config.data.config = "tiny"
    config.teacher.workdir = ""
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
    config.space.depths = (1,)
    config.space.widths = ((2, 4), (4, 8))
    config.space.kernels = (1, 3)
    config.budget.params_fraction = 0.6
    config.probe.num_images = 2
    config.search.population_size = 4
    config.search.archive_size = 2
    config.search.generations = 2
    config.warmup.steps = 1
    config.warmup.batch_size = 2
    config.student_train.epochs = 1
    config.student_train.batch_size = 16
    config.eval.num_images = 4
    return config
