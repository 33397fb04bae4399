"""Attack on explanations: move each explanation to another image's, output kept.

Command::

    python -m experiments.main \
        --config experiments/attack_explanations/config.py \
        --workdir runs/attack_explanations [--minutes 25]

The study runs in units, one per (seed, explainer), written as they finish to
``experiments/attack_explanations/units/`` (``units_dir``; committed with the
study): ``--minutes`` runs the missing units that fit in the budget, and every
invocation aggregates all finished units into the work directory's
``results.json`` and ``report.md`` ("N of T units"). Seeds added to
``seeds`` run only the new units.

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training); without it, it is
loaded from ``runs/quickstart/teacher`` or trained there first with the
quickstart's recipe (about 4-7 more minutes).

Three explainers (vanilla gradient, SmoothGrad with 4 fixed noise samples,
Seg-Grad-CAM at the bottleneck), 3 attack seeds x 8 test images each (a
different subset per seed), target = the explanation of another image of
the batch, Adam, softplus beta 10 -> 100, evaluation with the ReLU model.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (``--config experiments/attack_explanations/config.py:quick``): a
2-epoch (4, 8) teacher trained in ``<workdir>/teacher`` on
``texture_digits/tiny``; 1 seed x 2 images, 3 attack steps per explainer. A
smoke test, not a result. Measured runtime on the 2-core CPU shared with other
jobs: 12 s with a warm compilation cache for the gradient alone, about 2 min for
its smoke test with an empty cache (load 5-6; compiling the three
double-backward attack programs dominates).
"""

from ml_collections import config_dict

from experiments.quickstart import config as quickstart

VARIANTS = ("full", "quick")


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "attack_explanations"
    config.seed = 0  # the teacher's training seed when it is trained here
    config.data = base.data
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "runs/quickstart",
            "train_if_missing": True,
            "model": base.teacher.model,
            "train": base.teacher.train,
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
    # Finished units; "" keeps them in <workdir>/units.
    config.units_dir = "experiments/attack_explanations/units"
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    """A 2-epoch (4, 8) teacher on ``texture_digits/tiny``; 3 attack steps."""
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
    config.units_dir = ""
