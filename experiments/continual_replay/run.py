"""Saliency-guided replay compression for class-incremental segmentation.

The question (seed paper, third application): at an equal replay-memory
budget in bytes, does storing exemplars compressed around their salient
region (a salient patch, Saha & Roy 2023; a salient box at full resolution
with the rest downsampled, CIM, Luo et al. 2023) beat storing fewer full
images, and beat the same compression at a random place?

Protocol. TextureDigits generated in memory (:func:`generate_split` with the
config's sizes), the ten digits split into tasks of ``classes_per_task``
classes, MiB labelling (only the current task's classes are labelled,
:mod:`segxai_jax.continual.stream`). Every strategy x budget x seed trains a
U-Net from scratch through the tasks with a replay memory of
``budget_images`` times the bytes of one full exemplar; exemplars are
explained by the current model (Seg-Grad-CAM at the bottleneck, target = the
task class with the largest area, ROI = its ground-truth pixels), compressed
and inserted with the memory policy after each task. Bounds: fine-tuning
without replay and joint training on all classes (``epochs_per_task`` epochs
over all images: each image is seen as often as in the stream). Measured per
run: final mIoU over all classes on the test split, average forgetting,
backward transfer, exemplars stored. Seeds change the model initialisation,
batch order and memory sampling; the data is fixed.

Each run checkpoints after every task into ``<workdir>/runs/<name>/``; a
killed experiment resumes where it stopped. Stages: the runs and their
summaries (:mod:`.measure`), the verdicts (:mod:`.findings`), figures and
``report.md`` (:mod:`.report`).

References:
  Saha, Roy. Saliency guided experience packing for replay in continual
  learning. WACV 2023.
  Luo et al. Class-incremental exemplar compression for class-incremental
  learning (CIM). CVPR 2023.
  Cermelli et al. Modeling the background for incremental learning in
  semantic segmentation (MiB). CVPR 2020.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import numpy as np
from flax import traverse_util

from experiments.continual_replay import measure
from experiments.continual_replay import report as reporting
from experiments.continual_replay.config import Config
from experiments.continual_replay.findings import evaluate_findings
from experiments.shared.options import config_to_dict
from experiments.shared.study import run_study
from experiments.shared.units import Unit
from segxai_jax.continual import ContinualConfig, split_classes
from segxai_jax.data.texture_digits import NUM_CLASSES
from segxai_jax.models import UNetConfig
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """Checks of fields together: names, the task split, the U-Net, compressors."""
    del workdir  # nothing depends on it
    names = [s.name for s in settings.strategies]
    if len(set(names)) != len(names):
        raise ValueError(f"config.strategies: expected unique names, got {names}")
    try:
        split_classes(NUM_CLASSES, classes_per_task=settings.classes_per_task)
    except ValueError as error:
        raise ValueError(f"config.{error}") from error
    try:
        model = UNetConfig(num_classes=NUM_CLASSES, **config_to_dict(settings.model))
    except (TypeError, ValueError) as error:
        raise ValueError(f"config.model: {error}") from error
    if settings.saliency_layer not in model.probe_names:
        raise ValueError(
            f"config.saliency_layer: expected a probe point of the U-Net "
            f"{model.probe_names}, got {settings.saliency_layer!r}"
        )
    try:
        ContinualConfig(**config_to_dict(settings.train))
    except (TypeError, ValueError) as error:
        raise ValueError(f"config.train: {error}") from error
    hw = (settings.data.image_size, settings.data.image_size)
    for i, strategy in enumerate(settings.strategies):
        for option in ("prototype_scope", "distillation"):
            if getattr(strategy, option) is not None and strategy.kind != "prototypes":
                raise ValueError(
                    f"config.strategies[{i}].{option}: applies to the "
                    f"prototypes kind only, got kind {strategy.kind!r}; leave it out"
                )
        if strategy.kind == "downsample" and None in (
            strategy.box_size,
            strategy.factor,
        ):
            raise ValueError(
                f"config.strategies[{i}]: the downsample kind needs box_size "
                "and factor (the box whose bytes it matches)"
            )
        try:
            measure.make_strategy_compressor(strategy, hw)
        except ValueError as error:
            raise ValueError(f"config.strategies[{i}]: {error}") from error
    return settings


# The study in units (see experiments.shared.study): one unit per (seed,
# strategy, budget), i.e. one training run through the task stream.
NAME = "continual_replay"
AXES = ("seeds", "strategies", "budget_images")
PRESENTATION = ()


def _described(strategy) -> dict:
    """The strategy as its units are keyed (``saliency``,
    ``prototype_scope`` and ``distillation`` only when set, so the units
    committed before those fields existed keep their fingerprint)."""
    described = dataclasses.asdict(strategy)
    for optional in ("saliency", "prototype_scope", "distillation"):
        if described.get(optional) is None:
            described.pop(optional, None)
    return described


def units(settings: Config) -> list[Unit]:
    """One unit per run, in the order seed, strategy, budget (bounds: budget 0)."""
    out = []
    for seed in settings.seeds:
        for strategy in settings.strategies:
            # Bounds and prototypes store no exemplars: one run, budget 0.
            bound = strategy.kind in (*measure.BOUNDS, *measure.FEATURE_REPLAY)
            for budget in (0,) if bound else settings.budget_images:
                out.append(
                    Unit(
                        f"{strategy.name}_b{budget}_s{seed}",
                        {
                            "seed": seed,
                            "budget_images": budget,
                            "strategy": _described(strategy),
                        },
                        kind=strategy.name,
                    )
                )
    return out


def prepare(settings: Config, workdir, timer) -> dict:
    """The generated stream data and what every run shares."""
    with timer("data"):
        data = measure.load_stream_data(settings.data)
    stream = measure.setup_stream(
        settings.model, settings.classes_per_task, settings.saliency_layer, data
    )
    return {"data": data, "stream": stream, "workdir": workdir}


def run_unit(settings: Config, unit: Unit, context: dict):
    """Trains one run through the stream (resumable per task in the workdir).

    Returns:
      ``(record, sidecar)``: the run's scores; the final parameters of the
      first seed's replay runs in the sidecar (for ``exemplars.png``).
    """
    strategy = next(
        s for s in settings.strategies if s.name == unit.settings["strategy"]["name"]
    )
    record, params = measure.train_run(
        context["stream"],
        strategy,
        unit.settings["budget_images"],
        unit.settings["seed"],
        context["data"],
        Path(context["workdir"]),
        recipe=config_to_dict(settings.train),
        fingerprint={
            "model": config_to_dict(settings.model),
            "data": config_to_dict(settings.data),
        },
    )
    keep = (
        record["compressor"] is not None and unit.settings["seed"] == settings.seeds[0]
    )
    return record, (flatten_params(params) if keep else None)


def aggregate(settings: Config, records) -> dict:
    return measure.summarise([r.result for r in records], settings.budget_images)


def findings(summary: dict, settings: Config):
    del settings
    return evaluate_findings(summary)


def figures(workdir, settings: Config, records, context: dict) -> dict:
    """``miou_vs_bytes.png``; ``exemplars.png`` from the first seed's last replay
    run whose parameters are at hand (its sidecar)."""
    params = None
    for record in records:
        result = record.result
        if result["compressor"] is not None and result["seed"] == settings.seeds[0]:
            arrays = record.sidecar()
            if arrays is not None:
                params = unflatten_params(arrays)
    stream = context["stream"]
    return reporting.make_figures(
        Path(workdir),
        aggregate(settings, records),
        data=context["data"],
        strategies=settings.strategies,
        hw=stream.hw,
        params=params,
        saliency=stream.saliency,
        tasks=stream.tasks,
    )


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    stream = context["stream"]
    return {
        "options": {
            "strategies": [s.name for s in settings.strategies],
            "budget_images": settings.budget_images,
            "seeds": settings.seeds,
            "classes_per_task": settings.classes_per_task,
        },
        "tasks": [list(t) for t in stream.tasks],
        "full_exemplar_bytes": stream.full_bytes,
        "data": config_to_dict(settings.data),
        "model": config_to_dict(settings.model),
        "train": config_to_dict(settings.train),
        "runs": [r.result for r in records],
        "summary": summary,
    }


def report(completed: dict) -> str:
    return reporting.report_markdown(completed)


def flatten_params(params) -> dict[str, np.ndarray]:
    """Parameters as ``{"a/b/kernel": array}`` for a sidecar."""
    flat = traverse_util.flatten_dict(jax.device_get(params), sep="/")
    return {k: np.asarray(v) for k, v in flat.items()}


def unflatten_params(arrays: dict) -> dict:
    return traverse_util.unflatten_dict(dict(arrays), sep="/")


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing (seed, strategy, budget) units; returns results.json."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
