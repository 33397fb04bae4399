"""The main job: dataset -> teacher U-Net -> evaluation -> report.

Run through ``experiments/main.py`` with ``configs/quickstart.py``. Stages:

1. build (or reuse) the TextureDigits TFDS dataset and load it into memory;
2. train a U-Net teacher with per-epoch Orbax checkpoints in ``teacher/``
   (a killed run resumes where it stopped);
3. evaluate on the validation and test splits;
4. write figures, ``results.json`` and ``report.md``.
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

import jax
import numpy as np

from experiments import common
from experiments.reporting import Timer, markdown_table, write_json
from segxai_jax import viz
from segxai_jax.models import UNet, UNetConfig, count_flops, count_params
from segxai_jax.training import (
    TrainConfig,
    ensure_writable_dir,
    evaluate,
    train,
    write_atomic,
)


def run(config, workdir: str | Path) -> dict:
    """Runs the quickstart; returns the results written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()

    with timer("data"):
        data = common.load_data(config.data)
    spec = data["spec"]

    model_config = UNetConfig(num_classes=spec.num_classes, **config.model.to_dict())
    model = UNet(model_config)
    train_config = TrainConfig(seed=config.seed, **config.train.to_dict())
    teacher_dir = ensure_writable_dir(workdir / "teacher", name="teacher directory")
    common.save_model_config(teacher_dir, model_config)

    with timer("train"):
        result = train(
            model,
            data["train"],
            data["validation"],
            config=train_config,
            num_classes=spec.num_classes,
            workdir=teacher_dir,
            run_fingerprint={
                "model": dataclasses.asdict(model_config),
                "data": config.data.to_dict(),
            },
        )
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
        "seconds": timer.seconds,
        "figures": figures,
        "environment": _environment(),
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


def _environment() -> dict:
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": __import__("os").cpu_count(),
    }


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
        "## Wall time",
        "",
        markdown_table(["stage", "seconds"], list(seconds.items())),
        "",
        f"Environment: {results['environment']}",
        "",
    ]
    return "\n".join(lines)
