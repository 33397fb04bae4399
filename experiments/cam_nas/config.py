"""CAM-NAS for segmentation: explanation-matching search vs baselines.

Commands::

    python -m experiments.main --config experiments/cam_nas/config.py \
        --workdir runs/cam_nas
    python -m experiments.main --config experiments/cam_nas/config.py:quick \
        --workdir runs/cam_nas_quick

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training; without it, it is
loaded from ``runs/quickstart/teacher`` or trained there first). Three seeds.
The study runs in units, one per (seed, method): a search and the training of
its winner, written as they finish to ``experiments/cam_nas/units/``
(``units_dir``, committed with the study); ``--minutes M`` runs the missing
units that fit in M minutes and every invocation aggregates all finished units
("N of T units"). While a unit runs, its search and its student are
checkpointed per generation and epoch in the work directory, so a killed run
loses at most one generation or epoch. Seeds added later
(``--config.seeds='(0,1,2,3)'``) run only the new units.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``five_seeds``: seeds 0-4; students bounded by 25 % of the teacher's
parameters AND 25 % of its FLOPs; CAM-NAS (Seg-Grad-CAM at init), the search
with the proxy study's best proxy (``BEST_PROXY``), random search and the
hand-designed student under the same two bounds.

``quick``: a 2-epoch (4, 8) teacher on ``texture_digits/tiny``, trained in
``<workdir>/teacher``; one seed, 2 generations of 4 candidates, students
trained for 1 epoch. A smoke test, not a result.
"""

from ml_collections import config_dict

from experiments.quickstart import config as quickstart

VARIANTS = ("full", "five_seeds", "quick")
# The proxy with the largest Kendall tau in experiments/nas_proxies (its README).
BEST_PROXY = "xgrad_cam_init"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "cam_nas"
    # Search and student-training seeds; the teacher (when it is trained here)
    # is trained with the first.
    config.seeds = (0, 1, 2)
    config.data = base.data
    # The quickstart's recipe; the teacher is loaded from (or trained in)
    # runs/quickstart/teacher.
    config.teacher = base.teacher
    config.teacher.workdir = "runs/quickstart"
    config.teacher.train_if_missing = True
    # Per level: the teacher's width and two narrower choices.
    config.space = config_dict.ConfigDict(
        {
            "depths": (2, 3),
            "widths": ((4, 6, 8), (8, 12, 16), (16, 24, 32), (32, 48, 64)),
            "blocks": (1, 2),
            "kernels": (3, 5),
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
    # Winners are trained with the teacher's (quickstart's) recipe.
    config.student_train = base.teacher.train.copy_and_resolve_references()
    config.eval = config_dict.ConfigDict({"num_images": 32, "split": "test"})
    # Finished (seed, method) units; "" keeps them in <workdir>/units.
    config.units_dir = "experiments/cam_nas/units"
    if variant == "five_seeds":
        _five_seeds(config)
    if variant == "quick":
        _quick(config)
    return config


def _five_seeds(config) -> None:
    """Five seeds, a parameter AND a FLOP budget, the proxy study's best proxy."""
    config.units_dir = "experiments/cam_nas/units_five_seeds"
    config.seeds = (0, 1, 2, 3, 4)
    config.budget.flops_fraction = 0.25
    config.methods = ("cam_nas_init", "proxy_search", "random_search", "hand_designed")
    config.proxy_search = config_dict.ConfigDict({"proxy": BEST_PROXY})


def _quick(config) -> None:
    config.units_dir = ""
    config.seeds = (0,)
    config.data.config = "tiny"
    config.teacher.workdir = ""  # this run's own workdir
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
