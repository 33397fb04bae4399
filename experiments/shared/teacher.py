"""The one way an experiment gets its teacher U-Net: trained, resumed or loaded.

Every experiment config has a ``teacher`` section:

* ``workdir``: a quickstart-style work directory whose ``teacher/`` holds the
  teacher (``model.json`` plus Orbax checkpoints), or ``""`` for the
  experiment's own work directory;
* ``train_if_missing``: train the recipe there when it holds no teacher;
* ``model`` / ``train``: the recipe (:class:`~segxai_jax.models.UNetConfig`
  fields but ``num_classes``, :class:`~segxai_jax.training.TrainConfig` fields
  but ``seed``), trained on ``config.data`` with ``config.seed``.

A teacher found on disk is used only if it was trained with exactly that recipe
on that data: its checkpoint's fingerprint is compared with the recipe's, and a
difference is refused with the differing fields named, so an experiment never
silently explains another model than the one its config describes. Training
writes ``model.json`` only after the training run has checked (or created) its
checkpoints, so a refused run changes nothing on disk.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from experiments.shared.committed_teachers import (
    find_committed,
    load_committed,
    repository_path,
    without_location,
)
from experiments.shared.options import config_to_dict, differing_fields
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import (
    CheckpointError,
    CheckpointStore,
    TrainConfig,
    evaluate,
    json_fingerprint,
    load_trained_params,
    train,
    write_atomic,
)

MODEL_FILE = "model.json"
TEACHER_SUBDIR = "teacher"


@dataclasses.dataclass(frozen=True)
class TeacherRecipe:
    """How a teacher is trained: architecture, training run and data.

    Attributes:
      model: the U-Net (with the dataset's class count).
      train: the training hyper-parameters (with the run's seed).
      data: the ``config.data`` section as a dict.
    """

    model: UNetConfig
    train: TrainConfig
    data: dict

    def fingerprint(self) -> Any:
        """What :func:`segxai_jax.training.train` stores with each checkpoint."""
        return json_fingerprint(
            {
                "train": dataclasses.asdict(self.train),
                "run": {"model": dataclasses.asdict(self.model), "data": self.data},
            }
        )


def recipe_from_config(
    teacher_config, data_config, *, seed: int, num_classes: int, in_channels: int = 3
):
    """The :class:`TeacherRecipe` a config's ``teacher`` section describes.

    ``num_classes`` and ``in_channels`` come from the dataset's spec; a
    ``teacher.model.in_channels`` in the config overrides the latter.
    """
    model = {"in_channels": in_channels, **config_to_dict(teacher_config.model)}
    return TeacherRecipe(
        model=UNetConfig(num_classes=num_classes, **model),
        train=TrainConfig(seed=seed, **config_to_dict(teacher_config.train)),
        data=config_to_dict(data_config),
    )


def teacher_dir_of(workdir: str | Path) -> Path:
    """The ``teacher/`` folder of a quickstart-style work directory."""
    return Path(workdir) / TEACHER_SUBDIR


def teacher_home(teacher_config, workdir) -> Path:
    """The work directory whose ``teacher/`` holds the teacher."""
    return Path(teacher_config.workdir) if teacher_config.workdir else Path(workdir)


def has_teacher(folder: Path) -> bool:
    """Whether ``folder`` holds a finished teacher (``model.json``)."""
    return (Path(folder) / MODEL_FILE).exists()


def committed_teacher(teacher_config, data_config, seed, *, own: bool = False):
    """The committed teacher a config borrows (``teacher.workdir`` set), or None.

    See :mod:`experiments.shared.committed_teachers`: a study that borrows a
    teacher gets the committed one of the same recipe, with no training.
    ``own=True`` also looks when the study trains the teacher itself
    (``teacher.workdir`` empty): a study whose teachers are inputs rather
    than its product (context_bias) loads a committed one instead of
    retraining it.
    """
    if data_config is None or seed is None:
        return None
    if not teacher_config.workdir and not own:
        return None
    return find_committed(teacher_config, data_config, seed)


def needs_training(
    teacher_config, workdir, data_config=None, seed=None, *, own: bool = False
) -> bool:
    """Whether :func:`resolve_teacher` trains (so the train split is needed).

    False when the config borrows a teacher that is committed (see
    :func:`committed_teacher`; needs ``data_config`` and ``seed``). Else true
    when ``teacher_config.workdir`` is empty (the recipe is trained, or
    resumed, in the experiment's own ``workdir/teacher``; a finished run
    returns at once) or when the given work directory has no teacher yet and
    ``train_if_missing`` is set.
    """
    del workdir
    if committed_teacher(teacher_config, data_config, seed, own=own) is not None:
        return False
    if not teacher_config.workdir:
        return True
    missing = not has_teacher(teacher_dir_of(teacher_config.workdir))
    return missing and bool(teacher_config.train_if_missing)


def teacher_record(folder: str | Path) -> dict:
    """The JSON record of a teacher's newest checkpoint.

    Returns:
      ``{"fingerprint": {"train": ..., "run": {"model": ..., "data": ...}},
      "history": [...]}`` as written by :func:`segxai_jax.training.train`.

    Raises:
      CheckpointError: no checkpoint in ``folder/checkpoints``.
    """
    with CheckpointStore(Path(folder) / "checkpoints") as store:
        _, _, record = store.restore({})
    return dict(record)


def check_recipe(folder: Path, recipe: TeacherRecipe, *, field: str) -> dict:
    """The teacher's checkpoint record, if it was trained with ``recipe``.

    Raises:
      ValueError: naming ``config.<field>`` and the differing settings.
    """
    record = teacher_record(folder)
    found = record.get("fingerprint", {})
    differences = differing_fields(found, recipe.fingerprint())
    if differences:
        raise ValueError(
            f"config.{field}: the teacher in {folder} was trained with another "
            f"recipe than the config's (teacher vs config: "
            f"{'; '.join(differences[:6])}); point "
            "teacher.workdir to a matching teacher, change the config to match, or "
            "use a new workdir"
        )
    return record


def train_teacher(recipe: TeacherRecipe, home: str | Path, data: dict):
    """Trains (or resumes, or just reloads) a teacher into ``home/teacher/``.

    Args:
      recipe: what to train.
      home: the work directory; the teacher goes to its ``teacher/``.
      data: ``load_data`` output with the train and validation splits.

    Returns:
      ``(model, result)``: the :class:`UNet` and the
      :class:`~segxai_jax.training.TrainResult`.

    Raises:
      CheckpointError: ``teacher/`` holds checkpoints of another recipe
        (nothing is written then).
    """
    for split in ("train", "validation"):
        if split not in data:
            raise ValueError(f"data: training the teacher needs the {split!r} split")
    folder = teacher_dir_of(home)
    model = UNet(recipe.model)
    result = train(
        model,
        data["train"],
        data["validation"],
        config=recipe.train,
        num_classes=recipe.model.num_classes,
        workdir=folder,
        run_fingerprint={
            "model": dataclasses.asdict(recipe.model),
            "data": recipe.data,
        },
    )
    # Only now: train() has checked that the folder holds this recipe's run.
    write_atomic(
        folder / MODEL_FILE, json.dumps(dataclasses.asdict(recipe.model)) + "\n"
    )
    return model, result


def load_teacher(folder: str | Path, image_size: int = 64):
    """``(model, params)`` of a finished teacher folder (no recipe check).

    Raises:
      CheckpointError: the folder lacks ``model.json`` or checkpoints, or they
        do not match.
    """
    folder = Path(folder)
    model_file = folder / MODEL_FILE
    if not model_file.exists():
        raise CheckpointError(
            f"teacher_dir: {folder} has no {MODEL_FILE}; run the quickstart "
            "first (make quickstart) or point to its teacher/ folder"
        )
    config = UNetConfig(**json.loads(model_file.read_text()))
    model = UNet(config)
    sample = np.zeros((1, image_size, image_size, config.in_channels), np.float32)
    return model, load_trained_params(folder, model, sample)


def resolve_teacher(
    teacher_config, data_config, data: dict, workdir, *, seed: int, own: bool = False
):
    """The teacher ``(model, params, info)`` an experiment explains.

    Args:
      teacher_config: the config's ``teacher`` section (see the module
        docstring).
      data_config: the dataset the teacher is (or was) trained on.
      data: ``load_data`` output; the ``"train"`` and ``"validation"`` splits
        are needed only when :func:`needs_training`.
      workdir: the experiment's work directory.
      seed: seed of the training run.
      own: look for a committed teacher of this recipe even when the study
        trains it itself (see :func:`committed_teacher`).

    Returns:
      ``(model, params, info)``; ``info`` says where the teacher came from, its
      recipe, and its training history.

    Raises:
      ValueError: naming ``config.teacher``: no teacher where one is expected,
        or one trained with another recipe or on other data.
    """
    spec = data["spec"]
    recipe = recipe_from_config(
        teacher_config,
        data_config,
        seed=seed,
        num_classes=spec.num_classes,
        in_channels=spec.num_channels,
    )
    home = teacher_home(teacher_config, workdir)
    folder = teacher_dir_of(home)
    committed = committed_teacher(teacher_config, data_config, seed, own=own)
    trained_here = needs_training(teacher_config, workdir, data_config, seed, own=own)
    if committed is not None:
        folder = committed
        model = UNet(recipe.model)
        sample = np.zeros((1, spec.image_size, spec.image_size, spec.num_channels))
        params, record = load_committed(committed, model, sample.astype(np.float32))
        differences = differing_fields(
            without_location(record["fingerprint"]),
            without_location(recipe.fingerprint()),
        )
        if differences:
            raise ValueError(
                f"config.teacher: the committed teacher {committed} was trained "
                f"with another recipe (teacher vs config: "
                f"{'; '.join(differences[:6])}); retrain it: {record['retrain']}"
            )
        history = record.get("history", [])
    elif trained_here:
        if has_teacher(folder):  # refuse another recipe before touching it
            check_recipe(folder, recipe, field="teacher")
        model, result = train_teacher(recipe, home, data)
        params, history = result.state.params, result.history
    else:
        if not has_teacher(folder):
            raise ValueError(
                f"config.teacher.workdir: no trained teacher in {folder} (needs "
                f"{MODEL_FILE} and checkpoints/); run the quickstart with "
                f"--workdir={home}, point teacher.workdir to a quickstart work "
                "directory, or set config.teacher.train_if_missing=True"
            )
        record = check_recipe(folder, recipe, field="teacher")
        model, params = load_teacher(folder, data["spec"].image_size)
        history = record.get("history", [])
    if committed is not None:
        folder = repository_path(committed)
    info = {
        "dir": str(folder),
        "trained_here": trained_here,
        "model": dataclasses.asdict(recipe.model),
        "train": dataclasses.asdict(recipe.train),
        "data": recipe.data,
        "epochs_done": len(history),
        "history": history,
    }
    return model, params, info


def load_data_and_teacher(
    teacher_config, data_config, workdir, timer, *, seed: int, splits=("test",)
):
    """The data splits an experiment needs, its teacher and the teacher's scores.

    Loads ``splits`` of ``data_config`` (plus train and validation when the
    teacher is trained here, see :func:`needs_training`), resolves the teacher
    with :func:`resolve_teacher` and adds its test-split scores to the teacher
    info. ``timer`` records the ``"data"`` and ``"teacher"`` phases.

    Returns:
      ``(data, model, params, teacher_info)``.
    """
    from experiments.shared.data import load_data

    with timer("data"):
        if needs_training(teacher_config, workdir, data_config, seed):
            splits = tuple(dict.fromkeys(("train", "validation", *splits)))
        data = load_data(data_config, splits=splits)
    with timer("teacher"):
        model, params, teacher = resolve_teacher(
            teacher_config, data_config, data, workdir, seed=seed
        )
    if "test" in data:
        teacher["test_scores"] = teacher_scores(
            model, params, data["test"], data["spec"].num_classes
        )
    return data, model, params, teacher


def teacher_scores(model, params, split: dict, num_classes: int) -> dict:
    """mIoU, pixel accuracy and mean Dice of the teacher on one split."""
    scores = evaluate(model, params, split, num_classes=num_classes, batch_size=100)
    return {k: scores[k] for k in ("miou", "pixel_accuracy", "mean_dice")}


def teacher_probe_names(teacher_config, workdir) -> tuple[str, ...]:
    """Probe points of the teacher :func:`resolve_teacher` will return.

    Read from the teacher's ``model.json`` when it exists, else from the
    recipe, so that layer names in a config can be checked before any loading
    or training.
    """
    folder = teacher_dir_of(teacher_home(teacher_config, workdir))
    model_file = folder / MODEL_FILE
    if teacher_config.workdir and model_file.exists():
        fields = json.loads(model_file.read_text())
    else:
        fields = {"num_classes": 2, **config_to_dict(teacher_config.model)}
    return UNetConfig(**fields).probe_names
