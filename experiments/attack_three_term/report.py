"""Markdown report of the three-term attack study, from ``results.json`` alone."""

from __future__ import annotations

import math

from experiments.attack_three_term.detection import DETECTORS
from experiments.attack_three_term.findings import (
    DETECTION_GROUPS,
    EXPLAINER_TITLES,
    PHASES,
    pooled_detection,
)
from experiments.shared.findings import Finding, findings_markdown
from experiments.shared.stats import fmt_ci
from experiments.shared.tables import markdown_table


def _attack_table(cells: list[dict]) -> str:
    rows = []
    for e in cells:
        m = e["metrics"]
        rows.append(
            [
                EXPLAINER_TITLES[e["explainer"]],
                e["target"],
                m["input_l2"]["n"],
                f"{m['before_to_target_pearson']['mean']:.3f} -> "
                f"{fmt_ci(m['to_target_pearson'])}",
                fmt_ci(e["rise_pearson"]),
                fmt_ci(m["pixel_agreement"], 4),
                fmt_ci(m["miou_change"]),
                f"{m['input_l2']['mean']:.3g}",
                f"{m['input_linf']['mean']:.3g}",
                f"{m['input_psnr']['mean']:.3g}",
            ]
        )
    headers = [
        "explainer",
        "target",
        "images",
        "Pearson(h, h_t) before -> after",
        "paired rise",
        "pixels keeping their class",
        "mIoU change (vs labels)",
        "L2",
        "L-inf",
        "PSNR (dB)",
    ]
    return markdown_table(headers, rows)


def _auroc(entry: dict) -> str:
    if math.isnan(entry["ci_low"]):  # fewer than 10 images: no interval
        return f"{entry['mean']:.3g} (n = {entry['n']})"
    return fmt_ci(entry)


def _detection_table(cells: list[dict]) -> str:
    rows = [
        [
            f"{e['phase']} / {e['budget']}",
            EXPLAINER_TITLES[e["explainer"]],
            e["target"],
            *(
                _auroc(e["detection"][d]) if d in e["detection"] else "-"
                for d in DETECTORS
            ),
        ]
        for e in cells
    ]
    return markdown_table(["attack", "explainer", "target", *DETECTORS], rows)


def _pooled_table(summary: dict) -> str:
    rows = []
    for phase, title in DETECTION_GROUPS.items():
        row = [title]
        for detector in DETECTORS:
            pooled = pooled_detection(summary, detector, phase)
            row.append(
                "-"
                if pooled is None
                else f"{fmt_ci(pooled)} ({pooled['n_attacked']} vs {pooled['n_clean']})"
            )
        if any(cell != "-" for cell in row[1:]):
            rows.append(row)
    return markdown_table(["attack kind", *DETECTORS], rows)


def report_markdown(results: dict) -> str:
    config, summary = results["config"], results["summary"]
    attack = config["attack"]
    findings = [Finding(**f) for f in results["findings"]]
    lines = [
        "# The three-term attack on segmentation explanations",
        "",
        f"Teacher: `{results['teacher']['dir']}`. Gammas (explanation, output, "
        f"input) = ({attack['gamma_explanation']:g}, {attack['gamma_output']:g}, "
        f"{attack['gamma_input']:g}); Adam, learning rate "
        f"{attack['learning_rate']:g}; softplus beta "
        f"{attack['softplus_schedule'][0]:g} -> {attack['softplus_schedule'][1]:g}; "
        f"L-inf budget {attack['linf_budget']:.4g} for the `linf` units; "
        f"SmoothGrad {config['smoothgrad']['num_samples']} samples, fresh noise "
        f"every step: {config['smoothgrad']['fresh_noise']}. Mean [95 % CI] over "
        "the images of the finished seeds; all measured with the ReLU model.",
        "",
    ]
    for (phase, budget), title in PHASES.items():
        cells = [
            e for e in summary.values() if (e["phase"], e["budget"]) == (phase, budget)
        ]
        if cells:
            lines += [f"## Attack: {title}", "", _attack_table(cells), ""]
    lines += [
        "## Detection",
        "",
        "AUROC [bootstrap 95 % CI over images] of `1 - Pearson(h(x), r(x))`, the "
        "disagreement of the attacked explanation with a re-explanation r: "
        "softplus model (beta "
        f"{config['defence']['softplus_beta']:g}), SmoothGrad "
        f"({config['defence']['smoothgrad_samples']} samples), Seg-Ablation-CAM "
        f"(`{config['ablation_layer']}`). 0.5 = chance.",
        "",
        _detection_table(list(summary.values())),
        "",
        "Pooled per attack kind (every attacked image of the kind against its "
        "clean explanations, each counted once; the test where cells have "
        "fewer than 10 images):",
        "",
        _pooled_table(summary),
        "",
        "## Seconds per unit",
        "",
        markdown_table(
            ["unit kind", "mean seconds", "units"],
            [
                [kind, f"{s['mean']:.1f}", s["n"]]
                for kind, s in results["unit_seconds"].items()
            ],
        ),
        "",
        findings_markdown(findings),
    ]
    return "\n".join(lines) + "\n"
