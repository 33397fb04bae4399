"""Figures and the markdown report of the replay-compression study."""

from __future__ import annotations

import jax
import matplotlib
import numpy as np

from experiments.continual_replay.measure import (
    BOUNDS,
    FEATURE_REPLAY,
    make_strategy_compressor,
)
from experiments.shared.findings import Finding, findings_markdown
from experiments.shared.stats import fmt_ci
from experiments.shared.tables import markdown_table, wall_time_section

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _bounds(table):
    return {b: table[b]["0"]["final_miou"] for b in BOUNDS if b in table}


def make_figures(
    workdir, summary, *, data, strategies, hw, params, saliency, tasks
) -> dict:
    """``miou_vs_bytes.png`` and ``exemplars.png`` (what each strategy replays).

    Args:
      workdir: where the figures go.
      summary: :func:`experiments.continual_replay.measure.summarise` output.
      data: the stream data (test images are shown).
      strategies: the checked strategies (:class:`.config.StrategySettings`).
      hw: ``(H, W)`` of the images.
      params: the model whose saliency picks what is stored (``None``: no
        ``exemplars.png``).
      saliency: ``f(params, images, masks, classes) -> [B, H, W]``.
      tasks: the task split.
    """
    table = summary["table"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for strategy, cells in table.items():
        if strategy in BOUNDS:
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
    count = min(3, len(data["test"]["image"]))
    images = data["test"]["image"][:count]
    masks = data["test"]["mask"][:count]
    classes = tuple(c for t in tasks for c in t)
    maps = jax.jit(saliency, static_argnums=3)(params, images, masks, classes)
    shown = [s for s in strategies if s.kind not in (*BOUNDS, *FEATURE_REPLAY)]
    fig, axes = plt.subplots(
        count, len(shown) + 1, figsize=(1.7 * (len(shown) + 1), 1.8 * count)
    )
    axes = np.atleast_2d(axes)
    for i in range(count):
        axes[i, 0].imshow(images[i])
        axes[i, 0].imshow(np.asarray(maps[i]), alpha=0.45, cmap="jet")
        axes[i, 0].set_title("saliency" if i == 0 else "", fontsize=8)
        for j, strategy in enumerate(shown, start=1):
            comp = make_strategy_compressor(strategy, hw)
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


def report_markdown(results: dict) -> str:
    """The experiment's ``report.md``, from its completed results."""
    options = results["options"]
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
                    round(e["stored_bytes"]) if "stored_bytes" in e else "-",
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
        f"Tasks: {results['tasks']}; seeds {list(options['seeds'])}; budgets in "
        f"full exemplars {list(options['budget_images'])} (one full exemplar = "
        f"{results['full_exemplar_bytes']} bytes).",
        "",
        f"Data: `{results['data']}`; model: `{results['model']}`; training: "
        f"`{results['train']}`. final mIoU = mean IoU over all 11 classes on the "
        "test split after the last task; forgetting and BWT use the per-task "
        "mIoU of each task's classes.",
        "",
        "## Findings",
        "",
        findings_markdown([Finding(**f) for f in results["findings"]]),
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
                "bytes stored",
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
