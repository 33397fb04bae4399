"""A study in units with no JAX work, for the tests of the unit machinery.

Each unit sleeps ``config.unit_seconds`` and draws numbers from a NumPy
generator seeded by the unit's seed: deterministic, cheap, and slow enough to
be killed in the middle. Run as a process::

    python -m tests.experiments.toy_study <workdir> <minutes or 0> <seeds>
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from experiments.shared.findings import Finding, strict_verdict
from experiments.shared.stats import mean_ci, sign_of
from experiments.shared.study import run_study
from experiments.shared.units import Unit

NAME = "toy"
AXES = ("seeds",)
PRESENTATION = ()


@dataclasses.dataclass(frozen=True)
class Config:
    experiment: str = NAME
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    arms: tuple[str, ...] = ("a", "b")
    draws: int = 16
    unit_seconds: float = 0.15
    units_dir: str = ""


def get_config(seeds=(0, 1, 2, 3, 4, 5)):
    """The checked settings (run_study takes them as experiments.main passes them)."""
    return Config(seeds=tuple(seeds))


def units(opts):
    return [
        Unit(f"seed{seed}-{arm}", {"seed": seed, "arm": arm}, kind=arm)
        for seed in opts.seeds
        for arm in opts.arms
    ]


def prepare(config, workdir, timer):
    del config, timer
    return {"log": Path(workdir) / "started.log"}


def run_unit(opts, unit, context):
    with open(context["log"], "a") as log:
        log.write(unit.name + "\n")
    time.sleep(opts.unit_seconds)
    rng = np.random.default_rng([unit.settings["seed"], opts.arms.index(unit.kind)])
    draws = rng.normal(size=opts.draws).astype(np.float32)
    return {"draws": draws, "mean": float(draws.mean())}, {"big": np.ones((4, 4))}


def aggregate(opts, records):
    del opts
    means = {}
    for record in records:
        means.setdefault(record.unit.kind, []).append(record.result["mean"])
    return {arm: mean_ci(np.asarray(v)) for arm, v in sorted(means.items())}


def findings(summary, opts):
    del opts
    signs = [sign_of(entry) for entry in summary.values()]
    return [Finding("toy means differ from 0", "none", strict_verdict(signs), "-")]


def figures(workdir, opts, records, context):
    del workdir, opts, records, context
    return {}


def results(opts, summary, records, context):
    del context
    return {"options": dataclasses.asdict(opts), "summary": summary}


def report(completed):
    return f"# toy\n\n{len(completed['summary'])} arms\n"


if __name__ == "__main__":
    folder, minutes, seeds = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    config = get_config(tuple(int(s) for s in seeds.split(",")))
    run_study(sys.modules[__name__], config, folder, minutes=minutes or None)
