"""Figures and the markdown report of the quickstart."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.shared.tables import markdown_table, wall_time_section
from segxai_jax import viz


def _mebibytes(value) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f}"


def make_figures(workdir, model, params, data, history, count: int) -> dict:
    """The segmentation grid of ``count`` validation images and the training curve."""
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


def report_markdown(results: dict, spec) -> str:
    """The quickstart's ``report.md`` from its results."""
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
        "the persistent compilation cache when a previous run filled it). "
        "Peak memory is XLA's memory analysis of the compiled batch program "
        "(arguments + outputs + temporaries).",
        "",
        markdown_table(
            [
                "method",
                "settings",
                "passes per target",
                "s / image",
                "compile s",
                "peak MiB (batch)",
            ],
            [
                (
                    m["method"],
                    m["description"],
                    m["passes"],
                    m["seconds_per_image"],
                    m["compile_seconds"],
                    _mebibytes(m.get("peak_bytes")),
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
