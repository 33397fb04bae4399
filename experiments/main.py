"""Runs an experiment from its config file.

Usage::

    python -m experiments.main --config experiments/configs/quickstart.py \
        --workdir runs/quickstart [--config.train.epochs=3 ...]

The config's ``experiment`` field names the module in ``experiments/`` whose
``run(config, workdir)`` is called. Any config field can be overridden on the
command line with ``--config.<field>=<value>``.
"""

from __future__ import annotations

import importlib

from absl import app, flags, logging
from ml_collections import config_flags

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
)


def run_experiment(config, workdir: str):
    """Dispatches ``config.experiment`` to ``experiments.<name>.run``."""
    name = config.experiment
    if name not in EXPERIMENTS:
        raise ValueError(
            f"config.experiment: expected one of {EXPERIMENTS}, got {name!r}"
        )
    module = importlib.import_module(f"experiments.{name}")
    return module.run(config, workdir)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO
    runtime.configure()
    run_experiment(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
