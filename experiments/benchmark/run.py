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
from experiments.benchmark.config import METHODS
from experiments.shared.data import load_data
from experiments.shared.methods import MethodOptions
from experiments.shared.options import field, from_section
from experiments.shared.results import Timer, environment, to_strict_json, write_json
from experiments.shared.teacher import resolve_teacher, teacher_scores
from segxai_jax.data import KNOWN_DATASETS, dataset_spec
from segxai_jax.fills import FILL_KINDS
from segxai_jax.region_scores import SCORES
from segxai_jax.training import ensure_writable_dir, write_atomic

PARTS_DIR = "parts"


@dataclasses.dataclass(frozen=True)
class ExplainOptions(MethodOptions):
    """The shared method settings (``timing_repeats`` is the benchmark's)."""

    timing_repeats: int = field(minimum=1, default=1)


@dataclasses.dataclass(frozen=True)
class DatasetOptions:
    num_images: int = field(minimum=2)
    explain: ExplainOptions = field()


@dataclasses.dataclass(frozen=True)
class FaithfulnessOptions:
    num_steps: int = field(minimum=1)
    score: str = field(choices=SCORES)
    step_chunk_size: int = field(minimum=1)
    pair_chunk_size: int = field(minimum=1)


@dataclasses.dataclass(frozen=True)
class SanityOptions:
    noise_radius: float = field(minimum=0.0)
    substrate: str = field(choices=FILL_KINDS)


@dataclasses.dataclass(frozen=True)
class Options:
    """Everything the benchmark reads from its config, checked (config.py)."""

    seed: int = field(minimum=0)
    teacher_seeds: tuple[int, ...] = field(minimum=0)
    datasets: tuple[str, ...] = field(choices=KNOWN_DATASETS)
    methods: tuple[str, ...] = field()
    substrates: tuple[str, ...] = field(choices=FILL_KINDS)
    timing_repeats: int = field(minimum=1)
    faithfulness: FaithfulnessOptions = field()
    sanity: SanityOptions = field()

    @classmethod
    def from_config(cls, config, workdir=None) -> Options:
        """Checks every field before any data is read or anything written."""
        del workdir
        options = from_section(cls, config, "", ignore=("experiment", "settings"))
        for name in ("teacher_seeds", "datasets", "methods", "substrates"):
            values = getattr(options, name)
            if not values:
                raise ValueError(f"config.{name}: expected at least one entry")
            if len(set(values)) != len(values):
                raise ValueError(
                    f"config.{name}: entries must be distinct, got {values}"
                )
        unknown = [m for m in options.methods if m not in METHODS]
        if unknown:
            raise ValueError(
                f"config.methods: unknown method names {unknown}; available: "
                f"{list(METHODS)}"
            )
        if options.sanity.substrate not in options.substrates:
            raise ValueError(
                f"config.sanity.substrate: expected one of config.substrates "
                f"{options.substrates}, got {options.sanity.substrate!r}"
            )
        for name in options.datasets:
            if name not in config.settings:
                raise ValueError(
                    f"config.settings.{name}: missing; every dataset of "
                    "config.datasets needs data, teacher, num_images and explain"
                )
            dataset_options(config, name)
            data = config.settings[name].data
            if data.name != name:
                raise ValueError(
                    f"config.settings.{name}.data.name: expected {name!r}, got "
                    f"{data.name!r}"
                )
            dataset_spec(name, data.config or None)  # a bad config name, now
        return options


def dataset_options(config, name: str) -> DatasetOptions:
    """The checked ``num_images`` and ``explain`` of one dataset."""
    return from_section(
        DatasetOptions,
        config.settings[name],
        f"settings.{name}",
        ignore=("data", "teacher"),
    )


def _part_path(workdir: Path, dataset: str, seed: int) -> Path:
    return workdir / PARTS_DIR / f"{dataset}_seed{seed}.json"


def _teacher_config(settings, home: Path):
    teacher = settings.teacher.copy_and_resolve_references()
    with teacher.unlocked():
        teacher.workdir = str(home)
        teacher.train_if_missing = True
    return teacher


def run_part(config, opts, name: str, seed: int, workdir: Path, data) -> dict:
    """Trains (or resumes) one teacher and measures it; returns the part."""
    settings = config.settings[name]
    home = workdir / "teachers" / name / f"seed{seed}"
    model, params, teacher = resolve_teacher(
        _teacher_config(settings, home), settings.data, data, home, seed=seed
    )
    scores = teacher_scores(model, params, data["test"], data["spec"].num_classes)
    key = jax.random.fold_in(jax.random.key(opts.seed), seed)
    part = measure.measure_teacher(
        model,
        params,
        data,
        dataset_options(config, name),
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


def run(config, workdir: str | Path) -> dict:
    """Runs the benchmark; returns the results written to ``results.json``."""
    opts = Options.from_config(config)
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()
    parts: dict[str, list[dict]] = {}
    for name in opts.datasets:
        settings = config.settings[name]
        with timer(f"data/{name}"):
            data = load_data(settings.data)
        for seed in opts.teacher_seeds:
            path = _part_path(workdir, name, seed)
            if path.exists():
                part = json.loads(path.read_text())
            else:
                with timer(f"teacher_and_measure/{name}/seed{seed}"):
                    part = to_strict_json(
                        run_part(config, opts, name, seed, workdir, data)
                    )
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(part) + "\n")
            parts.setdefault(name, []).append(part)
        parts[name] = {"parts": parts[name], "spec": data["spec"]}

    with timer("summaries"):
        summary = findings.summarise({n: p["parts"] for n, p in parts.items()}, opts)
    with timer("figures"):
        figures = report.make_figures(workdir, summary, opts)
    results = {
        "config": config.to_dict(),
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
