"""Rank methods, quick: a few minutes on a 2-core CPU.

Command::

    python -m experiments.main --config experiments/configs/rank_methods_quick.py \
        --workdir runs/rank_methods_quick

The same pipeline as ``rank_methods.py`` on the 32-px ``texture_digits/tiny``
dataset: unless ``teacher_workdir`` names a quickstart-style work directory, a
small U-Net teacher is trained (or reloaded) in ``<workdir>/teacher`` for a few
epochs, then 4 test images x 2 seeds are scored with fewer curve steps and
perturbations. The numbers only show that the pipeline works; a tiny teacher
explains poorly.

Expected runtime (measured on the 2-core CPU with another training job
running): 82 s with an empty compilation cache (dataset build, teacher
training ~10-25 s, then compile-dominated metric stages), ~70 s warm.
"""

from experiments.configs import rank_methods


def get_config():
    config = rank_methods.get_config()
    config.teacher_workdir = ""  # this run's own workdir
    config.data.config = "tiny"
    config.model.widths = (8, 16, 32)
    # 64 training images: many small steps; the quickstart's weight decay
    # (0.05) keeps such a short run predicting background only.
    config.train.epochs = 40
    config.train.batch_size = 8
    config.train.learning_rate = 2e-2
    config.train.weight_decay = 1e-4
    config.train.warmup_steps = 8
    config.num_images = 4
    config.num_seeds = 2
    config.explain.smoothgrad_samples = 8
    config.explain.ig_steps = 8
    config.explain.ablation_layer = "enc1"
    config.explain.timing_repeats = 2
    config.faithfulness.num_steps = 16
    config.robustness.num_samples = 3
    config.randomisation.num_images = 2
    return config
