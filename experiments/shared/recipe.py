"""The shared sections of study configs: the dataset and the teacher recipe.

Every study that explains the quickstart teacher declares ``data`` and
``teacher`` sections with these defaults (the quickstart's recipe: a
(8, 16, 32, 64) U-Net trained for 6 epochs on TextureDigits), so that the
recipe lives here once and a committed teacher (see
:mod:`experiments.shared.committed_teachers`) is found by it.
"""

from __future__ import annotations

import dataclasses

from experiments.shared.options import field
from segxai_jax.models.unet import ACTIVATIONS, INPUT_NORMS, NORMS
from segxai_jax.training.losses import LOSSES


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """A registered dataset (see ``segxai_jax.data.KNOWN_DATASETS``).

    Attributes:
      name: the dataset's name.
      config: its builder config ("" = the default one).
      data_dir: where it is stored ("" = the TFDS default); not part of any
        fingerprint.
    """

    name: str = "texture_digits"
    config: str = "default"
    data_dir: str = ""


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """The U-Net (:class:`segxai_jax.models.UNetConfig`) fields but the class count."""

    widths: tuple[int, ...] = field(default=(8, 16, 32, 64), minimum=1)
    blocks_per_stage: int = field(default=2, minimum=1)
    kernel_size: int = field(default=3, minimum=1)
    activation: str = field(default="relu", choices=ACTIVATIONS)
    norm: str = field(default="none", choices=NORMS)
    input_norm: str = field(default="per_image", choices=INPUT_NORMS)
    bottleneck_head: bool = True


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """The training run (:class:`segxai_jax.training.TrainConfig`) but its seed."""

    epochs: int = field(default=6, minimum=1)
    batch_size: int = field(default=32, minimum=1)
    learning_rate: float = field(default=1e-2, minimum=0.0)
    warmup_steps: int = field(default=100, minimum=0)
    weight_decay: float = field(default=0.05, minimum=0.0)
    loss: str = field(default="cross_entropy+dice", choices=LOSSES)
    eval_batch_size: int = field(default=100, minimum=1)


@dataclasses.dataclass(frozen=True)
class TeacherSettings:
    """Where the teacher comes from and how it is trained.

    Attributes:
      workdir: a quickstart-style work directory holding ``teacher/``, or ""
        for the study's own work directory. The recipe's committed teacher
        (``experiments/shared/teachers``) is used when one matches.
      train_if_missing: train the recipe there when no teacher is found.
      model: the architecture.
      train: the training recipe (the study's ``seed`` seeds it).
    """

    workdir: str = "runs/quickstart"
    train_if_missing: bool = True
    model: ModelSettings = ModelSettings()
    train: TrainSettings = TrainSettings()


def quick_teacher(config) -> None:
    """The smoke-test teacher of every ``quick`` variant, edited into ``config``.

    A 2-epoch (4, 8) U-Net on ``texture_digits/tiny``, trained in the run's
    own work directory.
    """
    config.data.config = "tiny"
    config.teacher.workdir = ""
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 2
    config.teacher.train.batch_size = 16
