"""Attack on explanations, tiny: a 2-epoch (4, 8) U-Net on ``texture_digits/tiny``.

Command::

    python -m experiments.main \
        --config experiments/configs/attack_explanations_quick.py \
        --workdir runs/attack_explanations_quick

Trains its own tiny teacher in ``<workdir>/teacher`` (set
``--config.teacher.workdir`` to use another one); 1 seed x 2 images, 3 attack
steps per explainer. A smoke test, not a result. Measured runtime on the 2-core
CPU shared with other jobs: 12 s with a warm compilation cache for the
gradient alone, about 2 min for its smoke test with an empty cache (load 5-6;
compiling the three double-backward attack programs dominates).
"""

from experiments.configs import attack_explanations


def get_config():
    config = attack_explanations.get_config()
    config.data.config = "tiny"
    config.teacher.workdir = ""
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
    config.seeds = (0,)
    config.num_images = 2
    config.smoothgrad.num_samples = 2
    config.attack.num_steps = 3
    config.attack.linf_budget = 0.05
    config.defence.smoothgrad_samples = 3
    config.num_figure_images = 2
    return config
