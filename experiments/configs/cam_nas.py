"""CAM-NAS for segmentation: explanation-matching search vs baselines.

Command::

    python -m experiments.main --config experiments/configs/cam_nas.py \
        --workdir runs/cam_nas

The teacher is the quickstart's (``runs/quickstart/teacher``; trained there
first with the quickstart's recipe when missing, about 4 more minutes).

Expected runtime and result: filled in from the measured run (see README).
"""

from ml_collections import config_dict

from experiments.configs import quickstart


def get_config():
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "cam_nas"
    config.seeds = (0, 1, 2)
    config.data = base.data
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "runs/quickstart",
            "train_if_missing": True,
            "model": base.model,
            "train": base.train,
        }
    )
    # Per level: the teacher's width and two narrower choices.
    config.space = config_dict.ConfigDict(
        {
            "depths": (2, 3),
            "widths": ((4, 6, 8), (8, 12, 16), (16, 24, 32), (32, 48, 64)),
            "blocks": (1, 2),
            "kernels": (1, 3),
        }
    )
    config.budget = config_dict.ConfigDict({"params_fraction": 0.25})
    config.probe = config_dict.ConfigDict(
        {"point": "bottleneck", "num_images": 8, "split": "validation"}
    )
    config.search = config_dict.ConfigDict(
        {
            "population_size": 16,
            "archive_size": 8,
            "generations": 6,
            "tournament_size": 3,
            "crossover_rate": 0.2,
            "immigrant_rate": 0.1,
        }
    )
    config.warmup = config_dict.ConfigDict(
        {"steps": 4, "batch_size": 8, "learning_rate": 3e-3}
    )
    config.methods = (
        "cam_nas_init",
        "cam_nas_warmup",
        "random_search",
        "zen_proxy",
        "hand_designed",
    )
    # Winners are trained with the quickstart's recipe, shortened.
    config.student_train = base.train.copy_and_resolve_references()
    config.student_train.epochs = 3
    config.eval = config_dict.ConfigDict({"num_images": 32, "split": "test"})
    return config
