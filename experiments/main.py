"""Runs an experiment from its config file.

Usage::

    python -m experiments.main --config experiments/quickstart/config.py \
        --workdir runs/quickstart [--config.teacher.train.epochs=3 ...]
    python -m experiments.main --config experiments/rank_methods/config.py:quick \
        --workdir runs/rank_methods_quick
    # a study that runs in units, for at most 25 minutes (run again to go on):
    python -m experiments.main --config experiments/attack_explanations/config.py \
        --workdir runs/attack_explanations --minutes 25

The config's ``experiment`` field names the folder ``experiments/<name>/``.
Its ``config.py`` declares the study's settings once, as the frozen dataclass
``Config`` (see :mod:`experiments.shared.options`); ``config.py:<variant>``
picks a variant (``quick`` for every study, the quickstart has ``long`` and
``nuclei``). Any field can be overridden with ``--config.<field>=<value>``; a
field that does not exist is refused in one line with the nearest names. The
overridden config is checked into ``Config`` once, before anything is read or
written; then the work directory is claimed (see
:mod:`experiments.shared.workdir`) and ``run.run(settings, workdir)`` or, for a
study in units, :func:`experiments.shared.study.run_study` is called.

Studies that run in units (see :mod:`experiments.shared.study`) take
``--minutes M``: the missing units are run until M minutes are used (a unit
whose measured cost exceeds the time left is not started), then every
finished unit is aggregated into ``results.json`` and ``report.md`` ("N of T
units"). Without ``--minutes`` every unit runs. Their work directory is
claimed without the fields that enumerate units, so seeds can be added later.
"""

from __future__ import annotations

import importlib
import math
import sys
import time

from absl import app, flags, logging
from ml_collections import config_flags

from experiments.shared import workdir as run_folder
from experiments.shared.options import config_to_dict, settings_from
from experiments.shared.overrides import check_overrides
from experiments.shared.study import run_study, shared_fingerprint
from experiments.shared.units import check_minutes
from segxai_jax import runtime

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where outputs are written.")
_MINUTES = flags.DEFINE_float(
    "minutes",
    None,
    "Time budget of this invocation for studies that run in units; leave it "
    "out to run every unit.",
)
flags.mark_flags_as_required(["config", "workdir"])
flags.register_validator(
    "minutes",
    lambda value: value is None or (math.isfinite(value) and value > 0),
    message="--minutes: expected a positive number of minutes; leave it out to "
    "run every unit",
)

EXPERIMENTS = (
    "quickstart",
    "rank_methods",
    "occlusion_study",
    "ablation_regions",
    "context_bias",
    "attack_explanations",
    "attack_three_term",
    "continual_replay",
    "cam_nas",
    "nas_proxies",
    "benchmark",
)


def run_experiment(config, workdir: str, *, minutes: float | None = None):
    """Claims ``workdir`` and calls ``experiments.<config.experiment>.run.run``.

    Args:
      config: the experiment's config.
      workdir: its work directory.
      minutes: time budget for a study that runs in units (None: run all).
    """
    started = time.monotonic()
    minutes = check_minutes(minutes)
    name = config.get("experiment") if hasattr(config, "get") else None
    if name not in EXPERIMENTS:
        raise ValueError(
            f"config.experiment: expected one of {EXPERIMENTS}, got {name!r}"
        )
    module = importlib.import_module(f"experiments.{name}.run")
    declared = importlib.import_module(f"experiments.{name}.config")
    # The one check of every field, before any data is read or anything written.
    settings = settings_from(declared.Config, config)
    in_units = hasattr(module, "run_unit")
    if minutes is not None and not in_units:
        raise ValueError(
            f"--minutes: the {name!r} experiment does not run in units yet; leave "
            "--minutes out to run it whole"
        )
    if hasattr(module, "resolve"):  # checks that need the teacher's layer names
        module.resolve(settings, workdir)
    if not in_units:
        folder = run_folder.claim(workdir, name, config_to_dict(settings))
        return module.run(settings, folder)
    described = shared_fingerprint(settings, (*module.AXES, *module.PRESENTATION))
    folder = run_folder.claim(workdir, name, described)
    return run_study(module, settings, folder, minutes=minutes, started=started)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    runtime.configure()
    run_experiment(_CONFIG.value, _WORKDIR.value, minutes=_MINUTES.value)


if __name__ == "__main__":
    # A misspelt --config.<field> is refused in one line with the nearest names
    # (ml_collections would fail later, inside flag parsing, with a traceback).
    unknown = check_overrides(sys.argv[1:])
    if unknown:
        sys.exit("\n".join(unknown))
    app.run(main)
