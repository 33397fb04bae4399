"""Stores the context-bias study's own teachers (biased, control) in the repository.

The study trains two teachers itself (the biased one on
``texture_digits/context_bias`` and the control on the same generator without
the bias); once stored, a fresh clone loads them (SHA-256 checked) instead of
retraining them (about 4 minutes each). Usage::

    python -m experiments.main --config experiments/context_bias/config.py \\
        --workdir runs/context_bias
    python -m experiments.context_bias.store_teachers --workdir runs/context_bias

The names are ``context_bias_<teacher>_seed<seed>`` under
``experiments/shared/teachers/``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments.context_bias.config import Config, get_config
from experiments.context_bias.data import (
    fingerprint,
    load_biased_data,
    make_generator,
    unbiased_generator,
)
from experiments.shared.options import settings_from
from experiments.shared.store_teacher import store_trained
from experiments.shared.teacher import teacher_dir_of

CONFIG_FILE = "experiments/context_bias/config.py"


def store_teachers(
    settings: Config, workdir: str | Path, *, root: Path | None = None
) -> list[Path]:
    """Copies ``workdir/teacher`` (biased) and ``workdir/control/teacher``.

    Args:
      settings: the study's settings the teachers were trained with.
      workdir: the study's work directory.
      root: where committed teachers live (default: the repository's).

    Returns:
      The folders written.
    """
    workdir = Path(workdir)
    generator = make_generator(settings.data)
    spec = load_biased_data(settings.data, generator, ["test"], 0)["spec"]
    subset = settings.train_subset
    retrain = (
        f"python -m experiments.main --config {CONFIG_FILE} --workdir {workdir} "
        f"&& python -m experiments.context_bias.store_teachers --workdir {workdir}"
    )
    teachers = [("biased", generator, teacher_dir_of(workdir))]
    if settings.control:
        control = unbiased_generator(generator, subset)
        teachers.append(("control", control, teacher_dir_of(workdir / "control")))
    stored = []
    for name, data_generator, folder in teachers:
        stored.append(
            store_trained(
                f"context_bias_{name}_seed{settings.seed}",
                folder,
                dataclasses.replace(settings.teacher, workdir=""),
                fingerprint(settings.data, data_generator, subset),
                seed=settings.seed,
                spec=spec,
                retrain=retrain,
                root=root,
            )
        )
    return stored


def main(argv):
    del argv
    from absl import flags

    settings = settings_from(Config, get_config())
    for folder in store_teachers(settings, flags.FLAGS.workdir):
        print(folder)


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("workdir", None, "The context-bias study's work directory.")
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
