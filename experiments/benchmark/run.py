"""The segmentation-XAI benchmark: datasets x teachers x methods x metrics.

Run through ``experiments/main.py`` with ``benchmark/config.py``. Stages, for
every dataset of ``config.datasets`` and every seed of ``teacher_seeds``:

1. the teacher: trained (or resumed) with that seed in
   ``workdir/teachers/<dataset>/seed<k>`` through
   :mod:`experiments.shared.teacher`, so a teacher of another recipe is refused;
2. :func:`experiments.benchmark.measure.measure_teacher`: maps, faithfulness
   with every substrate, localisation, leakage, complexity, cost and the
   metric sanity check on the first ``num_images`` test images;
3. the part is written to ``workdir/parts/<dataset>_seed<k>.json``; a killed
   run resumes at the first missing part (the work directory's ``run.json``
   guarantees the config did not change);

then :mod:`experiments.benchmark.findings` pools the parts (per image, the
mean over teachers; images are the unit of every 95 % interval) and
``report.md``, ``results.json`` and the figures are written.

Evaluation keys: teacher ``k`` uses ``fold_in(key(config.seed), k)``, split
into the keys of the maps, the curves' random substrates, the sanity
check's input noise and its re-drawn weights.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import numpy as np

from experiments.benchmark import findings, measure, report
from experiments.benchmark.config import Config, DatasetSettings
from experiments.shared.data import load_data
from experiments.shared.options import config_to_dict
from experiments.shared.recipe import TeacherSettings
from experiments.shared.results import Timer, environment, to_strict_json, write_json
from experiments.shared.teacher import resolve_teacher, teacher_scores
from segxai_jax.data import dataset_spec
from segxai_jax.training import ensure_writable_dir, write_atomic

PARTS_DIR = "parts"


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


def _part_path(workdir: Path, dataset: str, seed: int) -> Path:
    return workdir / PARTS_DIR / f"{dataset}_seed{seed}.json"


def _teacher_config(dataset: DatasetSettings, home: Path) -> TeacherSettings:
    return TeacherSettings(
        workdir=str(home),
        train_if_missing=True,
        model=dataset.teacher.model,
        train=dataset.teacher.train,
    )


def run_part(opts: Config, name: str, seed: int, workdir: Path, data) -> dict:
    """Trains (or resumes) one teacher and measures it; returns the part."""
    dataset = dataset_settings(opts, name)
    home = workdir / "teachers" / name / f"seed{seed}"
    model, params, teacher = resolve_teacher(
        _teacher_config(dataset, home), dataset.data, data, home, seed=seed
    )
    scores = teacher_scores(model, params, data["test"], data["spec"].num_classes)
    key = jax.random.fold_in(jax.random.key(opts.seed), seed)
    part = measure.measure_teacher(
        model,
        params,
        data,
        dataset,
        opts,
        key,
    )
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


def run(settings: Config, workdir: str | Path) -> dict:
    """Runs the benchmark; returns the results written to ``results.json``."""
    opts = resolve(settings)
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()
    parts: dict[str, list[dict]] = {}
    for name in opts.datasets:
        with timer(f"data/{name}"):
            data = load_data(dataset_settings(opts, name).data)
        for seed in opts.teacher_seeds:
            path = _part_path(workdir, name, seed)
            if path.exists():
                part = json.loads(path.read_text())
            else:
                with timer(f"teacher_and_measure/{name}/seed{seed}"):
                    part = to_strict_json(run_part(opts, name, seed, workdir, data))
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(part) + "\n")
            parts.setdefault(name, []).append(part)
        parts[name] = {"parts": parts[name], "spec": data["spec"]}

    with timer("summaries"):
        summary = findings.summarise({n: p["parts"] for n, p in parts.items()}, opts)
    with timer("figures"):
        figures = report.make_figures(workdir, summary, opts)
    results = {
        "config": config_to_dict(opts),
        "datasets": {
            name: {
                "spec": dataclasses.asdict(p["spec"]),
                "teachers": [part["teacher"] for part in p["parts"]],
                "targets": [part["targets"] for part in p["parts"]],
                "costs": [part["costs"] for part in p["parts"]],
            }
            for name, p in parts.items()
        },
        **summary,
        "seconds": timer.seconds,
        "figures": figures,
        "environment": environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", report.report_markdown(results))
    return results
