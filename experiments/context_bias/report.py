"""Figures and the markdown report of :mod:`experiments.context_bias`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.context_bias.data import CONDITIONS
from experiments.shared.findings import Finding, findings_markdown
from experiments.shared.stats import fmt_ci
from experiments.shared.tables import markdown_table, wall_time_section
from segxai_jax import viz
from segxai_jax.data import TEXTURE_FAMILY_NAMES


def make_figures(
    workdir, pairs, cams, predictions, summary, teachers, num_classes: int, count: int
) -> dict:
    """The first ``count`` pairs: images, CAMs per teacher (names ``teachers``)
    and the biased teacher's predictions (``num_classes`` colours)."""
    shown = min(count, len(pairs["label"]))
    rows = [(i, c) for i in range(shown) for c in CONDITIONS]
    images = np.stack([pairs[c]["image"][i] for i, c in rows])
    maps = {
        f"{name} CAM": np.stack([cams[(name, c)][i] for i, c in rows])
        for name in teachers
    }
    labels = [
        f"{pairs['label'][i]} on {TEXTURE_FAMILY_NAMES[pairs[c]['family'][i]]}\n({c})"
        for i, c in rows
    ]
    figures = {
        "cams": viz.explanation_grid(
            images, maps, workdir / "context_cams.png", row_labels=labels
        )
    }
    figures["segmentation"] = viz.segmentation_grid(
        images,
        np.stack([pairs[c]["mask"][i] for i, c in rows]),
        np.stack([predictions[("biased", c)][i] for i, c in rows]),
        workdir / "context_segmentation_biased.png",
        num_classes,
    )

    def bars(metric):
        return {
            c: tuple(
                np.asarray([summary[n][c][metric][k] for n in teachers])
                for k in ("mean", "ci_low", "ci_high")
            )
            for c in CONDITIONS
        }

    figures["bars"] = viz.grouped_bars(
        {
            "digit Dice": bars("dice"),
            "CAM mass outside the digit": bars("cam_outside_mask"),
            "S_c drop when the context is removed": bars("context_removal_drop"),
        },
        list(teachers),
        workdir / "context_bias.png",
        ylabel="mean over images (95 % CI)",
    )
    return {k: Path(v).name for k, v in figures.items()}


_COLUMNS = {
    "dice": "digit Dice",
    "correct_class": "true class share",
    "shortcut_class": "family class share",
    "missed_as_background": "background share",
    "background_false_digit": "false digit on bg",
    "cam_outside_mask": "CAM mass outside",
    "cam_far_context": "CAM mass far",
    "context_removal_drop": "S_c drop, context removed",
    "context_removal_dice_drop": "Dice drop, context removed",
}


def report_markdown(results) -> str:
    """The report, from ``results.json`` alone."""
    config = results["config"]
    findings = [Finding(**f) for f in results["findings"]]
    teachers = results["teachers"]
    summary = results["summary"]
    rows = [
        (
            name,
            info["dir"],
            "yes" if info["trained_here"] else "no",
            info["biased_test_scores"]["miou"],
            info["biased_test_scores"]["mean_dice"],
        )
        for name, info in teachers.items()
    ]
    lines = [
        "# Context bias: does a biased teacher attend to the biased context?",
        "",
        "Tests the grid-saliency finding (Hoyer et al., NeurIPS 2019) that "
        "context-biased segmentation models rely on, and are explained by, the "
        "biased context.",
        "",
        f"Biased data: `{results['generator']}`. Teachers (scores on the biased "
        "test split):",
        "",
        markdown_table(
            ["teacher", "folder", "trained here", "test mIoU", "test mean Dice"], rows
        ),
        "",
        "biased = trained on the context-biased data; reference = the quickstart "
        "teacher (default data, 1-3 digits, uniform families)"
        + (
            "; control = the biased teacher's recipe on the same generator with "
            "context bias 0"
            if "control" in teachers
            else ""
        )
        + ".",
        "",
        f"{results['pairs']['count']} test digits, each rendered on a texture of "
        "its own family (matched) and of a random other family (mismatched); "
        f"Seg-Grad-CAM at `{config['cam_layer']}` for the true class with its "
        f"ground-truth mask as ROI; far context = farther than "
        f"{config['context_radius']} px from the digit, replaced by the "
        f"`{config['context_fill']}` fill for the removal test. Mean [95 % CI] over "
        "images.",
        "",
        "## Findings",
        "",
        findings_markdown(findings),
        "",
        "## Matched vs mismatched backgrounds",
        "",
    ]
    rows = []
    for name in teachers:
        for c in CONDITIONS:
            rows.append((name, c, *(fmt_ci(summary[name][c][m]) for m in _COLUMNS)))
    area = summary[next(iter(teachers))]["matched"]
    lines += [
        markdown_table(["teacher", "background", *_COLUMNS.values()], rows),
        "",
        "For reference, a uniform map would put "
        f"{area['area_outside_mask']['mean']:.3f} of its mass outside the digit and "
        f"{area['area_far_context']['mean']:.3f} in the far context.",
        "",
        f"![bars]({results['figures']['bars']})",
        "",
        f"![cams]({results['figures']['cams']})",
        "",
        "Segmentation by the biased teacher (input / ground truth / prediction):",
        "",
        f"![segmentation]({results['figures']['segmentation']})",
        "",
        "## Natural test images",
        "",
        f"The first {results['natural']['count']} test images of the biased data "
        f"({results['natural']['matched_share']:.1%} with a matching family):",
        "",
    ]
    rows = []
    for name in teachers:
        for group in CONDITIONS:
            s = results["natural"][name][group]
            rows.append(
                (
                    name,
                    group,
                    s["dice"]["n"],
                    fmt_ci(s["dice"]),
                    fmt_ci(s["correct_class"]),
                )
            )
    lines += [
        markdown_table(
            ["teacher", "family", "images", "digit Dice", "true class share"], rows
        ),
        "",
        *wall_time_section(results["seconds"]),
    ]
    return "\n".join(lines)
