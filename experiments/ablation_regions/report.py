"""Figures and the markdown report of :mod:`experiments.ablation_regions`."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from experiments.ablation_regions.measure import METRICS, REGIONS
from experiments.shared.findings import Finding, findings_markdown
from experiments.shared.stats import fmt_ci
from experiments.shared.tables import markdown_table, wall_time_section
from segxai_jax import viz
from segxai_jax.explainers import seg_ablation_cam
from segxai_jax.probes import make_probe

_CAM_TITLES = {"full": "all cells", "foreground": "fg cells", "background": "bg cells"}


def make_figures(
    workdir,
    model,
    params,
    images,
    targets,
    summary,
    *,
    threshold: float,
    layers,
    figure_layer: str,
    num_figure_images: int,
    deactivation: dict,
) -> dict:
    """The bar chart of every layer at ``threshold`` and the maps at
    ``figure_layer`` (``deactivation``: see :func:`.measure.measure_layer`)."""
    threshold = str(threshold)

    def series(metric):
        return {
            region: tuple(
                np.asarray(
                    [summary[threshold][layer][region][metric][k] for layer in layers]
                )
                for k in ("mean", "ci_low", "ci_high")
            )
            for region in REGIONS
        }

    figures = {
        "bars": viz.grouped_bars(
            {
                METRICS["rel_change"]: series("rel_change"),
                METRICS["dice_change"]: series("dice_change"),
                METRICS["rel_change_per_area"]: series("rel_change_per_area"),
            },
            layers,
            workdir / "foreground_background.png",
            ylabel="mean over images (95 % CI)",
        )
    }
    shown = min(num_figure_images, len(images))
    probe = make_probe(model, figure_layer, input_shape=tuple(images.shape[1:]))
    maps = {}
    for region in ("full", *REGIONS):
        explain = jax.jit(
            seg_ablation_cam(
                probe,
                region=region,
                region_threshold=float(threshold),
                **deactivation,
            )
        )
        maps[_CAM_TITLES[region]] = np.stack(
            [
                np.asarray(
                    explain(
                        None,
                        params,
                        images[i],
                        jax.tree.map(lambda leaf, i=i: leaf[i], targets),
                    )
                )
                for i in range(shown)
            ]
        )
    maps["ROI"] = np.asarray(targets.mask[:shown])
    figures["cams"] = viz.explanation_grid(
        np.asarray(images[:shown]),
        maps,
        workdir / "ablation_cams.png",
        row_labels=[
            f"class {int(c) - 1}" for c in np.asarray(targets.class_id[:shown])
        ],
    )
    return {k: Path(v).name for k, v in figures.items()}


def report_markdown(results) -> str:
    """The report, from ``results.json`` alone."""
    teacher, config = results["teacher"], results["config"]
    findings = [Finding(**f) for f in results["findings"]]
    lines = [
        "# Foreground vs background deactivation per layer",
        "",
        "Reproduces the region study of Seg-Ablation-CAM (Gipiskis, Chiaro, "
        "Annunziata, Piccialli, *Ablation studies in activation maps for "
        "explainable semantic segmentation in Industry 4.0*, EUROCON 2023).",
        "",
        f"Teacher: `{teacher['dir']}` (test mIoU "
        f"{teacher['test_scores']['miou']:.3f}). {results['images']['count']} test "
        "images; target = the largest predicted digit, its predicted region M "
        "frozen as ROI, S_c = summed logits over M. Deactivation: "
        + (
            f"set to {config['ablation_value']:g}"
            if config["mode"] == "value"
            else f"multiplied by {config['scale']:g}"
        )
        + ". Foreground = cells of the layer's grid whose ROI share exceeds the "
        "region threshold; background = the rest. Mean [95 % CI] over images.",
        "",
        "## Finding",
        "",
        findings_markdown(findings),
        "",
    ]
    for threshold, per_layer in results["summary"].items():
        lines += [f"## Region threshold {threshold}", ""]
        rows = []
        for layer, entry in per_layer.items():
            fg, bg, diff = entry["foreground"], entry["background"], entry["difference"]
            rows.append(
                (
                    layer,
                    results["channels"][layer],
                    fg["region_fraction"]["mean"],
                    fmt_ci(fg["rel_change"]),
                    fmt_ci(bg["rel_change"]),
                    fmt_ci(diff["rel_change"]),
                    fmt_ci(fg["dice_change"]),
                    fmt_ci(bg["dice_change"]),
                    fmt_ci(diff["dice_change"]),
                )
            )
        lines += [
            markdown_table(
                [
                    "layer",
                    "channels",
                    "fg share",
                    "fg abs. rel. change S_c",
                    "bg abs. rel. change S_c",
                    "fg - bg",
                    "fg 1 - Dice",
                    "bg 1 - Dice",
                    "fg - bg",
                ],
                rows,
            ),
            "",
            "Per unit area (divided by the region's share of the grid), the "
            "signed relative drop of S_c (negative: the deactivation raises S_c) "
            "and single channels (mean over channels):",
            "",
        ]
        rows = []
        for layer, entry in per_layer.items():
            fg, bg, diff = entry["foreground"], entry["background"], entry["difference"]
            rows.append(
                (
                    layer,
                    fmt_ci(diff["rel_change_per_area"]),
                    fmt_ci(diff["dice_change_per_area"]),
                    fmt_ci(fg["rel_drop"]),
                    fmt_ci(bg["rel_drop"]),
                    fmt_ci(fg["channel_rel_change"]),
                    fmt_ci(bg["channel_rel_change"]),
                    fmt_ci(diff["channel_dice_change"]),
                    entry["empty_foreground"],
                )
            )
        lines += [
            markdown_table(
                [
                    "layer",
                    "fg - bg abs. rel. change / share",
                    "fg - bg (1 - Dice) / share",
                    "fg signed rel. drop",
                    "bg signed rel. drop",
                    "fg 1-channel abs. rel. change",
                    "bg 1-channel abs. rel. change",
                    "fg - bg 1-channel 1 - Dice",
                    "images with empty fg",
                ],
                rows,
            ),
            "",
        ]
    lines += [
        f"![foreground vs background]({results['figures']['bars']})",
        "",
        f"Seg-Ablation-CAM at `{config['figure_layer']}`, channels deactivated in "
        "all cells, in the foreground cells only and in the background cells "
        "only; last column: the ROI M.",
        "",
        f"![cams]({results['figures']['cams']})",
        "",
        *wall_time_section(results["seconds"]),
    ]
    return "\n".join(lines)
