"""The main job: dataset -> teacher U-Net -> evaluation -> explanations -> report.

Stages:

1. build (or reuse) the TextureDigits TFDS dataset and load it into memory;
2. train the U-Net teacher of ``config.teacher`` with per-epoch Orbax
   checkpoints in ``<workdir>/teacher/`` (a killed run resumes where it
   stopped; a finished one is only reloaded);
3. evaluate on the validation and test splits;
4. explain a few validation images with every method of
   :mod:`experiments.shared.methods` (target: the largest predicted digit, its
   predicted region as ROI), timing each method (:mod:`.measure`);
5. write figures, ``results.json`` and ``report.md`` (:mod:`.report`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from experiments.quickstart import measure, report
from experiments.quickstart.config import Config
from experiments.shared.data import load_data
from experiments.shared.results import Timer, environment, write_json
from experiments.shared.teacher import recipe_from_config, train_teacher
from segxai_jax.models import count_flops, count_params
from segxai_jax.training import ensure_writable_dir, evaluate, write_atomic


def run(settings: Config, workdir: str | Path) -> dict:
    """Runs the quickstart; returns the results written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()

    with timer("data"):
        data = load_data(settings.data)
    spec = data["spec"]
    recipe = recipe_from_config(
        settings.teacher,
        settings.data,
        seed=settings.seed,
        num_classes=spec.num_classes,
        in_channels=spec.num_channels,
    )
    with timer("train"):
        model, result = train_teacher(recipe, workdir, data)
    params = result.state.params

    with timer("evaluate"):
        scores = {
            split: evaluate(
                model,
                params,
                data[split],
                num_classes=spec.num_classes,
                batch_size=recipe.train.eval_batch_size,
            )
            for split in ("validation", "test")
        }

    with timer("figures"):
        figures = report.make_figures(
            workdir,
            model,
            params,
            data,
            result.history,
            settings.report.num_figure_images,
        )

    with timer("explain"):
        explanations = measure.explain_and_time(
            workdir, model, params, data, settings.explain, seed=settings.seed
        )
    figures.update(explanations.pop("figures"))

    results = {
        "dataset": {
            "name": spec.name,
            "config": settings.data.config,
            "num_classes": spec.num_classes,
            "sizes": {
                s: int(len(data[s]["image"])) for s in ("train", "validation", "test")
            },
        },
        "model": {
            "config": dataclasses.asdict(recipe.model),
            "num_params": count_params(recipe.model),
            "forward_gflops_per_image": count_flops(
                recipe.model, height=spec.image_size
            )
            / 1e9,
        },
        "train": {
            "config": dataclasses.asdict(recipe.train),
            "history": result.history,
            "resumed_from_epoch": result.resumed_from_epoch,
        },
        "scores": scores,
        "explanations": explanations,
        "seconds": timer.seconds,
        "figures": figures,
        "environment": environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", report.report_markdown(results, spec))
    return results
