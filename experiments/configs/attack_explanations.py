"""Attack on explanations: move each explanation to another image's, output kept.

Command::

    python -m experiments.main \
        --config experiments/configs/attack_explanations.py \
        --workdir runs/attack_explanations

The teacher is the quickstart's (``runs/quickstart/teacher``); when it is
missing it is trained there first with the quickstart's recipe (about 4 more
minutes). Three explainers (vanilla gradient, SmoothGrad with 4 fixed noise
samples, Seg-Grad-CAM at the bottleneck), 3 attack seeds x 8 test images each
(a different subset per seed), target = the explanation of another image of
the batch, Adam, softplus beta 10 -> 100, evaluation with the ReLU model.

Expected runtime and result: see the README section "Attacks on explanations"
(filled in from the measured run).
"""

from ml_collections import config_dict

from experiments.configs import quickstart


def get_config():
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "attack_explanations"
    config.seed = 0  # the teacher's training seed when it is trained here
    config.data = base.data
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "runs/quickstart",
            "train_if_missing": True,
            "model": base.model,
            "train": base.train,
        }
    )
    # Each seed draws its own test images, SmoothGrad noise and random start.
    config.seeds = (0, 1, 2)
    config.num_images = 8
    config.explainers = ("gradient", "smoothgrad", "seg_grad_cam")
    config.target = "other_image"  # or "square", "shifted"
    config.square_size = 16
    config.shift = (16, 16)
    config.smoothgrad = config_dict.ConfigDict({"num_samples": 4, "noise_level": 0.15})
    config.cam_layer = "bottleneck"
    config.attack = config_dict.ConfigDict(
        {
            "num_steps": 200,
            "learning_rate": 3e-3,
            "gamma_explanation": 1e11,
            "gamma_output": 1e6,
            "gamma_input": 0.0,
            "softplus_schedule": (10.0, 100.0),
            # None (--config.attack.linf_budget=None) = no budget.
            "linf_budget": config_dict.FieldReference(16 / 255, field_type=float),
            "random_start": False,
        }
    )
    config.defence = config_dict.ConfigDict(
        {"softplus_beta": 2.0, "smoothgrad_samples": 16, "noise_level": 0.15}
    )
    config.num_figure_images = 3
    return config
