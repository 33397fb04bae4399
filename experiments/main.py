"""Runs an experiment from its config file.

Usage::

    python -m experiments.main --config experiments/quickstart/config.py \
        --workdir runs/quickstart [--config.teacher.train.epochs=3 ...]
    python -m experiments.main --config experiments/rank_methods/config.py:quick \
        --workdir runs/rank_methods_quick

The config's ``experiment`` field names the folder ``experiments/<name>/``
whose ``run.run(config, workdir)`` is called; ``config.py:<variant>`` picks a
variant of the config (``quick`` for every experiment). Any config field can
be overridden on the command line with ``--config.<field>=<value>``. The work
directory is claimed for the run before anything is written into it (see
:mod:`experiments.shared.workdir`).
"""

from __future__ import annotations

import importlib

from absl import app, flags, logging
from ml_collections import config_flags

from experiments.shared import workdir as run_folder
from segxai_jax import runtime

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where outputs are written.")
flags.mark_flags_as_required(["config", "workdir"])

EXPERIMENTS = (
    "quickstart",
    "rank_methods",
    "occlusion_study",
    "ablation_regions",
    "context_bias",
    "attack_explanations",
    "continual_replay",
    "cam_nas",
    "nas_proxies",
    "benchmark",
)


def run_experiment(config, workdir: str):
    """Claims ``workdir`` and calls ``experiments.<config.experiment>.run.run``."""
    name = config.get("experiment") if hasattr(config, "get") else None
    if name not in EXPERIMENTS:
        raise ValueError(
            f"config.experiment: expected one of {EXPERIMENTS}, got {name!r}"
        )
    module = importlib.import_module(f"experiments.{name}.run")
    module.Options.from_config(config, workdir)  # bad fields: refused before writing
    folder = run_folder.claim(workdir, name, config)
    return module.run(config, folder)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    runtime.configure()
    run_experiment(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
