"""Pieces every experiment shares: data loading and the trained teacher."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from segxai_jax.data import dataset_spec, load_texture_digits, to_arrays
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import CheckpointError, load_trained_params, write_atomic

MODEL_FILE = "model.json"


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
