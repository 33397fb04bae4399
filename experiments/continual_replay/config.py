"""Replay compression for class-incremental segmentation (full study and quick).

Commands::

    python -m experiments.main --config experiments/continual_replay/config.py \
        --workdir runs/continual_replay [--minutes 25]
    # tiny: a smoke test of the whole pipeline, not a result
    python -m experiments.main \
        --config experiments/continual_replay/config.py:quick \
        --workdir runs/continual_replay_quick

TextureDigits at 32 px generated in memory (1,500 training, 200 test images,
one digit of 16-26 px each), 5 tasks of 2 digits, a (8, 16, 32, 64) U-Net
trained from scratch per run, 6 epochs per task. Strategies: full images,
salient patch (16 x 16 of 32 x 32), salient box (16 x 16 at full resolution
+ the image at 1/4 per side), random box, uniform downsampling at the box's
bytes; bounds: fine-tuning and joint training. Budgets: the bytes of 10, 20
and 50 full exemplars; seeds 0, 1, 2: 51 runs. A random patch control is one
line away (``_strategy("random_patch", "patch", patch_size=16,
placement="random")``); it was left out to fit the CPU time.

The study runs in units, one per (seed, strategy, budget) training run,
written as they finish to ``experiments/continual_replay/units/``
(``units_dir``, committed with the study); ``--minutes`` runs the missing ones
that fit, and every invocation aggregates all finished units ("N of T
units"). A run in progress also checkpoints after every task in
``<workdir>/runs/<name>/`` and resumes there.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``pilot64``: the 64 px pilot of the next design (see :func:`_pilot64`).

``quick``: 32 training and 8 test images of 16 px, 2 tasks of 5 digits, a
(4, 8) U-Net, 1 epoch per task, one budget, one seed; fine-tuning, full
images and the salient box.
"""

import dataclasses

import ml_collections

from experiments.shared.options import field, to_config_dict
from segxai_jax.continual import POLICIES
from segxai_jax.continual.compress import KINDS, OUTSIDES, PLACEMENTS
from segxai_jax.training.losses import LOSSES

VARIANTS = ("full", "quick", "pilot64", "sixty_four", "sixty_four_pareto")
BOUNDS = ("finetune", "joint")
FEATURE_REPLAY = ("prototypes",)  # no stored images (STAR-style prototypes)
SALIENCY_METHODS = ("seg_grad_cam", "gradient")  # what places salient windows
PROTOTYPE_SCOPES = ("logits", "head")  # the heads prototypes are replayed to
STRATEGY_KINDS = (*BOUNDS, *KINDS, *FEATURE_REPLAY)


@dataclasses.dataclass(frozen=True)
class StrategySettings:
    """One entry of ``config.strategies``: a bound or a compressor.

    Fields left out (``None``) keep :func:`segxai_jax.continual.make_compressor`'s
    defaults; ``"downsample"`` takes ``box_size`` and ``factor`` of the box
    whose bytes it matches. ``saliency`` is the explainer that places salient
    windows: Seg-Grad-CAM at ``saliency_layer`` (``None``, the default) or
    the vanilla gradient (``"gradient"``, absolute values summed over RGB).
    ``prototype_scope`` is what the ``"prototypes"`` kind replays to
    (:func:`segxai_jax.continual.unet_prototype_replay`): ``"logits"``, both
    1x1 heads (``dec0`` and the bottleneck head), or ``"head"``, the ``dec0``
    head alone (``None``: ``"head"``, what the pilot ran); ``distillation``
    the weight of its feature-maintenance term (``None``: 0, none).
    """

    name: str
    kind: str = field(choices=STRATEGY_KINDS)
    patch_size: int | None = field(minimum=1, default=None)
    box_size: int | None = field(minimum=1, default=None)
    factor: int | None = field(minimum=1, default=None)
    placement: str | None = field(choices=PLACEMENTS, default=None)
    outside: str | None = field(choices=OUTSIDES, default=None)
    saliency: str | None = field(choices=SALIENCY_METHODS, default=None)
    prototype_scope: str | None = field(choices=PROTOTYPE_SCOPES, default=None)
    distillation: float | None = field(minimum=0.0, default=None)


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    """The TextureDigits stream generated in memory (digit sizes 0 / None =
    the generator's default)."""

    image_size: int = field(default=32, minimum=16)
    num_train: int = field(default=1500, minimum=1)
    num_test: int = field(default=200, minimum=1)
    min_digits: int = field(default=1, minimum=1)
    max_digits: int = field(default=1, minimum=1)
    min_digit_size: int | None = field(default=16, minimum=0)
    max_digit_size: int | None = field(default=26, minimum=0)
    seed: int = field(default=0, minimum=0)


@dataclasses.dataclass(frozen=True)
class LearnerSettings:
    """The U-Net (:class:`segxai_jax.models.UNetConfig` fields) of every run."""

    widths: tuple[int, ...] = field(default=(8, 16, 32, 64), minimum=1)
    blocks_per_stage: int = field(default=1, minimum=1)
    kernel_size: int = field(default=3, minimum=1)
    input_norm: str = "per_image"
    bottleneck_head: bool = True


@dataclasses.dataclass(frozen=True)
class StreamTrainSettings:
    """:class:`segxai_jax.continual.ContinualConfig` but the seed."""

    epochs_per_task: int = field(default=6, minimum=1)
    batch_size: int = field(default=16, minimum=1)
    replay_batch_size: int = field(default=16, minimum=1)
    learning_rate: float = field(default=1e-2, minimum=0.0)
    weight_decay: float = field(default=1e-4, minimum=0.0)
    loss: str = field(default="cross_entropy+dice", choices=LOSSES)
    policy: str = field(default="reservoir", choices=POLICIES)
    labelling: str = "current"
    saliency_batch_size: int = field(default=64, minimum=1)
    eval_batch_size: int = field(default=100, minimum=1)


def _box(name, placement):
    return StrategySettings(name, "box", box_size=16, factor=4, placement=placement)


@dataclasses.dataclass(frozen=True)
class Config:
    """The continual replay study's settings, declared and checked once.

    Attributes:
      seeds: training seeds (each run's model init, order and memory).
      data: the generated stream.
      model / train: the learner and its recipe.
      classes_per_task: digits per task (the background is in every task).
      saliency_layer: the probe point of the saliency explainer.
      budget_images: memory budgets in bytes of full exemplars.
      strategies: the bounds and the compressors compared.
      units_dir: the finished (seed, strategy, budget) runs; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "continual_replay"
    seeds: tuple[int, ...] = field(
        default=(0, 1, 2), minimum=0, min_items=1, distinct=True
    )
    data: StreamSettings = StreamSettings()
    model: LearnerSettings = LearnerSettings()
    train: StreamTrainSettings = StreamTrainSettings()
    classes_per_task: int = field(default=2, minimum=1)
    saliency_layer: str = "bottleneck"
    budget_images: tuple[int, ...] = field(
        default=(10, 20, 50), minimum=1, min_items=1, distinct=True
    )
    strategies: tuple[StrategySettings, ...] = field(
        default=(
            StrategySettings("finetune", "finetune"),
            StrategySettings("joint", "joint"),
            StrategySettings("full", "full"),
            StrategySettings("patch", "patch", patch_size=16, placement="salient"),
            _box("box", "salient"),
            _box("random_box", "random"),
            StrategySettings("downsample", "downsample", box_size=16, factor=4),
        ),
        min_items=1,
    )
    units_dir: str = "experiments/continual_replay/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    if variant == "pilot64":
        _pilot64(config)
    if variant in ("sixty_four", "sixty_four_pareto"):
        _sixty_four(config, pareto=variant == "sixty_four_pareto")
    return config


def _sixty_four(config, *, pareto: bool) -> None:
    """Issue 29's design on the pilot's learner (joint 0.802, fine-tuning 0.129).

    Every strategy at equal bytes: full images, uniform downsampling, random
    box, salient box (Seg-Grad-CAM and the vanilla gradient), salient crop
    (patch), instances (objects only) and prototypes (replayed to both heads:
    the pilot's ``dec0``-head-only replay protected nothing), alone and with
    their features held by distillation against the previous task's model
    (``prototypes_held``: replay alone left the old classes' features
    drifting by 109-181 % of their norm); the bounds.
    ``sixty_four``: budget 25 full exemplars, seeds 0-4 (the verdicts);
    ``sixty_four_pareto``: budgets 10, 25 and 50, seeds 0-1 (bytes against
    final mIoU and forgetting). Both keep their units in ``units_64/`` (a
    unit is one (strategy, budget, seed) whichever variant runs it), where
    the pilot's bounds and prototype run count too.
    """
    _pilot64(config)
    config.units_dir = "experiments/continual_replay/units_64"
    config.seeds = (0, 1) if pareto else (0, 1, 2, 3, 4)
    config.budget_images = (10, 25, 50) if pareto else (25,)

    def strategy(name, kind, **options):
        return to_config_dict(StrategySettings(name, kind, **options), omit_none=True)

    box = {"box_size": 32, "factor": 4}
    config.strategies = [
        strategy("finetune", "finetune"),
        strategy("joint", "joint"),
        strategy("full", "full"),
        strategy("downsample", "downsample", **box),
        strategy("random_box", "box", placement="random", **box),
        strategy("box", "box", placement="salient", **box),
        strategy(
            "box_gradient", "box", placement="salient", saliency="gradient", **box
        ),
        strategy("patch", "patch", patch_size=32, placement="salient"),
        strategy("instance", "instance", patch_size=32),
        strategy("prototypes", "prototypes", prototype_scope="logits"),
        strategy(
            "prototypes_held",
            "prototypes",
            prototype_scope="logits",
            distillation=10.0,
        ),
    ]


def _pilot64(config) -> None:
    """Issue 29's pilot: can a 64 px learner reach joint mIoU >= 0.80 and forget?

    The quickstart teacher's architecture (two convolutions per stage) on
    64 px images with one digit each (20-36 px), 4,000 training images, 8
    epochs per task; the two bounds, full-image replay at 50 exemplars and
    prototype replay, one seed. Units in ``units_pilot64/``.
    """
    config.units_dir = "experiments/continual_replay/units_pilot64"
    config.seeds = (0,)
    config.data.image_size = 64
    config.data.num_train = 4000
    config.data.num_test = 300
    config.data.min_digit_size = 0
    config.data.max_digit_size = 0
    config.model.blocks_per_stage = 2
    config.train.epochs_per_task = 8
    config.budget_images = (50,)
    names = ("finetune", "joint", "full")
    config.strategies = [s for s in config.strategies if s.name in names] + [
        ml_collections.ConfigDict({"name": "prototypes", "kind": "prototypes"})
    ]


def _quick(config) -> None:
    config.units_dir = ""
    config.seeds = (0,)
    config.data.image_size = 16
    config.data.num_train = 32
    config.data.num_test = 8
    config.data.max_digits = 2
    config.data.min_digit_size = 8
    config.data.max_digit_size = 12
    config.model.widths = (4, 8)
    config.train.learning_rate = 3e-3
    config.train.epochs_per_task = 1
    config.train.batch_size = 8
    config.train.replay_batch_size = 4
    config.train.saliency_batch_size = 16
    config.classes_per_task = 5
    config.budget_images = (4,)
    names = ("finetune", "full", "box")
    prototypes = {
        "name": "prototypes",
        "kind": "prototypes",
        "prototype_scope": "logits",
        "distillation": 1.0,
    }
    config.strategies = [s for s in config.strategies if s.name in names] + [
        ml_collections.ConfigDict(prototypes)
    ]
    for s in config.strategies:
        if "box_size" in s:
            s.box_size = 8
            s.factor = 2
