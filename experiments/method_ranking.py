"""Summaries for method rankings: confidence intervals, mean ranks, Pareto fronts.

Pure NumPy/SciPy on small tables (methods x images x seeds), used by
:mod:`experiments.rank_methods`.

Confidence intervals. A metric is measured per (method, image, seed). Images
are the sampling unit: the seeds of one image share the image, and for a
deterministic explainer they give the same value, so treating ``images x
seeds`` values as independent would shrink the interval by up to
``sqrt(num_seeds)`` without new information. :func:`image_mean_ci` therefore
averages over seeds within each image first and puts a Student-t interval on
the mean of those per-image values (a cluster-level interval; the seed
variation of a stochastic method still enters through the per-image means).
Images where a metric is undefined (NaN) are left out and counted.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def image_mean_ci(values, *, confidence: float = CONFIDENCE) -> dict:
    """Mean and Student-t confidence interval of per-image values.

    Unlike :func:`experiments.reproduction.mean_ci` (an interval over plain
    values, e.g. one per seed), images are the sampling unit here: seeds are
    averaged within an image first (see the module docstring).

    Args:
      values: ``[images, seeds]`` (or ``[images]``) with NaN for undefined
        entries; seeds are averaged within each image first (NaN-aware).
      confidence: two-sided level of the interval.

    Returns:
      ``{"mean", "ci_low", "ci_high", "half_width", "n_images", "n_values",
      "seed_sd"}``; ``seed_sd`` is the standard deviation over seeds of the
      image-averaged value (0 for deterministic metrics, NaN with one seed).
      With fewer than 2 valid images the interval is NaN.
    """
    values = np.asarray(values, np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"values: expected [images, seeds], got shape {values.shape}")
    valid = ~np.isnan(values)
    counts = valid.sum(axis=1)
    totals = np.where(valid, values, 0.0).sum(axis=1)
    per_image = np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
    per_image = per_image[~np.isnan(per_image)]
    n = per_image.size
    mean = float(per_image.mean()) if n else math.nan
    half = math.nan
    if n >= 2:
        sem = float(per_image.std(ddof=1)) / math.sqrt(n)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    seed_sd = math.nan
    if values.shape[1] >= 2:
        with warnings.catch_warnings():  # an all-NaN seed column is expected
            warnings.simplefilter("ignore", RuntimeWarning)
            per_seed = np.nanmean(values, axis=0)
        per_seed = per_seed[~np.isnan(per_seed)]
        if per_seed.size >= 2:
            seed_sd = float(per_seed.std(ddof=1))
    return {
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "half_width": half,
        "n_images": int(n),
        "n_values": int(valid.sum()),
        "seed_sd": seed_sd,
    }


def mean_ranks(
    table: Mapping[str, Mapping[str, float]],
    higher_is_better: Mapping[str, bool],
) -> dict[str, dict]:
    """Ranks methods on each metric (1 = best, ties averaged) and averages them.

    Args:
      table: method -> metric -> value (NaN = not available; that metric is
        then skipped for that method and the others are ranked without it).
      higher_is_better: metric -> direction; only these metrics are ranked.

    Returns:
      method -> ``{"ranks": {metric: rank}, "mean_rank": float,
      "num_metrics": int}``.
    """
    methods = list(table)
    ranks: dict[str, dict[str, float]] = {m: {} for m in methods}
    for metric, higher in higher_is_better.items():
        present = [m for m in methods if not math.isnan(table[m].get(metric, math.nan))]
        if not present:
            continue
        scores = np.asarray([table[m][metric] for m in present], np.float64)
        order = stats.rankdata(-scores if higher else scores, method="average")
        for m, r in zip(present, order, strict=True):
            ranks[m][metric] = float(r)
    return {
        m: {
            "ranks": ranks[m],
            "mean_rank": float(np.mean(list(ranks[m].values())))
            if ranks[m]
            else math.nan,
            "num_metrics": len(ranks[m]),
        }
        for m in methods
    }


def pareto_front(costs: Sequence[float], losses: Sequence[float]) -> list[int]:
    """Indices of the points no other point dominates (both minimised).

    Point ``j`` dominates ``i`` when ``cost_j <= cost_i`` and ``loss_j <=
    loss_i`` with at least one strict. Points with a NaN are never on the
    front. Returned in increasing cost.
    """
    costs = np.asarray(costs, np.float64)
    losses = np.asarray(losses, np.float64)
    if costs.shape != losses.shape or costs.ndim != 1:
        raise ValueError(
            f"costs/losses: expected two 1-D arrays of one length, got {costs.shape} "
            f"and {losses.shape}"
        )
    finite = ~(np.isnan(costs) | np.isnan(losses))
    front = []
    for i in np.flatnonzero(finite):
        others = finite.copy()
        others[i] = False
        dominated = (
            others
            & (costs <= costs[i])
            & (losses <= losses[i])
            & ((costs < costs[i]) | (losses < losses[i]))
        )
        if not dominated.any():
            front.append(int(i))
    return sorted(front, key=lambda i: (costs[i], losses[i]))
