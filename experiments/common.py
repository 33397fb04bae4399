"""Pieces every experiment shares: data loading and the trained teacher."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from pathlib import Path

import jax
import numpy as np

from segxai_jax.data import dataset_spec, load_texture_digits, to_arrays
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.targets import Target, make_target
from segxai_jax.training import (
    CheckpointError,
    CheckpointStore,
    TrainConfig,
    ensure_writable_dir,
    load_trained_params,
    train,
    write_atomic,
)

MODEL_FILE = "model.json"
TEACHER_SUBDIR = "teacher"


def load_data(data_config, splits=("train", "validation", "test")) -> dict:
    """In-memory arrays of each split plus the dataset spec under ``"spec"``.

    Args:
      data_config: ``name`` (only ``texture_digits`` is built locally),
        ``config`` (builder config name) and ``data_dir`` ("" = TFDS default).
      splits: which splits to load.
    """
    if data_config.name != "texture_digits":
        raise ValueError(
            f"config.data.name: expected 'texture_digits', got {data_config.name!r}"
        )
    sources = load_texture_digits(
        data_config.config, data_dir=data_config.data_dir or None, splits=splits
    )
    spec = dataset_spec("texture_digits", data_config.config)
    data = {split: to_arrays(sources[split]) for split in splits}
    data["spec"] = spec
    return data


def save_model_config(directory: Path, config: UNetConfig) -> None:
    write_atomic(directory / MODEL_FILE, json.dumps(dataclasses.asdict(config)) + "\n")


def load_teacher(teacher_dir: str | Path):
    """``(model, params)`` of a teacher trained by the quickstart.

    Args:
      teacher_dir: the ``teacher/`` folder of a quickstart work directory.

    Raises:
      CheckpointError: the folder lacks ``model.json`` or checkpoints, or they
        do not match.
    """
    teacher_dir = Path(teacher_dir)
    model_file = teacher_dir / MODEL_FILE
    if not model_file.exists():
        raise CheckpointError(
            f"teacher_dir: {teacher_dir} has no {MODEL_FILE}; run the quickstart "
            "first (make quickstart) or point to its teacher/ folder"
        )
    config = UNetConfig(**json.loads(model_file.read_text()))
    model = UNet(config)
    sample = np.zeros((1, 64, 64, config.in_channels), np.float32)
    return model, load_trained_params(teacher_dir, model, sample)


def teacher_dir_of(workdir: str | Path) -> Path:
    """The ``teacher/`` folder of a quickstart-style work directory."""
    return Path(workdir) / TEACHER_SUBDIR


def train_teacher(config, workdir: str | Path, data: dict):
    """Trains (or resumes, or just reloads) the quickstart's U-Net teacher.

    The quickstart's training stage as a function: the model is built from
    ``config.model`` with the dataset's class count, trained with
    ``config.train`` and ``config.seed`` into ``<workdir>/teacher/`` (Orbax
    checkpoints every epoch, ``model.json``, ``train_log.jsonl``). A finished
    run is not repeated: :func:`segxai_jax.training.train` resumes from the
    last checkpoint, so calling this on a finished teacher only reloads it.

    Args:
      config: with ``seed``, ``data`` (a :func:`load_data` config), ``model``
        (:class:`UNetConfig` fields except ``num_classes``) and ``train``
        (:class:`TrainConfig` fields except ``seed``).
      workdir: the work directory; the teacher goes to its ``teacher/``.
      data: from :func:`load_data` with the train and validation splits.

    Returns:
      ``(model, result)``: the :class:`UNet` and the
      :class:`~segxai_jax.training.TrainResult` (``result.state.params``).

    Raises:
      CheckpointError: ``teacher/`` holds checkpoints of a different run.
    """
    spec = data["spec"]
    model_config = UNetConfig(num_classes=spec.num_classes, **config.model.to_dict())
    model = UNet(model_config)
    train_config = TrainConfig(seed=config.seed, **config.train.to_dict())
    teacher_dir = ensure_writable_dir(teacher_dir_of(workdir), name="teacher directory")
    save_model_config(teacher_dir, model_config)
    result = train(
        model,
        data["train"],
        data["validation"],
        config=train_config,
        num_classes=spec.num_classes,
        workdir=teacher_dir,
        run_fingerprint={
            "model": dataclasses.asdict(model_config),
            "data": config.data.to_dict(),
        },
    )
    return model, result


def teacher_record(teacher_dir: str | Path) -> dict:
    """The JSON record of a teacher's newest checkpoint.

    Returns:
      ``{"fingerprint": {"train": ..., "run": {"model": ..., "data": ...}},
      "history": [...]}`` as written by :func:`segxai_jax.training.train`.

    Raises:
      CheckpointError: no checkpoint in ``teacher_dir/checkpoints``.
    """
    store = CheckpointStore(Path(teacher_dir) / "checkpoints")
    try:
        _, _, record = store.restore({})
    finally:
        store.close()
    return dict(record)


def largest_digit_targets(
    predicted: np.ndarray, ground_truth: np.ndarray, num_classes: int
) -> Target:
    """Per image: the digit class with the largest predicted area, its region.

    Class 0 is the background. Falls back to the ground truth when the model
    predicts no digit (e.g. an untrained smoke-test model). Ties between
    classes go to the lower class id (``np.argmax``).

    Args:
      predicted: predicted labels ``[B, H, W]`` int.
      ground_truth: true labels ``[B, H, W]`` int.
      num_classes: K (background included).

    Returns:
      A :class:`~segxai_jax.targets.Target` with ``class_id [B]`` and the
      predicted region of that class as ``mask [B, H, W]``.
    """
    class_ids, masks = [], []
    for pred, truth in zip(predicted, ground_truth, strict=True):
        labels = pred if np.any(pred > 0) else truth
        areas = np.bincount(labels.ravel(), minlength=num_classes)[1:]
        class_id = int(np.argmax(areas)) + 1
        class_ids.append(class_id)
        masks.append((labels == class_id).astype(np.float32))
    return make_target(np.asarray(class_ids), np.stack(masks))


def environment() -> dict:
    """Versions and devices, for ``results.json``."""
    import flax
    import jaxlib

    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "flax": flax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "compilation_cache_dir": jax.config.jax_compilation_cache_dir,
    }
