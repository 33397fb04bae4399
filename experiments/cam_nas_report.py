"""Summary, verdict, figures and markdown report of the CAM-NAS study."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import reproduction  # noqa: E402
from experiments.reporting import markdown_table, wall_time_section  # noqa: E402

METRICS = (
    "miou",
    "similarity",
    "params",
    "flops",
    "best_fitness",
    "search_seconds",
    "candidates_per_second",
)


def _values(entries, key):
    return [np.nan if e.get(key) is None else e[key] for e in entries]


def summarise(runs: dict, opts: dict) -> dict:
    """Per method: mean and 95 % CI over seeds; the hypothesis verdict."""
    summary = {
        method: {
            key: reproduction.mean_ci(_values(entries, key))
            for key in METRICS
            if any(key in e for e in entries)
        }
        for method, entries in runs.items()
    }
    findings = []
    if "cam_nas_init" in runs and "random_search" in runs:
        a = _values(runs["cam_nas_init"], "miou")
        b = _values(runs["random_search"], "miou")
        diff = reproduction.paired_difference(a, b)
        summary["cam_nas_minus_random_miou"] = diff
        if diff["mean"] >= 0 and reproduction.sign_of(diff) >= 0:
            verdict = "yes" if reproduction.sign_of(diff) > 0 else "partly"
        else:
            verdict = "no"
        findings.append(
            reproduction.Finding(
                claim=(
                    "The CAM-NAS winner reaches at least the random-search winner's "
                    "mIoU at the same budget and number of evaluated candidates"
                ),
                source="seed paper's proposal; Zen-NAS's random-search baseline",
                reproduced=verdict,
                evidence=(
                    f"mIoU difference (CAM-NAS init - random search), paired over "
                    f"{diff['n']} seeds: {reproduction.fmt_ci(diff)}; CAM-NAS higher "
                    f"in {diff['fraction_a_greater']:.0%} of seeds ('partly' = mean "
                    ">= 0 but the CI includes 0)"
                ),
            )
        )
    summary["findings"] = findings
    return summary


def make_figures(workdir: Path, runs: dict, summary: dict, teacher: dict) -> dict:
    """``fitness_over_generations.png`` and ``miou_vs_params.png``."""
    del summary
    figures = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for method, entries in runs.items():
        histories = [e["history"] for e in entries if e.get("history")]
        if not histories:
            continue
        ax = axes[1] if method == "zen_proxy" else axes[0]
        best = np.asarray(
            [
                [
                    np.nan if h["best_fitness"] is None else h["best_fitness"]
                    for h in hist
                ]
                for hist in histories
            ],
            float,
        )
        generations = np.arange(1, best.shape[1] + 1)
        (line,) = ax.plot(
            generations, np.nanmean(best, 0), marker="o", label=f"{method} (best)"
        )
        mean = np.asarray(
            [
                [
                    np.nan if h["mean_fitness"] is None else h["mean_fitness"]
                    for h in hist
                ]
                for hist in histories
            ],
            float,
        )
        ax.plot(
            generations,
            np.nanmean(mean, 0),
            ls="--",
            color=line.get_color(),
            label=f"{method} (mean)",
        )
    axes[0].set_title("CAM-NAS fitness (inverse Euclidean)")
    axes[1].set_title("teacher-free proxy (log sensitivity)")
    for ax in axes:
        ax.set_xlabel("generation")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(workdir / "fitness_over_generations.png", dpi=110)
    plt.close(fig)
    figures["fitness"] = "fitness_over_generations.png"

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method, entries in runs.items():
        ax.scatter(
            [e["params"] for e in entries], [e["miou"] for e in entries], label=method
        )
    ax.axhline(teacher["test_scores"]["miou"], color="k", ls=":", label="teacher")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test mIoU")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(workdir / "miou_vs_params.png", dpi=110)
    plt.close(fig)
    figures["miou_vs_params"] = "miou_vs_params.png"
    return figures


def _per_seed_section(runs: dict, opts: dict) -> list[str]:
    """Test mIoU (parameters) of every winner: three seeds make wide CIs."""
    seeds = list(opts["seeds"])
    rows = []
    for method in opts["methods"]:
        by_seed = {e["seed"]: e for e in runs[method]}
        rows.append(
            (
                method,
                *(
                    f"{by_seed[seed]['miou']:.3f} ({by_seed[seed]['params']:,})"
                    if seed in by_seed
                    else "-"
                    for seed in seeds
                ),
            )
        )
    headers = ("method", *(f"seed {seed}" for seed in seeds))
    return [
        "Per seed: test mIoU (parameters) of the trained winner.",
        "",
        markdown_table(headers, rows),
        "",
    ]


def report_markdown(results: dict) -> str:
    """The report: setup, table (mean [95 % CI] over seeds), verdict, timing."""
    summary, opts, teacher = results["summary"], results["options"], results["teacher"]
    s = opts["search"]
    lines = [
        "# CAM-NAS for segmentation",
        "",
        f"Teacher: {teacher['params']} parameters, test mIoU "
        f"{teacher['test_scores']['miou']:.3f}. Budget: "
        f"{results['budget']['max_params']} parameters "
        f"({opts['params_fraction']:.0%} of the teacher). Seeds: "
        f"{list(opts['seeds'])}. Searches: {s['generations']} generations x "
        f"{s['population_size']} candidates (archive {s['archive_size']}). "
        f"Fitness probe: {opts['num_probe_images']} {opts['probe_split']} images, "
        f"Seg-Grad-CAM at {opts['point']!r}; warm-up: {opts['warmup_steps']} "
        f"steps of {opts['warmup_batch_size']} images.",
        "",
        "Mean [95 % CI] over seeds. similarity = inverse Euclidean distance of the "
        "trained student's and the teacher's bottleneck Seg-Grad-CAMs on "
        f"{opts['num_eval_images']} {opts['eval_split']} images.",
        "",
    ]
    headers = (
        "method",
        "k params",
        "MFLOPs",
        "test mIoU",
        "similarity",
        "search fitness",
        "search s",
        "cand/s",
    )
    rows = []
    for method in opts["methods"]:
        m = summary[method]

        def cell(key, scale=1.0, digits=3, m=m):
            if key not in m or m[key]["n"] == 0:
                return "-"
            scaled = {
                k: v * scale if isinstance(v, float) else v for k, v in m[key].items()
            }
            return reproduction.fmt_ci(scaled, digits)

        rows.append(
            (
                method,
                cell("params", 1e-3),
                cell("flops", 1e-6),
                cell("miou"),
                cell("similarity"),
                cell("best_fitness"),
                cell("search_seconds"),
                cell("candidates_per_second"),
            )
        )
    lines += [markdown_table(headers, rows), ""]
    lines += _per_seed_section(results["runs"], opts)
    lines += [
        "## Findings",
        "",
        reproduction.findings_markdown(
            [reproduction.Finding(**f) for f in results["findings"]]
        ),
        "",
    ]
    lines += [
        "Figures: `fitness_over_generations.png` (best and mean fitness per "
        "generation, mean over seeds), `miou_vs_params.png`.",
        "",
    ]
    lines += wall_time_section(results["seconds"])
    return "\n".join(lines) + "\n"
