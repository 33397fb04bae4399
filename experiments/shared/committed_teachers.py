"""Teachers stored in the repository, so that a fresh clone never retrains them.

A committed teacher is a folder ``experiments/shared/teachers/<name>/`` with

* ``params.msgpack``: the trained parameters (``flax.serialization``);
* ``teacher.json``: the U-Net config, the *config recipe* (the config's
  ``teacher.model``, ``teacher.train``, ``data`` and ``seed``, which determine
  the teacher), the full recipe fingerprint its checkpoints were trained
  under, the training history, the SHA-256 of ``params.msgpack``, the command
  that retrains it and the machine it was trained on.

:func:`segxai_jax`-free lookups by config: a study whose config borrows a
teacher (``teacher.workdir`` non-empty) gets the committed teacher whose
config recipe equals its own, with no data loading for training and no
training; a teacher file whose SHA-256 does not match its record is refused
with the retrain command. Retraining the same recipe on the same CPU kind
gives the same parameters bit for bit (training is seeded and exactly
resumable); on another CPU kind they differ in the last bits of float32 (see
``docs/determinism.md``).

Store a trained teacher (:mod:`experiments.shared.store_teacher`)::

    python -m experiments.shared.store_teacher --name quickstart \
        --config experiments/quickstart/config.py --workdir runs/quickstart
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from experiments.shared.options import config_to_dict
from segxai_jax.training import json_fingerprint

REPOSITORY = Path(__file__).resolve().parents[2]
TEACHERS = REPOSITORY / "experiments" / "shared" / "teachers"
PARAMS_FILE = "params.msgpack"
RECORD_FILE = "teacher.json"


class TeacherIntegrityError(ValueError):
    """A committed teacher's parameters do not match their recorded SHA-256."""


def config_recipe(teacher_config, data_config, seed: int) -> dict:
    """What in a config determines its teacher (as it reads back from JSON).

    The data's ``data_dir`` (where TFDS keeps the built dataset) is left out:
    it says where the data is, not what it is.
    """
    return json_fingerprint(
        {
            "model": config_to_dict(teacher_config.model),
            "train": config_to_dict(teacher_config.train),
            "data": without_location(config_to_dict(data_config)),
            "seed": seed,
        }
    )


def without_location(data: dict) -> dict:
    """A data config (or a checkpoint fingerprint) without ``data_dir`` entries."""
    if isinstance(data, dict):
        return {k: without_location(v) for k, v in data.items() if k != "data_dir"}
    return data


def repository_path(path: Path) -> Path:
    """``path`` relative to the repository when inside it (the same on every
    machine), else as it is."""
    try:
        return Path(path).resolve().relative_to(REPOSITORY)
    except ValueError:
        return Path(path)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def find_committed(teacher_config, data_config, seed: int, root: Path | None = None):
    """The committed teacher folder of this recipe (in ``root``, default
    :data:`TEACHERS`), or None."""
    wanted = config_recipe(teacher_config, data_config, seed)
    root = TEACHERS if root is None else root
    for record_path in sorted(Path(root).glob(f"*/{RECORD_FILE}")):
        record = json.loads(record_path.read_text())
        if record.get("config_recipe") == wanted:
            return record_path.parent
    return None


def load_committed(folder: Path, model, sample):
    """``(params, record)`` of a committed teacher, its SHA-256 checked.

    Args:
      folder: ``experiments/shared/teachers/<name>``.
      model: the U-Net of ``record["model"]``.
      sample: an input ``[1, H, W, C]`` (only its shape is used).

    Raises:
      TeacherIntegrityError: the parameter file does not match its SHA-256.
    """
    import jax
    from flax import serialization

    record = json.loads((folder / RECORD_FILE).read_text())
    path = folder / PARAMS_FILE
    found = sha256_of(path) if path.exists() else "missing"
    if found != record["sha256"]:
        raise TeacherIntegrityError(
            f"committed teacher {folder}: {PARAMS_FILE} has SHA-256 {found}, its "
            f"record says {record['sha256']}; the file was changed or damaged. "
            f"Restore it (git checkout -- {folder}) or retrain and store it: "
            f"{record['retrain']}"
        )
    abstract = jax.eval_shape(model.init, jax.random.key(0), sample)["params"]
    params = serialization.from_bytes(abstract, path.read_bytes())
    return params, record
