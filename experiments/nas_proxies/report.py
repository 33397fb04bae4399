"""The scatter figure and the markdown report of the proxy study."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments.cam_nas.report import budget_words  # noqa: E402
from experiments.nas_proxies.measure import describe  # noqa: E402
from experiments.shared.findings import Finding, findings_markdown  # noqa: E402
from experiments.shared.options import as_namespace  # noqa: E402
from experiments.shared.stats import fmt_ci  # noqa: E402
from experiments.shared.tables import markdown_table, wall_time_section  # noqa: E402

SIZE_PROXIES = ("params", "flops")


def best_proxies(correlations: dict, count: int = 2) -> list[str]:
    """The ``count`` proxies (other than #params and FLOPs) with the largest tau."""
    learned = [p for p in correlations if p not in SIZE_PROXIES]
    taus = {p: correlations[p]["tau"]["mean"] for p in learned}
    finite = [p for p in learned if np.isfinite(taus[p])]
    return sorted(finite, key=lambda p: -taus[p])[:count]


def make_figures(workdir: Path, scores: dict, students: list, correlations: dict):
    """``proxies_vs_miou.png``: the best two proxies and #params vs trained mIoU."""
    shown = best_proxies(correlations) + [p for p in ("params",) if p in scores]
    if not shown:
        return {}
    miou = np.asarray([s["miou"] for s in students])
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6))
    for ax, proxy in zip(np.atleast_1d(axes), shown, strict=True):
        ax.scatter(scores[proxy], miou, s=14)
        tau = correlations[proxy]["tau"]
        ax.set_title(f"{describe(proxy)}\ntau {fmt_ci(tau, 2)}", fontsize=9)
        ax.set_xlabel("proxy score")
        ax.set_ylabel("trained test mIoU")
        if proxy in SIZE_PROXIES:
            ax.set_xscale("log")
    fig.tight_layout()
    fig.savefig(workdir / "proxies_vs_miou.png", dpi=110)
    plt.close(fig)
    return {"proxies_vs_miou": "proxies_vs_miou.png"}


def report_markdown(results: dict) -> str:
    """The report: setup, the proxy table, the findings, the wall time.

    Args:
      results: the completed results (see :func:`experiments.nas_proxies.run.run`);
        its ``config`` record is read as the settings.
    """
    teacher, students = results["teacher"], results["students"]
    options = as_namespace(results["config"])
    correlations = results["summary"]["correlations"]
    calibration = results["summary"].get("calibration")
    if len(students) < 3 or not correlations:
        lines = [
            "# NAS proxies ranked against trained mIoU",
            "",
            f"{len(students)} architecture(s) trained so far"
            + ("" if results["proxies"] else ", proxy scores not yet computed")
            + ": no correlation yet (at least 3 trained architectures and the "
            "proxy scores are needed).",
            "",
            *_calibration_lines(calibration),
            *wall_time_section(results["seconds"]),
        ]
        return "\n".join(lines) + "\n"
    miou = np.asarray([s["miou"] for s in students])
    params = np.asarray([s["params"] for s in students])
    hand = results["hand_designed"]
    recipe = options.student_train
    lines = [
        "# NAS proxies ranked against trained mIoU",
        "",
        f"Teacher: {teacher['params']} parameters, "
        f"{teacher['flops'] / 1e6:.1f} MFLOPs, test mIoU "
        f"{teacher['test_scores']['miou']:.3f}. Budget: "
        f"{budget_words(results['budget'], options.budget)}. "
        f"{len(students)} distinct architectures sampled uniformly within the "
        f"budget (seed {options.seed}): {params.min():,}-{params.max():,} "
        f"parameters; the hand-designed student (teacher widths scaled) has "
        f"{hand['params']:,} parameters and {hand['flops'] / 1e6:.1f} MFLOPs.",
        "",
        f"Short recipe (every architecture, seed {options.seed}): "
        f"{recipe.epochs} epoch(s) of batches of {recipe.batch_size}, AdamW "
        f"lr {recipe.learning_rate} (warm-up {recipe.warmup_steps} steps, "
        f"weight decay {recipe.weight_decay}), loss {recipe.loss}. Trained "
        f"{options.eval.split} mIoU: median {np.median(miou):.3f}, range "
        f"{miou.min():.3f}-{miou.max():.3f}.",
        "",
        f"Proxies on {options.probe.num_images} {options.probe.split} images "
        f"(probe point {options.probe.point!r}; the teacher's largest predicted "
        f"digit as target); warm-up: {options.warmup.steps} Adam steps of "
        f"{options.warmup.batch_size} images. Kendall tau-b and Spearman rho with "
        f"the trained mIoU; 95 % bootstrap intervals over architectures "
        f"({options.bootstrap.resamples} draws, the same for every proxy).",
        "",
    ]
    headers = ("proxy", "Kendall tau", "Spearman rho", "tau - tau(#params)")
    rows = []
    order = sorted(
        correlations,
        key=lambda p: -np.nan_to_num(correlations[p]["tau"]["mean"], nan=-2),
    )
    for proxy in order:
        entry = correlations[proxy]
        minus = entry.get("tau_minus_reference")
        rows.append(
            (
                describe(proxy),
                fmt_ci(entry["tau"]),
                fmt_ci(entry["rho"]),
                fmt_ci(minus) if minus else "-",
            )
        )
    lines += [markdown_table(headers, rows), ""]
    lines += _calibration_lines(calibration)
    lines += [
        "## Findings",
        "",
        findings_markdown([Finding(**f) for f in results["findings"]]),
        "",
        "Figure: `proxies_vs_miou.png` (the two proxies with the largest tau, "
        "and #params, against the trained mIoU).",
        "",
    ]
    lines += wall_time_section(results["seconds"])
    return "\n".join(lines) + "\n"


def _calibration_lines(calibration: dict | None) -> list[str]:
    """Does the short recipe rank students as the full recipe does?"""
    if not calibration:
        return []
    agreement = calibration["short_vs_full"]
    return [
        "## Short recipe vs full recipe",
        "",
        f"{calibration['students']} students of `{calibration['source']}` "
        f"({calibration['architectures']} distinct architectures), trained "
        "there with the full recipe and here again with the short one: "
        f"Kendall tau {fmt_ci(agreement['tau'])}, Spearman rho "
        f"{fmt_ci(agreement['rho'])} between the two test mIoUs (95 % "
        "bootstrap intervals over students).",
        "",
    ]
