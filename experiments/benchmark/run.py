"""The segmentation-XAI benchmark: datasets x teachers x methods x metrics.

Run through ``experiments/main.py`` with ``benchmark/config.py``. Stages, for
every dataset of ``config.datasets`` and every seed of ``teacher_seeds``:

1. the teacher: trained (or resumed) with that seed in
   ``workdir/teachers/<dataset>/seed<k>`` through
   :mod:`experiments.shared.teacher`, so a teacher of another recipe is refused;
2. :func:`experiments.benchmark.measure.measure_teacher`: maps, faithfulness
   with every substrate, localisation, leakage, complexity, cost and the
   metric sanity check on the first ``num_images`` test images;
3. each (dataset, seed) is a unit of the study (see
   :mod:`experiments.shared.study`): its part is kept in ``units_dir`` as it
   finishes, ``--minutes M`` runs the missing ones that fit, and a unit of
   another fingerprint is refused;

then :mod:`experiments.benchmark.findings` pools the finished parts (per
image, the mean over teachers; images are the unit of every 95 % interval)
and ``report.md``, ``results.json`` and the figures are written.

Evaluation keys: teacher ``k`` uses ``fold_in(key(config.seed), k)``, split
into the keys of the maps, the curves' random substrates, the sanity
check's input noise and its re-drawn weights.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import numpy as np

from experiments.benchmark import findings as pooling
from experiments.benchmark import measure
from experiments.benchmark import report as reporting
from experiments.benchmark.config import Config, DatasetSettings
from experiments.shared.data import load_data
from experiments.shared.findings import Finding
from experiments.shared.recipe import TeacherSettings
from experiments.shared.results import to_strict_json
from experiments.shared.study import run_study
from experiments.shared.teacher import resolve_teacher, teacher_scores
from experiments.shared.units import Unit
from segxai_jax.data import dataset_spec
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """Checks of fields together: the sanity substrate, each dataset's data."""
    del workdir
    if settings.sanity.substrate not in settings.substrates:
        raise ValueError(
            f"config.sanity.substrate: expected one of config.substrates "
            f"{settings.substrates}, got {settings.sanity.substrate!r}"
        )
    known = [f.name for f in dataclasses.fields(settings.settings)]
    for name in settings.datasets:
        if name not in known:
            raise ValueError(
                f"config.settings.{name}: missing; the benchmark has settings for "
                f"{known}"
            )
        data = dataset_settings(settings, name).data
        if data.name != name:
            raise ValueError(
                f"config.settings.{name}.data.name: expected {name!r}, got "
                f"{data.name!r}"
            )
        dataset_spec(name, data.config or None)  # a bad config name, now
    return settings


def dataset_settings(settings: Config, name: str) -> DatasetSettings:
    """The data, teacher, ``num_images`` and ``explain`` of one dataset."""
    return getattr(settings.settings, name)


def _teacher_config(dataset: DatasetSettings, home: Path) -> TeacherSettings:
    return TeacherSettings(
        workdir=str(home),
        train_if_missing=True,
        model=dataset.teacher.model,
        train=dataset.teacher.train,
    )


def run_part(
    dataset: DatasetSettings,
    name: str,
    seed: int,
    key,
    plan: measure.Plan,
    workdir,
    data,
) -> dict:
    """Trains (or resumes) one teacher and measures it; returns the part."""
    home = Path(workdir) / "teachers" / name / f"seed{seed}"
    model, params, teacher = resolve_teacher(
        _teacher_config(dataset, home), dataset.data, data, home, seed=seed
    )
    scores = teacher_scores(model, params, data["test"], data["spec"].num_classes)
    part = measure.measure_teacher(model, params, data, dataset, plan, key)
    part["teacher"] = {
        "seed": seed,
        "dir": teacher["dir"],
        "epochs_done": teacher["epochs_done"],
        "test_scores": scores,
        "test_iou": np.asarray(
            teacher_iou(model, params, data["test"], data["spec"].num_classes)
        ),
    }
    return part


def teacher_iou(model, params, split, num_classes) -> list[float]:
    """Per-class test IoU of a teacher."""
    from segxai_jax.training import evaluate

    return list(
        evaluate(model, params, split, num_classes=num_classes, batch_size=100)["iou"]
    )


# The study in units (see experiments.shared.study): one unit per (dataset,
# teacher seed), i.e. one teacher trained and measured.
NAME = "benchmark"
AXES = ("datasets", "teacher_seeds")
PRESENTATION = ()


def units(settings: Config) -> list[Unit]:
    return [
        Unit(f"{name}_seed{seed}", {"dataset": name, "seed": seed}, kind=name)
        for name in settings.datasets
        for seed in settings.teacher_seeds
    ]


def plan(settings: Config) -> measure.Plan:
    """What :func:`measure.measure_teacher` needs of the settings."""
    return measure.Plan(
        methods=settings.methods,
        substrates=settings.substrates,
        faithfulness=settings.faithfulness,
        sanity=settings.sanity,
        timing_repeats=settings.timing_repeats,
    )


def prepare(settings: Config, workdir, timer) -> dict:
    """Nothing is shared but the data, loaded per dataset when first needed."""
    del settings
    return {"workdir": Path(workdir), "timer": timer, "data": {}}


def _data(settings: Config, name: str, context: dict) -> dict:
    if name not in context["data"]:
        with context["timer"](f"data/{name}"):
            data = load_data(dataset_settings(settings, name).data)
        context["data"][name] = data
    return context["data"][name]


def run_unit(settings: Config, unit: Unit, context: dict):
    """Trains (or resumes) one teacher and measures it (teacher ``k`` uses
    ``fold_in(key(seed), k)``)."""
    name, seed = unit.settings["dataset"], unit.settings["seed"]
    key = jax.random.fold_in(jax.random.key(settings.seed), seed)
    part = run_part(
        dataset_settings(settings, name),
        name,
        seed,
        key,
        plan(settings),
        context["workdir"],
        _data(settings, name, context),
    )
    return to_strict_json(part), None


def _parts(settings: Config, records) -> dict[str, list[dict]]:
    parts = {name: [] for name in settings.datasets}
    for record in records:
        parts[record.unit.settings["dataset"]].append(record.result)
    return {name: entries for name, entries in parts.items() if entries}


def aggregate(settings: Config, records) -> dict:
    """Pooled over the finished teachers: leaderboards, verdicts, sanity, cost."""
    return pooling.summarise(_parts(settings, records), plan(settings))


def findings(summary: dict, settings: Config) -> list[Finding]:
    """The seed paper's claims, as pooled (also under ``paper_findings``)."""
    del settings
    return [Finding(**f) for f in summary["paper_findings"]]


def figures(workdir, settings: Config, records, context: dict) -> dict:
    del context
    summary = aggregate(settings, records)
    return reporting.make_figures(workdir, summary, settings.substrates)


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    parts = _parts(settings, records)
    return {
        "datasets": {
            name: {
                "spec": dataclasses.asdict(_data(settings, name, context)["spec"]),
                "teachers": [part["teacher"] for part in entries],
                "targets": [part["targets"] for part in entries],
                "costs": [part["costs"] for part in entries],
            }
            for name, entries in parts.items()
        },
        **summary,
    }


def report(completed: dict) -> str:
    return reporting.report_markdown(completed)


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing (dataset, seed) units; returns what results.json holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
