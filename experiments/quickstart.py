"""The main job: dataset -> teacher U-Net -> evaluation -> report.

Run through ``experiments/main.py`` with ``configs/quickstart.py``. Stages:

1. build (or reuse) the TextureDigits TFDS dataset and load it into memory;
2. train a U-Net teacher with per-epoch Orbax checkpoints in ``teacher/``
   (a killed run resumes where it stopped);
3. evaluate on the validation and test splits;
4. explain a few validation images with every method of
   :mod:`experiments.methods` (target: the largest predicted digit, its
   predicted region as ROI), timing each method;
5. write figures, ``results.json`` and ``report.md``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from experiments import common
from experiments.methods import build_methods
from experiments.reporting import Timer, markdown_table, wall_time_section, write_json
from segxai_jax import viz
from segxai_jax.explainers import explain_batch, explain_targets
from segxai_jax.metrics import measure_cost
from segxai_jax.models import count_flops, count_params
from segxai_jax.targets import class_targets
from segxai_jax.training import (
    TrainConfig,
    ensure_writable_dir,
    evaluate,
    write_atomic,
)


def run(config, workdir: str | Path) -> dict:
    """Runs the quickstart; returns the results written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()

    with timer("data"):
        data = common.load_data(config.data)
    spec = data["spec"]

    with timer("train"):
        model, result = common.train_teacher(config, workdir, data)
    model_config = model.config
    train_config = TrainConfig(seed=config.seed, **config.train.to_dict())
    params = result.state.params

    with timer("evaluate"):
        scores = {
            split: evaluate(
                model,
                params,
                data[split],
                num_classes=spec.num_classes,
                batch_size=train_config.eval_batch_size,
            )
            for split in ("validation", "test")
        }

    with timer("figures"):
        figures = _figures(workdir, model, params, data, result.history, config)

    with timer("explain"):
        explanations = _explain(workdir, model, params, data, config)
    figures.update(explanations.pop("figures"))

    results = {
        "dataset": {
            "name": spec.name,
            "config": config.data.config,
            "num_classes": spec.num_classes,
            "sizes": {
                s: int(len(data[s]["image"])) for s in ("train", "validation", "test")
            },
        },
        "model": {
            "config": dataclasses.asdict(model_config),
            "num_params": count_params(model_config),
            "forward_gflops_per_image": count_flops(
                model_config, height=spec.image_size
            )
            / 1e9,
        },
        "train": {
            "config": dataclasses.asdict(train_config),
            "history": result.history,
            "resumed_from_epoch": result.resumed_from_epoch,
        },
        "scores": scores,
        "explanations": explanations,
        "seconds": timer.seconds,
        "figures": figures,
        "environment": common.environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", _report(results, spec))
    return results


def _figures(workdir, model, params, data, history, config) -> dict:
    count = config.report.num_figure_images
    images = data["validation"]["image"][:count]
    predictions = np.asarray(model.apply({"params": params}, images).argmax(-1))
    spec = data["spec"]
    return {
        "segmentation": Path(
            viz.segmentation_grid(
                images,
                data["validation"]["mask"][:count],
                predictions,
                workdir / "segmentation.png",
                spec.num_classes,
                class_names=spec.class_names,
            )
        ).name,
        "training_curve": Path(
            viz.training_curve(history, workdir / "training_curve.png")
        ).name,
    }


def _explain(workdir, model, params, data, config) -> dict:
    options = config.explain
    spec = data["spec"]
    images = data["validation"]["image"][: options.num_images]
    predicted = np.asarray(model.apply({"params": params}, images).argmax(-1))
    truth = data["validation"]["mask"][: options.num_images]
    targets = common.largest_digit_targets(predicted, truth, spec.num_classes)
    methods = build_methods(model, image_size=spec.image_size, options=options)
    key = jax.random.key(config.seed)
    maps, table = {}, []
    for name, method in methods.items():
        batched = explain_batch(method.explain, num_classes=spec.num_classes)
        cost, output = measure_cost(
            batched,
            key,
            params,
            images,
            targets,
            repeats=options.timing_repeats,
            items_per_call=len(images),
        )
        maps[name] = np.asarray(output)
        table.append(
            {
                "method": name,
                "description": method.description,
                "passes": str(method.passes),
                "compile_seconds": cost.compile_seconds,
                "seconds_per_image": cost.seconds_per_item,
            }
        )
    labels = [spec.class_names[int(c)] for c in np.asarray(targets.class_id)]
    figures = {
        "explanations": Path(
            viz.explanation_grid(
                images,
                maps,
                workdir / "explanations.png",
                row_labels=[f"class {name}" for name in labels],
            )
        ).name
    }
    # Every class present in the first image, in one call per method.
    first = predicted[0] if np.any(predicted[0] > 0) else data["validation"]["mask"][0]
    all_targets = class_targets(first, spec.num_classes)
    per_class = {}
    for name in ("gradient", "Seg-Grad-CAM"):
        explain_all = jax.jit(explain_targets(methods[name].explain))
        per_class[name] = np.asarray(explain_all(key, params, images[0], all_targets))
    count = len(all_targets.class_id)
    figures["all_targets"] = Path(
        viz.explanation_grid(
            np.repeat(images[:1], count, axis=0),
            per_class,
            workdir / "explanations_all_classes.png",
            row_labels=[
                f"class {spec.class_names[int(c)]}"
                for c in np.asarray(all_targets.class_id)
            ],
        )
    ).name
    return {"targets": labels, "methods": table, "figures": figures}


def _report(results: dict, spec) -> str:
    scores = results["scores"]
    model = results["model"]
    seconds = results["seconds"]
    lines = [
        "# Quickstart report",
        "",
        f"Dataset `{results['dataset']['name']}/{results['dataset']['config']}` "
        f"({results['dataset']['sizes']}), U-Net with {model['num_params']:,} "
        f"parameters and {model['forward_gflops_per_image']:.3f} GFLOP per image.",
        "",
        "## Segmentation quality",
        "",
        markdown_table(
            ["split", "mIoU", "pixel accuracy", "mean Dice"],
            [
                (s, v["miou"], v["pixel_accuracy"], v["mean_dice"])
                for s, v in scores.items()
            ],
        ),
        "",
        "Per-class IoU (validation):",
        "",
        markdown_table(
            ["class", "IoU", "Dice"],
            [
                (name, iou, dice)
                for name, iou, dice in zip(
                    spec.class_names,
                    scores["validation"]["iou"],
                    scores["validation"]["dice"],
                    strict=True,
                )
            ],
        ),
        "",
        f"![segmentation]({results['figures']['segmentation']})",
        "",
        "## Training",
        "",
        markdown_table(
            ["epoch", "train loss", "val mIoU", "seconds"],
            [
                (h["epoch"], h["train_loss"], h["val_miou"], h["train_seconds"])
                for h in results["train"]["history"]
            ],
        ),
        "",
        f"![training curve]({results['figures']['training_curve']})",
        "",
        "## Explanations",
        "",
        "Validation images, each explained for its largest predicted digit "
        "(ROI = the predicted region of that class, logits summed over it). "
        "Time per image is the median steady-state time of a jitted batch "
        f"of {len(results['explanations']['targets'])} images divided by the "
        "batch size; compile time is the first-call overhead (loading from "
        "the persistent compilation cache when a previous run filled it).",
        "",
        markdown_table(
            ["method", "settings", "passes per target", "s / image", "compile s"],
            [
                (
                    m["method"],
                    m["description"],
                    m["passes"],
                    m["seconds_per_image"],
                    m["compile_seconds"],
                )
                for m in results["explanations"]["methods"]
            ],
        ),
        "",
        f"![explanations]({results['figures']['explanations']})",
        "",
        "Every class present in the first image, one call per method "
        "(targets vmapped):",
        "",
        f"![all classes]({results['figures']['all_targets']})",
        "",
        *wall_time_section(seconds),
        f"Environment: {results['environment']}",
        "",
    ]
    return "\n".join(lines)
