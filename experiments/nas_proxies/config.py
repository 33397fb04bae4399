"""NAS proxies judged as proxies are judged: rank correlation with trained mIoU.

Commands::

    python -m experiments.main --config experiments/nas_proxies/config.py \
        --workdir runs/nas_proxies
    python -m experiments.main --config experiments/nas_proxies/config.py:quick \
        --workdir runs/nas_proxies_quick

The teacher is the quickstart's, committed in
``experiments/shared/teachers/quickstart`` (no training). The study runs in
units: the proxy scores of all sampled architectures (one unit, batched
supernet calls) and one unit per trained architecture, written as they finish
to ``experiments/nas_proxies/units/`` (``units_dir``, committed with the
study); ``--minutes M`` runs the missing units that fit and every invocation
aggregates the finished ones ("N of T units"; correlations over the trained
architectures so far, labelled partial). A student being trained is
checkpointed per epoch in ``<workdir>/students/arch<i>``.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick``: a 2-epoch (4, 8) teacher on ``texture_digits/tiny`` trained in
``<workdir>/teacher``; 4 architectures of a tiny space trained for 1 epoch.
A smoke test, not a result.
"""

from ml_collections import config_dict

from experiments.cam_nas import config as cam_nas

VARIANTS = ("full", "quick")


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = cam_nas.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "nas_proxies"
    config.seed = 0  # draws the architectures, the supernet weights, the students
    config.data = base.data
    config.teacher = base.teacher
    # CAM-NAS's space and budget (a quarter of the teacher's parameters);
    # flops_fraction bounds forward FLOPs as well when set.
    config.space = base.space
    config.budget = config_dict.ConfigDict(
        {"params_fraction": 0.25, "flops_fraction": None}
    )
    config.num_architectures = 48
    config.probe = config_dict.ConfigDict(
        {"point": "bottleneck", "num_images": 8, "split": "validation"}
    )
    config.warmup = base.warmup
    config.proxies = (
        "seg_grad_cam_init",
        "seg_grad_cam_warmup",
        "xgrad_cam_init",
        "xgrad_cam_warmup",
        "seg_ablation_cam_init",
        "seg_ablation_cam_warmup",
        "gradient_init",
        "gradient_warmup",
        "relation_init",
        "zen",
        "params",
        "flops",
    )
    # The proxies are evaluated for this many candidates per compiled call.
    config.population_chunk = 8
    # The short recipe every sampled architecture is trained with: the
    # teacher's, for one epoch (250 steps of 32 images) instead of six.
    config.student_train = base.student_train.copy_and_resolve_references()
    config.student_train.epochs = 1
    config.eval = config_dict.ConfigDict({"split": "test"})
    config.bootstrap = config_dict.ConfigDict({"resamples": 2000})
    # Students trained with the full recipe elsewhere, trained again with the
    # short one: does the short recipe rank them the same way?
    config.calibration_source = "experiments/cam_nas/results.json"
    # The proxy scores and each trained architecture are units, kept here as
    # they finish; "" keeps them in <workdir>/units.
    config.units_dir = "experiments/nas_proxies/units"
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    config.units_dir = ""
    config.calibration_source = ""
    config.data.config = "tiny"
    config.teacher.workdir = ""  # this run's own workdir
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
    config.space.depths = (1,)
    config.space.widths = ((2, 4), (4, 8))
    config.space.kernels = (1, 3)
    config.budget.params_fraction = 0.9
    config.num_architectures = 4
    config.probe.num_images = 2
    config.warmup.steps = 1
    config.warmup.batch_size = 2
    config.population_chunk = 2
    config.student_train.epochs = 1
    config.student_train.batch_size = 16
    config.bootstrap.resamples = 50
