"""Summary, findings, figures and report of the replay-compression experiment."""

from __future__ import annotations

from collections import defaultdict

import jax
import matplotlib
import numpy as np

from experiments import reproduction
from experiments.reporting import markdown_table, wall_time_section
from experiments.reproduction import Finding, fmt_ci, mean_ci, paired_difference

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METRICS = ("final_miou", "average_forgetting", "backward_transfer")
# (saliency-guided, baseline): the comparisons the hypothesis is about.
COMPARISONS = (
    ("box", "full"),
    ("patch", "full"),
    ("box", "random_box"),
    ("patch", "random_patch"),
    ("box", "downsample"),
)
SALIENT = ("box", "patch")


def summarise(runs: list[dict], opts: dict) -> dict:
    """Mean and CI over seeds per (strategy, budget); paired differences."""
    cells = defaultdict(list)
    for run in runs:
        cells[(run["strategy"], run["budget_images"])].append(run)
    table = {}
    for (strategy, budget), group in cells.items():
        group = sorted(group, key=lambda r: r["seed"])
        entry = {m: mean_ci([r[m] for r in group]) for m in METRICS}
        entry["per_seed"] = {m: [r[m] for r in group] for m in METRICS}
        entry["seeds"] = [r["seed"] for r in group]
        entry["exemplars_stored"] = float(
            np.mean([r["memory"]["exemplars_stored"] for r in group])
        )
        entry["exemplar_bytes"] = group[0]["memory"]["exemplar_bytes"]
        entry["budget_bytes"] = group[0]["budget_bytes"]
        entry["compressor"] = group[0]["compressor"]
        table.setdefault(strategy, {})[str(budget)] = entry
    differences = {}
    for a, b in COMPARISONS:
        if a not in table or b not in table:
            continue
        pooled_a, pooled_b = [], []
        for budget in opts["budget_images"]:
            ea, eb = table[a].get(str(budget)), table[b].get(str(budget))
            if ea is None or eb is None or ea["seeds"] != eb["seeds"]:
                continue
            va, vb = ea["per_seed"]["final_miou"], eb["per_seed"]["final_miou"]
            differences.setdefault(f"{a}-{b}", {})[str(budget)] = paired_difference(
                va, vb
            )
            pooled_a += va
            pooled_b += vb
        if pooled_a:
            # every (budget, seed) pair: more pairs than seeds alone, but pairs
            # of one seed share the model initialisation (not independent)
            differences[f"{a}-{b}"]["pooled"] = paired_difference(pooled_a, pooled_b)
    return {"table": table, "differences": differences}


def evaluate_findings(summary: dict, opts: dict) -> list[Finding]:
    """Verdicts: salient vs full images, salient vs the random control."""
    diffs = summary["differences"]
    findings = []
    for baseline, claim in (
        (
            "full",
            "At equal bytes, saliency-guided compressed replay (salient patch or "
            "salient box + downsampled rest) beats full-image replay",
        ),
        (
            "random",
            "At equal bytes, placing the patch/box on the salient region beats "
            "placing it at random",
        ),
    ):
        wins, losses, cells, words = 0, 0, 0, []
        for salient in SALIENT:
            other = baseline if baseline == "full" else f"random_{salient}"
            per_budget = diffs.get(f"{salient}-{other}", {})
            for budget, d in per_budget.items():
                if budget == "pooled":
                    continue
                words.append(f"{salient} - {other} at {budget} images: {fmt_ci(d)}")
            if "pooled" in per_budget:
                d = per_budget["pooled"]
                cells += 1
                sign = reproduction.sign_of(d)
                wins += sign > 0
                losses += sign < 0
                words.append(
                    f"**{salient} - {other} pooled over budgets and seeds "
                    f"(n = {d['n']}): {fmt_ci(d)}**"
                )
        if cells == 0:
            verdict, evidence = "no", "not measured (strategies missing)"
        else:
            verdict = "yes" if wins == cells else ("partly" if wins else "no")
            evidence = (
                f"final mIoU differences (paired, 95 % Student-t CI): "
                f"{'; '.join(words)}. Pooled CI above 0 for {wins} of {cells} "
                f"salient strategies, below 0 for {losses}."
            )
        findings.append(
            Finding(
                claim=claim,
                source="Saha & Roy 2023; Luo et al. 2023 (classification)",
                reproduced=verdict,
                evidence=evidence,
            )
        )
    return findings


def _bounds(table):
    return {b: table[b]["0"]["final_miou"] for b in ("finetune", "joint") if b in table}


def make_figures(
    workdir,
    summary,
    opts,
    *,
    data,
    strategies,
    hw,
    full_bytes,
    params,
    saliency,
    tasks,
) -> dict:
    """``miou_vs_bytes.png`` and ``exemplars.png`` (what each strategy replays)."""
    del full_bytes
    table = summary["table"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for strategy, cells in table.items():
        if strategy in ("finetune", "joint"):
            continue
        budgets = sorted(cells, key=int)
        x = np.array([cells[b]["budget_bytes"] for b in budgets]) / 1024
        m = np.array([cells[b]["final_miou"]["mean"] for b in budgets])
        lo = np.array([cells[b]["final_miou"]["ci_low"] for b in budgets])
        hi = np.array([cells[b]["final_miou"]["ci_high"] for b in budgets])
        ax.errorbar(x, m, yerr=[m - lo, hi - m], marker="o", capsize=3, label=strategy)
    for name, s in _bounds(table).items():
        ax.axhline(s["mean"], ls="--" if name == "joint" else ":", color="gray")
        ax.text(ax.get_xlim()[0], s["mean"], f" {name}", va="bottom", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("replay memory (KiB of stored arrays)")
    ax.set_ylabel("final mIoU, all classes (test)")
    ax.set_title("Replay compression at equal bytes (mean, 95 % CI over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(workdir / "miou_vs_bytes.png", dpi=120)
    plt.close(fig)
    figures = {"miou_vs_bytes": "miou_vs_bytes.png"}
    if params is None:
        return figures
    # What is replayed: one test image per task's classes, decompressed.
    from experiments.continual_replay import make_strategy_compressor

    count = min(3, len(data["test"]["image"]))
    images = data["test"]["image"][:count]
    masks = data["test"]["mask"][:count]
    classes = tuple(c for t in tasks for c in t)
    maps = jax.jit(saliency, static_argnums=3)(params, images, masks, classes)
    shown = [s for s in strategies if s.kind not in ("finetune", "joint")]
    fig, axes = plt.subplots(
        count, len(shown) + 1, figsize=(1.7 * (len(shown) + 1), 1.8 * count)
    )
    axes = np.atleast_2d(axes)
    for i in range(count):
        axes[i, 0].imshow(images[i])
        axes[i, 0].imshow(np.asarray(maps[i]), alpha=0.45, cmap="jet")
        axes[i, 0].set_title("saliency" if i == 0 else "", fontsize=8)
        for j, strategy in enumerate(shown, start=1):
            comp = make_strategy_compressor(strategy, hw, 0)
            ex = comp.compress(jax.random.key(i), images[i], masks[i], maps[i])
            image, _, weight = comp.decompress(ex)
            axes[i, j].imshow(
                np.asarray(image) * (0.4 + 0.6 * np.asarray(weight)[..., None])
            )
            if "corner" in ex:  # the full-resolution window
                side = ex["box_image" if "box_image" in ex else "image"].shape[0]
                r, c = np.asarray(ex["corner"]).tolist()
                axes[i, j].add_patch(
                    plt.Rectangle(
                        (c - 0.5, r - 0.5), side, side, fill=False, color="w", lw=1
                    )
                )
            if i == 0:
                axes[i, j].set_title(strategy.name, fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(workdir / "exemplars.png", dpi=110)
    plt.close(fig)
    figures["exemplars"] = "exemplars.png"
    return figures


def report_markdown(results: dict, opts: dict) -> str:
    """The experiment's ``report.md``."""
    table = results["summary"]["table"]
    rows = []
    for strategy, cells in table.items():
        for budget in sorted(cells, key=int):
            e = cells[budget]
            rows.append(
                [
                    strategy,
                    e["compressor"] or "-",
                    int(budget),
                    e["budget_bytes"],
                    e["exemplar_bytes"],
                    e["exemplars_stored"],
                    fmt_ci(e["final_miou"]),
                    fmt_ci(e["average_forgetting"]),
                    fmt_ci(e["backward_transfer"]),
                ]
            )
    diff_rows = [
        [name, budget, fmt_ci(d), d["n"], d["fraction_a_greater"]]
        for name, cells in results["summary"]["differences"].items()
        for budget, d in cells.items()
    ]
    lines = [
        "# Replay compression for class-incremental segmentation",
        "",
        f"Tasks: {results['tasks']}; seeds {list(opts['seeds'])}; budgets in full "
        f"exemplars {list(opts['budget_images'])} (one full exemplar = "
        f"{results['full_exemplar_bytes']} bytes).",
        "",
        f"Data: `{results['data']}`; model: `{results['model']}`; training: "
        f"`{results['train']}`. final mIoU = mean IoU over all 11 classes on the "
        "test split after the last task; forgetting and BWT use the per-task "
        "mIoU of each task's classes.",
        "",
        "## Findings",
        "",
        reproduction.findings_markdown([Finding(**f) for f in results["findings"]]),
        "",
        "## Results (mean [95 % CI] over seeds)",
        "",
        markdown_table(
            [
                "strategy",
                "compressor",
                "budget (images)",
                "budget bytes",
                "bytes / exemplar",
                "exemplars stored",
                "final mIoU",
                "avg forgetting",
                "BWT",
            ],
            rows,
        ),
        "",
        "## Paired differences of final mIoU (same seed)",
        "",
        markdown_table(
            ["a - b", "budget (images)", "difference", "pairs", "share a > b"],
            diff_rows,
        ),
        "",
        *(f"![{k}]({v})" for k, v in results["figures"].items()),
        "",
        f"Training, saliency, compression and evaluation of the "
        f"{len(results['runs'])} runs, summed from their checkpoints (they "
        f"survive restarts): {sum(r['seconds'] for r in results['runs']):.0f} s. "
        "The table below is this invocation only (finished runs are restored).",
        "",
        *wall_time_section(results["seconds"]),
    ]
    return "\n".join(lines)
