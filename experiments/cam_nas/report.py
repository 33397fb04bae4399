"""Figures and the markdown report of the CAM-NAS study (from its results)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments.shared.findings import Finding, findings_markdown  # noqa: E402
from experiments.shared.options import as_namespace  # noqa: E402
from experiments.shared.stats import fmt_ci  # noqa: E402
from experiments.shared.tables import markdown_table, wall_time_section  # noqa: E402


def make_figures(workdir: Path, runs: dict, teacher: dict) -> dict:
    """``fitness_over_generations.png`` and ``miou_vs_params.png``.

    Args:
      workdir: where the figures go.
      runs: method -> one entry per seed (search history, params, mIoU).
      teacher: the teacher info (its ``test_scores`` give the reference line).
    """
    figures = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for method, entries in runs.items():
        histories = [e["history"] for e in entries if e.get("history")]
        if not histories:
            continue
        ax = axes[1] if method in ("zen_proxy", "proxy_search") else axes[0]
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
    axes[1].set_title("other proxies (each on its own scale)")
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


def budget_words(budget: dict, fractions) -> str:
    """``"30449 parameters (25% of the teacher), ..."`` for the bounds set."""
    parts = []
    if budget["max_params"] is not None:
        parts.append(
            f"{budget['max_params']} parameters "
            f"({fractions.params_fraction:.0%} of the teacher)"
        )
    if budget["max_flops"] is not None:
        parts.append(
            f"{budget['max_flops'] / 1e6:.1f} MFLOPs per image "
            f"({fractions.flops_fraction:.0%} of the teacher)"
        )
    return " and ".join(parts)


def _per_seed_section(runs: dict, options) -> list[str]:
    """Test mIoU (parameters) of every winner: three seeds make wide CIs."""
    seeds = list(options.seeds)
    rows = []
    for method in options.methods:
        by_seed = {e["seed"]: e for e in runs.get(method, [])}
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
    """The report: setup, table (mean [95 % CI] over seeds), verdict, timing.

    Args:
      results: the completed results (see :func:`experiments.cam_nas.run.run`);
        its ``config`` record is read as the settings.
    """
    summary, teacher = results["summary"], results["teacher"]
    options = as_namespace(results["config"])
    s, probe, warmup = options.search, options.probe, options.warmup
    lines = [
        "# CAM-NAS for segmentation",
        "",
        f"Teacher: {teacher['params']} parameters, test mIoU "
        f"{teacher['test_scores']['miou']:.3f}. Budget: "
        f"{budget_words(results['budget'], options.budget)}. Seeds: "
        f"{list(options.seeds)}. Searches: {s.generations} generations x "
        f"{s.population_size} candidates (archive {s.archive_size}). "
        f"Fitness probe: {probe.num_images} {probe.split} images, "
        f"Seg-Grad-CAM at {probe.point!r}; warm-up: {warmup.steps} "
        f"steps of {warmup.batch_size} images.",
        "",
        "Mean [95 % CI] over seeds. similarity = inverse Euclidean distance of the "
        "trained student's and the teacher's bottleneck Seg-Grad-CAMs on "
        f"{options.eval.num_images} {options.eval.split} images.",
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
    for method in options.methods:
        if method not in summary:
            continue  # a partial run without any unit of this method yet
        m = summary[method]

        def cell(key, scale=1.0, digits=3, m=m):
            if key not in m or m[key]["n"] == 0:
                return "-"
            scaled = {
                k: v * scale if isinstance(v, float) else v for k, v in m[key].items()
            }
            return fmt_ci(scaled, digits)

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
    lines += _per_seed_section(results["runs"], options)
    lines += [
        "## Findings",
        "",
        findings_markdown([Finding(**f) for f in results["findings"]]),
        "",
    ]
    lines += [
        "Figures: `fitness_over_generations.png` (best and mean fitness per "
        "generation, mean over seeds), `miou_vs_params.png`.",
        "",
    ]
    lines += wall_time_section(results["seconds"])
    return "\n".join(lines) + "\n"
