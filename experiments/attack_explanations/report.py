"""Figure and markdown report of the attack experiment."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.shared.attacks import DEFENCES, EXPLAINER_TITLES
from experiments.shared.findings import Finding, findings_markdown
from experiments.shared.stats import fmt_ci
from experiments.shared.tables import markdown_table, wall_time_section


def _heat_panel(ax, heat):
    ax.imshow(heat, cmap="jet", vmin=0.0, vmax=max(float(np.max(heat)), 1e-12))
    ax.set_axis_off()


def make_figure(workdir, name: str, run: dict, num_images: int) -> str:
    """Rows of (original, adversarial, difference x10, h(x), h(x'), target)."""
    (x, x_adv), (clean, adv, target) = run["images"], run["maps"]
    count = min(num_images, len(x))
    titles = ("original", "adversarial", "|x' - x| x 10", "h(x)", "h(x')", "target")
    fig = Figure(figsize=(2.0 * len(titles), 2.0 * count + 0.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(count, len(titles), squeeze=False)
    for row in range(count):
        panels = (x[row], x_adv[row], np.abs(x_adv[row] - x[row]) * 10.0)
        for col, image in enumerate(panels):
            axes[row, col].imshow(np.clip(image, 0.0, 1.0))
            axes[row, col].set_axis_off()
        for col, heat in enumerate((clean[row], adv[row], target[row]), start=3):
            _heat_panel(axes[row, col], heat)
    for col, title in enumerate(titles):
        axes[0, col].set_title(title, fontsize=9)
    fig.suptitle(f"{EXPLAINER_TITLES[name]} (ReLU model after the attack)", fontsize=10)
    path = os.path.join(os.fspath(workdir), f"attack_{name}.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return os.path.basename(path)


def _ci_pair(metrics: dict, metric: str, digits: int = 3) -> str:
    before = metrics[f"before_to_target_{metric}"]["mean"]
    return f"{before:.{digits}g} -> {fmt_ci(metrics[f'to_target_{metric}'], digits)}"


def report_markdown(results: dict) -> str:
    """The report, from ``results.json`` alone."""
    teacher, summary, config = results["teacher"], results["summary"], results["config"]
    attack, defence = config["attack"], config["defence"]
    schedule = attack["softplus_schedule"]
    findings = [Finding(**f) for f in results["findings"]]
    count = len(config["seeds"]) * config["num_images"]
    lines = [
        "# Adversarial manipulation of segmentation explanations",
        "",
        f"Teacher: `{teacher['dir']}` (test mIoU "
        f"{teacher['test_scores']['miou']:.3f}). Seeds {list(config['seeds'])} x "
        f"{config['num_images']} test images (up to {count} attacks per explainer); "
        f"target kind `{config['target']}`; target S_c = summed logits of the "
        "largest predicted digit over its predicted region. Attack: Adam, "
        f"{attack['num_steps']} steps, learning rate {attack['learning_rate']:g}, "
        f"gammas (explanation, output, input) = ({attack['gamma_explanation']:g}, "
        f"{attack['gamma_output']:g}, {attack['gamma_input']:g}), softplus schedule "
        f"{None if schedule is None else tuple(schedule)}, L-inf budget "
        f"{attack['linf_budget']}. All "
        "measurements with the ReLU model; mean [95 % CI] over seeds x images; "
        "heatmaps = |h| summed over channels, normalised (MSE on heatmaps of mean "
        "1, SSIM and Pearson as in `segxai_jax.attacks.evaluation`).",
        "",
        "## Findings",
        "",
        findings_markdown(findings),
        "",
        "## Explanation towards the target (before -> after the attack)",
        "",
    ]
    rows = []
    for name, entry in summary.items():
        m = entry["metrics"]
        rows.append(
            (
                EXPLAINER_TITLES[name],
                m["to_target_pearson"]["n"],
                _ci_pair(m, "pearson"),
                fmt_ci(entry["moved"]["pearson"]),
                _ci_pair(m, "ssim"),
                _ci_pair(m, "mse"),
                fmt_ci(m["to_original_pearson"]),
                fmt_ci(m["to_original_ssim"]),
            )
        )
    lines += [
        markdown_table(
            [
                "explainer",
                "n",
                "Pearson to h_t",
                "paired change",
                "SSIM to h_t",
                "MSE to h_t",
                "Pearson to h(x)",
                "SSIM to h(x)",
            ],
            rows,
        ),
        "",
        "## Output and input change",
        "",
    ]
    rows = []
    for name, entry in summary.items():
        m = entry["metrics"]
        rows.append(
            (
                EXPLAINER_TITLES[name],
                fmt_ci(m["pixel_agreement"], 4),
                fmt_ci(m["miou_to_clean"], 4),
                f"{m['miou_clean']['mean']:.4g} -> {fmt_ci(m['miou_adv'], 4)}",
                fmt_ci(m["miou_change"]),
                fmt_ci(m["prob_mse"]),
                fmt_ci(m["input_l2"]),
                fmt_ci(m["input_linf"]),
                fmt_ci(m["input_psnr"]),
            )
        )
    lines += [
        markdown_table(
            [
                "explainer",
                "pixel agreement",
                "mIoU(adv pred, clean pred)",
                "mIoU vs ground truth",
                "mIoU change",
                "prob. MSE",
                "L2",
                "L-inf",
                "PSNR (dB)",
            ],
            rows,
        ),
        "",
        "## Defences on the same adversarial images",
        "",
        f"`softplus`: the attacked explainer on the softplus model with beta "
        f"{defence['softplus_beta']:g}; `smoothgrad`: SmoothGrad "
        f"({defence['smoothgrad_samples']} samples, noise "
        f"{defence['noise_level']:g}) "
        "around the deployed base explainer (the gradient for SmoothGrad). "
        "Targets stay the ReLU-explanation targets.",
        "",
    ]
    rows = []
    for name, entry in summary.items():
        for defence in DEFENCES:
            d = entry["defences"][defence]
            rows.append(
                (
                    EXPLAINER_TITLES[name],
                    defence,
                    _ci_pair(d["metrics"], "pearson"),
                    fmt_ci(d["moved"]["pearson"]),
                    fmt_ci(d["metrics"]["to_original_pearson"]),
                    fmt_ci(d["less_moved_pearson"]),
                )
            )
    lines += [
        markdown_table(
            [
                "explainer",
                "defence",
                "Pearson to h_t",
                "paired change",
                "Pearson to h(x)",
                "rise prevented",
            ],
            rows,
        ),
        "",
    ]
    for name, figure in results["figures"].items():
        lines += [f"![{EXPLAINER_TITLES[name]}]({figure})", ""]
    lines += wall_time_section(results["seconds"])
    return "\n".join(lines)
