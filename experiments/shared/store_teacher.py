"""Stores a trained teacher in the repository (see :mod:`.committed_teachers`).

Usage::

    python -m experiments.shared.store_teacher --name quickstart \
        --config experiments/quickstart/config.py --workdir runs/quickstart
    # a benchmark teacher (the quickstart recipe, 4 epochs, seed 1), trained
    # by the benchmark in its work directory:
    python -m experiments.shared.store_teacher --name benchmark_texture_digits_seed1 \
        --config experiments/quickstart/config.py --config.teacher.train.epochs=4 \
        --config.seed=1 --workdir runs/benchmark/teachers/texture_digits/seed1
"""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path

from experiments.shared.committed_teachers import (
    PARAMS_FILE,
    RECORD_FILE,
    TEACHERS,
    config_recipe,
)
from experiments.shared.results import cpu_model, isa_level
from experiments.shared.teacher import (
    check_recipe,
    load_teacher,
    recipe_from_config,
    teacher_dir_of,
)
from segxai_jax.training import write_atomic


def store_teacher(
    name: str,
    config,
    workdir: str | Path,
    *,
    config_file: str = "experiments/quickstart/config.py",
    overrides: tuple[str, ...] = (),
    root: Path | None = None,
):
    """Copies the teacher trained in ``workdir/teacher`` into ``root/<name>``.

    The teacher must have been trained with ``config``'s recipe (checked
    against its checkpoint's fingerprint). ``overrides`` (``--config.<f>=v``
    arguments) go into the recorded retrain command.

    Returns:
      The folder written.
    """
    from experiments.shared.data import load_data

    spec = load_data(config.data, splits=("test",))["spec"]
    extra = "".join(f" {o}" for o in overrides)
    retrain = (
        f"python -m experiments.main --config {config_file}{extra} "
        f"--workdir {workdir} && python -m "
        f"experiments.shared.store_teacher --name {name} --config "
        f"{config_file}{extra} --workdir {workdir}"
    )
    return store_trained(
        name,
        teacher_dir_of(workdir),
        config.teacher,
        config.data,
        seed=config.seed,
        spec=spec,
        retrain=retrain,
        root=root,
    )


def store_trained(
    name: str,
    folder: str | Path,
    teacher_config,
    data_config,
    *,
    seed: int,
    spec,
    retrain: str,
    root: Path | None = None,
):
    """Copies the teacher checkpointed in ``folder`` into ``root/<name>``.

    Args:
      name: the committed teacher's folder name.
      folder: the trained teacher (``model.json`` and ``checkpoints/``).
      teacher_config, data_config, seed: the recipe it was trained with
        (checked against its checkpoint's fingerprint; ``data_config`` is what
        the study passes to :func:`~experiments.shared.teacher.resolve_teacher`).
      spec: the dataset spec (classes, channels, image size).
      retrain: the command that retrains and stores it again.
      root: where committed teachers live (default: the repository's).

    Returns:
      The folder written.
    """
    import jax
    import jaxlib
    from flax import serialization

    recipe = recipe_from_config(
        teacher_config,
        data_config,
        seed=seed,
        num_classes=spec.num_classes,
        in_channels=spec.num_channels,
    )
    folder = Path(folder)
    checkpoint = check_recipe(folder, recipe, field="teacher")
    _, params = load_teacher(folder, spec.image_size)
    out = Path(TEACHERS if root is None else root) / name
    out.mkdir(parents=True, exist_ok=True)
    blob = serialization.to_bytes(jax.device_get(params))
    tmp = out / f".{PARAMS_FILE}.tmp"
    tmp.write_bytes(blob)
    tmp.replace(out / PARAMS_FILE)
    record = {
        "name": name,
        "model": json.loads((folder / "model.json").read_text()),
        "config_recipe": config_recipe(teacher_config, data_config, seed),
        "fingerprint": checkpoint["fingerprint"],
        "history": checkpoint.get("history", []),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "bytes": len(blob),
        "retrain": retrain,
        "trained_on": {
            "cpu": cpu_model(),
            "isa": isa_level(),
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "python": platform.python_version(),
        },
    }
    write_atomic(out / RECORD_FILE, json.dumps(record, indent=1) + "\n")
    return out


def main(argv):
    del argv
    import sys

    from absl import flags

    config_file = flags.FLAGS["config"].config_filename
    overrides = tuple(a for a in sys.argv[1:] if a.startswith("--config."))
    print(
        store_teacher(
            flags.FLAGS.name,
            flags.FLAGS.config,
            flags.FLAGS.workdir,
            config_file=config_file,
            overrides=overrides,
        )
    )


if __name__ == "__main__":
    from absl import app, flags
    from ml_collections import config_flags

    config_flags.DEFINE_config_file("config", None, "The teacher's config file.")
    flags.DEFINE_string("workdir", None, "Work directory holding teacher/.")
    flags.DEFINE_string("name", None, "Name of the committed teacher.")
    flags.mark_flags_as_required(["config", "workdir", "name"])
    app.run(main)
