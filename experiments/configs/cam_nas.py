"""CAM-NAS for segmentation: explanation-matching search vs baselines.

Command::

    python -m experiments.main --config experiments/configs/cam_nas.py \
        --workdir runs/cam_nas

The teacher is the quickstart's (``runs/quickstart/teacher``; trained there
first with the quickstart's recipe when missing, about 4 more minutes). One
seed by default; ``--config.seeds='(0,1,2)'`` gives the three-seed table with
confidence intervals (three times the runtime; searches and student trainings
of a seed are checkpointed and resumed, so seeds can be added later).

Expected runtime (measured, one seed, quickstart teacher already trained):
about 28 min on the 2-core CPU while other jobs kept the load average at 8-12;
the five 3-epoch student trainings took ~15 min of it, the warm-up search
~2.7 min, each other search 3-35 s. Alone an epoch of these students takes
roughly 10-15 s, so expect about 7-10 min.

Expected result (seed 0, budget 25 % of the teacher's 121,798 parameters,
6 generations x 16 candidates per search, students trained 3 epochs, test
split): the CAM-NAS fitness prefers small students: the init-fitness winner
has 6,446 parameters (test mIoU 0.139), the warm-up winner 3,338 (0.104),
random search with the same fitness 12,014 (0.290), the Zen-like proxy 8,278
(0.121), the teacher with widths x 0.48 (4, 8, 16, 31), 30,074 (0.699, and the
highest explanation similarity to the teacher: 0.143 vs 0.047-0.062). The
hypothesis "CAM-NAS winner >= random-search winner in mIoU" is not reproduced
in this run (one seed; the students are trained briefly).
"""

from ml_collections import config_dict

from experiments.configs import quickstart


def get_config():
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "cam_nas"
    config.seeds = (0,)  # (0, 1, 2) for confidence intervals: see above
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
