"""Figures and the markdown report of the benchmark (from its results)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from experiments.benchmark.findings import RANDOM
from experiments.shared.findings import RULE, Finding, findings_markdown
from experiments.shared.tables import markdown_table, wall_time_section
from segxai_jax import viz

SUBSTRATE_NOTE = (
    "Substrates: `black` 0; `blur` Gaussian blur (kernel 11, sigma 5, RISE); "
    "`dataset_mean` the validation split's per-channel mean; `uniform_noise` "
    "U[0, 1] per pixel; `noisy_linear` ROAD's noisy linear imputation from the "
    "kept neighbours (+ N(0, 0.01^2) noise)."
)


def _ci(summary: dict) -> str:
    """``mean [low, high]`` of an ``image_mean_ci`` summary, 3 significant digits."""
    if summary.get("n_images", 0) == 0 or summary["mean"] is None:
        return "n/a"
    if summary["ci_low"] is None or (
        isinstance(summary["ci_low"], float) and math.isnan(summary["ci_low"])
    ):
        return f"{summary['mean']:.3g}"
    return f"{summary['mean']:.3g} [{summary['ci_low']:.3g}, {summary['ci_high']:.3g}]"


def _methods(results: dict, dataset: str) -> list[str]:
    return list(results["leaderboard"][dataset])


def make_figures(workdir, summary: dict, substrates) -> dict:
    """Per dataset: curves per substrate and kind, and cost vs deletion AUC
    (deletion with the first of ``substrates``)."""
    figures = {}
    for name, by_substrate in summary["mean_curves"].items():
        panels = {
            f"{kind} / {substrate}": curves[kind]
            for kind in ("deletion", "insertion")
            for substrate, curves in by_substrate.items()
        }
        figures[f"curves_{name}"] = Path(
            viz.curve_panels(
                panels,
                Path(workdir) / f"curves_{name}.png",
                baseline=RANDOM,
                columns=len(substrates),
                ylabel="target score",
            )
        ).name
        methods = [m for m in summary["leaderboard"][name] if m != RANDOM]
        metric = f"deletion/{substrates[0]}"
        quality = [summary["leaderboard"][name][m][metric]["mean"] for m in methods]
        errors = [
            summary["leaderboard"][name][m][metric]["half_width"] for m in methods
        ]
        seconds = [summary["cost"][name][m]["seconds_per_image"] for m in methods]
        figures[f"cost_{name}"] = Path(
            viz.cost_quality_scatter(
                seconds,
                [float("nan") if q is None else q for q in quality],
                Path(workdir) / f"cost_{name}.png",
                labels=methods,
                errors=[float("nan") if e is None else e for e in errors],
                baseline=summary["leaderboard"][name][RANDOM][metric]["mean"],
                ylabel=f"deletion AUC, {substrates[0]} (lower = better)",
                title=name,
            )
        ).name
    return figures


def _teacher_table(results: dict) -> str:
    rows = []
    for name, info in results["teachers"].items():
        classes = results["datasets"][name]["spec"]["class_names"]
        for seed, miou, iou in zip(
            info["seeds"], info["test_miou"], info["test_iou"], strict=True
        ):
            values = np.asarray(
                [np.nan if v is None else v for v in iou[1:]], np.float64
            )
            if len(classes) <= 3:
                foreground = ", ".join(
                    f"{c} {v:.3f}" for c, v in zip(classes[1:], values, strict=True)
                )
            else:
                present = values[np.isfinite(values)]
                foreground = (
                    f"mean over {present.size} classes {present.mean():.3f}"
                    if present.size
                    else "n/a"
                )
            rows.append((name, seed, f"{miou:.4f}", foreground))
    return markdown_table(
        ["dataset", "teacher seed", "test mIoU", "test IoU of the foreground"], rows
    )


def _faithfulness_table(results: dict, dataset: str, kind: str) -> str:
    substrates = results["config"]["substrates"]
    rows = []
    for method in _methods(results, dataset):
        board = results["leaderboard"][dataset][method]
        cells = [_ci(board[f"{kind}/{s}"]) for s in substrates]
        verdict = (
            "baseline"
            if method == RANDOM
            else results["beats_random"][method][kind]["label"].split(" (")[0]
        )
        rows.append((f"**{method}**" if method == RANDOM else method, *cells, verdict))
    arrow = "lower" if kind == "deletion" else "higher"
    return markdown_table(
        ["method", *substrates, f"beats random ({arrow} AUC), all datasets"], rows
    )


def _map_table(results: dict, dataset: str) -> str:
    rows = []
    for method in _methods(results, dataset):
        board = results["leaderboard"][dataset][method]
        cost = results["cost"][dataset][method]
        peak = cost["peak_mib"]
        rows.append(
            (
                method,
                _ci(board["relevance_mass"]),
                _ci(board["top_k_iou"]),
                _ci(board["leakage"]),
                _ci(board["other_class_mass"]),
                _ci(board["sparseness"]),
                f"{cost['seconds_per_image']:.4g}",
                "n/a" if peak is None else f"{peak:.1f}",
            )
        )
    return markdown_table(
        [
            "method",
            "relevance mass ↑",
            "top-k IoU ↑",
            "off-target leakage ↓",
            "mass on other classes ↓",
            "sparseness ↑",
            "s / image",
            "XLA peak MiB",
        ],
        rows,
    )


def _sanity_table(results: dict) -> str:
    rows = []
    for dataset, metrics in results["sanity"].items():
        for metric, summary in metrics.items():
            react, resil = summary["reactivity"], summary["noise_resilience"]

            def span(s):
                if s["median"] is None:
                    return "n/a"
                return f"{s['median']:.3g} ({s['min']:.3g} to {s['max']:.3g})"

            rows.append((dataset, metric, span(react), span(resil)))
    return markdown_table(
        [
            "dataset",
            "metric",
            "reactivity to randomisation (median over methods, range)",
            "noise resilience (median, range)",
        ],
        rows,
    )


def _verdict_table(results: dict) -> str:
    rows = []
    for method, kinds in results["beats_random"].items():
        for kind, verdict in kinds.items():
            rows.append((method, f"beats random on {kind}", verdict["label"]))
    return markdown_table(["method", "claim", "verdict"], rows)


def report_markdown(results: dict) -> str:
    """The benchmark's ``report.md``."""
    config = results["config"]
    lines = [
        "# Segmentation-XAI benchmark report",
        "",
        f"Datasets {', '.join(config['datasets'])}; teachers trained with seeds "
        f"{list(config['teacher_seeds'])} per dataset; images are the unit of "
        "every 95 % interval (each image's value is first averaged over the "
        "teachers). Faithfulness: AUC of the curve of the target score "
        f"`{config['faithfulness']['score']}` "
        f"({config['faithfulness']['num_steps']} steps; summed logits are "
        "divided by the clean score first).",
        "",
        SUBSTRATE_NOTE,
        "",
        "## Teachers",
        "",
        _teacher_table(results),
        "",
    ]
    for dataset in results["leaderboard"]:
        lines += [
            f"## {dataset}",
            "",
            "Deletion (AUC, lower = more faithful):",
            "",
            _faithfulness_table(results, dataset, "deletion"),
            "",
            "Insertion (AUC, higher = more faithful):",
            "",
            _faithfulness_table(results, dataset, "insertion"),
            "",
            "Localisation, leakage, complexity and cost:",
            "",
            _map_table(results, dataset),
            "",
            f"![curves]({results['figures'][f'curves_{dataset}']})",
            f"![cost]({results['figures'][f'cost_{dataset}']})",
            "",
        ]
    findings = [Finding(**f) for f in results["paper_findings"]]
    lines += [
        "## Verdicts",
        "",
        "Does each method beat the random map? One test per dataset and "
        "substrate (paired per-image difference to random, 95 % interval):",
        "",
        _verdict_table(results),
        "",
        "The seed paper's findings on these datasets:",
        "",
        findings_markdown(findings),
        "",
        RULE,
        "",
        "## Metric sanity",
        "",
        "Per metric and method, the per-image scores of the clean maps, of the "
        f"maps of a noisy input (U[-{config['sanity']['noise_radius']}, "
        f"{config['sanity']['noise_radius']}]) and of a fully randomised model; "
        "reactivity = P(|change under randomisation| > |change under noise|) "
        "(0.5 = blind), resilience = 1 - median |change under noise| / IQR of "
        f"the clean scores. Deletion uses the `{config['sanity']['substrate']}` "
        "substrate; the random map is left out (it ignores the model).",
        "",
        _sanity_table(results),
        "",
        *wall_time_section(results["seconds"]),
    ]
    return "\n".join(lines) + "\n"
