"""Config sections shared by the NAS studies (``cam_nas``, ``nas_proxies``).

The students' search space, the budget, the fitness probe batch, the warm-up
steps and the students' training recipe, each a frozen dataclass whose
defaults are CAM-NAS's (see ``experiments/cam_nas/config.py``).
"""

from __future__ import annotations

import dataclasses

from experiments.shared.options import field
from segxai_jax.training import TrainConfig
from segxai_jax.training.losses import LOSSES

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class SpaceSettings:
    """The students' choices; the rest of a student comes from the teacher.

    Attributes:
      depths: encoder levels.
      widths: per level, the channel choices (the teacher's and narrower).
      blocks: conv blocks per stage.
      kernels: kernel sizes.
    """

    depths: tuple[int, ...] = field(default=(2, 3), minimum=1, min_items=1)
    widths: tuple[tuple[int, ...], ...] = field(
        default=((4, 6, 8), (8, 12, 16), (16, 24, 32), (32, 48, 64)), minimum=1
    )
    blocks: tuple[int, ...] = field(default=(1, 2), minimum=1, min_items=1)
    kernels: tuple[int, ...] = field(default=(3, 5), minimum=1, min_items=1)


@dataclasses.dataclass(frozen=True)
class BudgetSettings:
    """Fractions in (0, 1] of the teacher's parameters and forward FLOPs
    (``None``: that quantity is not bounded)."""

    params_fraction: float | None = field(default=0.25)
    flops_fraction: float | None = field(default=None)


@dataclasses.dataclass(frozen=True)
class ProbeSettings:
    """The fitness probe batch: the first images of a split."""

    point: str = "bottleneck"  # a probe point of the teacher
    num_images: int = field(default=8, minimum=1)
    split: str = field(default="validation", choices=SPLITS)


@dataclasses.dataclass(frozen=True)
class WarmupSettings:
    """The Adam steps before a ``*_warmup`` fitness."""

    steps: int = field(default=4, minimum=1)
    batch_size: int = field(default=8, minimum=1)
    learning_rate: float = field(default=3e-3, minimum=0.0)


@dataclasses.dataclass(frozen=True)
class StudentTrainSettings:
    """How a student is trained: the TrainConfig fields but ``seed`` (the
    defaults are the teacher's recipe)."""

    epochs: int = field(default=6, minimum=1)
    batch_size: int = field(default=32, minimum=1)
    learning_rate: float = field(default=1e-2, minimum=0.0)
    warmup_steps: int = field(default=100, minimum=0)
    weight_decay: float = field(default=0.05, minimum=0.0)
    loss: str = field(default="cross_entropy+dice", choices=LOSSES)
    eval_batch_size: int = field(default=100, minimum=1)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(seed=seed, **dataclasses.asdict(self))


def quick_space(config) -> None:
    """The smoke tests' tiny space, edited into ``config``."""
    config.space.depths = (1,)
    config.space.widths = ((2, 4), (4, 8))
    config.space.kernels = (1, 3)
    config.probe.num_images = 2
    config.warmup.steps = 1
    config.warmup.batch_size = 2
    config.student_train.epochs = 1
    config.student_train.batch_size = 16
