"""Summaries of the ranking and the findings they support.

Intervals over images per (method, metric), mean ranks, paired differences to
the random baseline and to the best method, the Pareto front of cost vs
faithfulness (:func:`summarise`), and the findings written at the top of the
report (:func:`findings_lines`).
"""

from __future__ import annotations

import math

from experiments.rank_methods.labels import LABELS, ci_text, number_text
from experiments.rank_methods.methods import RANDOM
from experiments.shared.stats import image_mean_ci, mean_ranks, pareto_front

# name, higher is better, part of the mean rank.
METRICS = (
    ("deletion_auc_rel", False, True),
    ("insertion_auc_rel", True, True),
    ("deletion_auc", False, False),
    ("insertion_auc", True, False),
    ("pointing_game", True, True),
    ("relevance_mass", True, True),
    ("relevance_rank", True, True),
    ("top_k_iou", True, True),
    ("sparseness", True, True),
    ("entropy", False, False),
    ("avg_sensitivity", False, True),
    ("max_sensitivity", False, False),
    ("randomisation_top", False, False),
    ("randomisation_mean", False, True),
)
RANKED = {name: higher for name, higher, ranked in METRICS if ranked}
PAIRED_WITH_RANDOM = (
    "deletion_auc_rel",
    "insertion_auc_rel",
    "deletion_auc",
    "insertion_auc",
)


def summarise(values: dict, methods, costs: dict) -> dict:
    """Intervals, ranks, differences to random and to the best, Pareto front.

    Args:
      values: metric -> method -> ``[B, S]`` per (image, seed).
      methods: the ranked methods (the random baseline among them).
      costs: method -> cost row of :func:`explain_methods`.

    Returns:
      ``{"summaries", "ranking", "vs_random", "versus_best", "front",
      "pareto_metric", "ranked"}``.
    """
    summaries = {
        name: {metric: image_mean_ci(values[metric][name]) for metric, _, _ in METRICS}
        for name in methods
    }
    ranking = mean_ranks(
        {
            n: {m: s["mean"] for m, s in summary.items()}
            for n, summary in summaries.items()
        },
        RANKED,
    )
    ranked = [n for n in methods if n != RANDOM]
    # Paired by (image, seed): the difference to the random baseline on the
    # same images has a much narrower interval than the two separate ones.
    vs_random = {
        name: {
            metric: image_mean_ci(values[metric][name] - values[metric][RANDOM])
            for metric in PAIRED_WITH_RANDOM
        }
        for name in ranked
    }
    versus_best = _compare_to_best(values, summaries, ranked)
    # Relative AUC unless no image has a positive clean score (an untrained
    # smoke-test teacher), then the absolute one.
    pareto_metric = "deletion_auc_rel"
    if all(math.isnan(summaries[n][pareto_metric]["mean"]) for n in ranked):
        pareto_metric = "deletion_auc"
    front = pareto_front(
        [costs[n]["seconds_per_image"] for n in ranked],
        [summaries[n][pareto_metric]["mean"] for n in ranked],
    )
    return {
        "summaries": summaries,
        "ranking": ranking,
        "vs_random": vs_random,
        "versus_best": versus_best,
        "front": front,
        "pareto_metric": pareto_metric,
        "ranked": ranked,
    }


def _compare_to_best(values, summaries, ranked) -> dict:
    """Per headline metric: the best method and who is not clearly worse.

    A method is "not clearly worse" when the paired 95 % interval (over
    images, seeds averaged) of its per-image difference to the best method
    contains 0.
    """
    comparison = {}
    for metric in PAIRED_WITH_RANDOM[:2]:
        means = {
            n: summaries[n][metric]["mean"]
            for n in ranked
            if not math.isnan(summaries[n][metric]["mean"])
        }
        if not means:
            continue
        best = (max if RANKED[metric] else min)(means, key=means.get)
        differences = {
            n: image_mean_ci(values[metric][n] - values[metric][best])
            for n in means
            if n != best
        }
        comparison[metric] = {
            "best": best,
            "differences_to_best": differences,
            "not_clearly_worse": [
                n
                for n, d in differences.items()
                if not math.isnan(d["half_width"]) and d["ci_low"] <= 0 <= d["ci_high"]
            ],
        }
    return comparison


def findings_lines(results: dict, order: list[str]) -> list[str]:
    methods = results["methods"]
    real = [n for n in order if n != RANDOM]
    lines = []
    if order:
        best = order[0] if order[0] != RANDOM else (real[0] if real else RANDOM)
        lines.append(
            f"- Best mean rank over the quality metrics: **{best}** "
            f"({number_text(methods[best]['rank']['mean_rank'], 2)}); worst: "
            f"**{real[-1] if real else order[-1]}**."
        )
    for metric in ("deletion_auc_rel", "insertion_auc_rel", "pointing_game"):
        higher = next(
            m["higher_is_better"] for m in results["metrics"] if m["name"] == metric
        )
        values = {
            n: methods[n]["summary"][metric]["mean"]
            for n in real
            if not math.isnan(methods[n]["summary"][metric]["mean"])
        }
        if not values:
            continue
        pick = max if higher else min
        best = pick(values, key=values.get)
        baseline = methods.get(RANDOM, {}).get("summary", {}).get(metric, {})
        line = (
            f"- {LABELS[metric]}: best **{best}** ({number_text(values[best])}); "
            f"random baseline {number_text(baseline.get('mean'))}."
        )
        close = results.get("versus_best", {}).get(metric, {})
        if close.get("not_clearly_worse"):
            line += (
                " Not clearly worse than the best (paired 95 % interval of the "
                "per-image difference contains 0): "
                + ", ".join(close["not_clearly_worse"])
                + "."
            )
        lines.append(line)
    for metric, better in (
        ("deletion_auc_rel", "below"),
        ("insertion_auc_rel", "above"),
    ):
        not_better = []
        for n in real:
            diff = (methods[n].get("minus_random") or {}).get(metric)
            if diff is None or math.isnan(diff["mean"]):
                continue
            bound = diff["ci_high"] if better == "below" else -diff["ci_low"]
            if not bound < 0:  # NaN (one image) counts as not shown
                not_better.append(f"{n} ({ci_text(diff)})")
        if not_better:
            lines.append(
                f"- {LABELS[metric]} not clearly {better} the random baseline "
                "(paired 95 % interval of the per-image difference includes 0 "
                f"or is on the wrong side): {', '.join(not_better)}."
            )
    if results["pareto_front"]:
        lines.append(
            f"- Pareto front of cost (s / image) vs {LABELS[results['pareto_metric']]}"
            " (random baseline excluded): "
            + " → ".join(results["pareto_front"])
            + ". Methods with equal pass counts (the three Grad-CAMs, gradient, "
            "gradient x input) differ in time only by noise, so the front's "
            "cheap end is a choice among them, not a measured win."
        )
    return lines
