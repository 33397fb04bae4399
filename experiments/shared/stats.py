"""Every confidence interval and paired comparison of the experiments.

Each helper is named for what it computes:

* :func:`mean_ci`: mean and Student-t interval over plain values (one per
  seed, per run, or per image when images are the values);
* :func:`image_mean_ci`: the same with IMAGES as the sampling unit when each
  image has several seeds (seeds averaged within an image first);
* :func:`paired_difference`: ``mean_ci(a - b)`` of paired values, plus the
  share of pairs where ``a > b``;
* :func:`sign_of`: +1 / -1 when an interval excludes 0 on that side, else 0;
* :func:`repeated_measures_p`: Friedman (3+ groups) or Wilcoxon (2) p-value;
* :func:`mean_ranks` and :func:`pareto_front` for method rankings;
* :func:`rank_correlations`: Kendall tau-b and Spearman rho of several
  scores against one outcome, with bootstrap intervals (and paired ones
  against a reference score) over the resampled units;
* :func:`fmt_ci`: ``"m [lo, hi]"`` for reports.

Confidence intervals of :func:`image_mean_ci`. A metric is measured per
(method, image, seed). Images are the sampling unit: the seeds of one image
share the image, and for a deterministic explainer they give the same value, so
treating ``images x seeds`` values as independent would shrink the interval by
up to ``sqrt(num_seeds)`` without new information. The function therefore
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


def mean_ci(values, confidence: float = 0.95) -> dict:
    """Mean and Student-t confidence interval over the finite ``values``.

    Returns:
      ``{"mean", "ci_low", "ci_high", "std", "n"}``; with fewer than two
      values the interval is the mean itself (no spread to estimate).
    """
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    n = int(values.size)
    if n == 0:
        nan = float("nan")
        return {"mean": nan, "ci_low": nan, "ci_high": nan, "std": nan, "n": 0}
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))
    half = half if n > 1 else 0.0
    return {
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "std": std,
        "n": n,
    }


def paired_difference(a, b, confidence: float = 0.95) -> dict:
    """``mean_ci(a - b)`` plus the share of pairs with ``a > b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    summary = mean_ci(a - b, confidence)
    finite = np.isfinite(a) & np.isfinite(b)
    summary["fraction_a_greater"] = (
        float(np.mean(a[finite] > b[finite])) if finite.any() else float("nan")
    )
    return summary


def sign_of(summary: dict) -> int:
    """+1 / -1 when the CI excludes 0 on that side, else 0."""
    if summary["n"] < 2:
        return 0
    if summary["ci_low"] > 0:
        return 1
    if summary["ci_high"] < 0:
        return -1
    return 0


def fmt_ci(summary: dict, digits: int = 3) -> str:
    """``"m [lo, hi]"`` with ``digits`` significant digits."""
    if summary["n"] == 0:
        return "n/a"
    f = f"{{:.{digits}g}}"
    return (
        f"{f.format(summary['mean'])} "
        f"[{f.format(summary['ci_low'])}, {f.format(summary['ci_high'])}]"
    )


def repeated_measures_p(groups) -> float:
    """p-value that paired samples differ: Friedman (3+ groups) or Wilcoxon (2).

    Args:
      groups: sequences of equal length ``n`` (one value per image each).

    Returns:
      The p-value, NaN when the test is undefined (e.g. ``n < 2`` or all
      differences zero).
    """
    arrays = [np.asarray(g, np.float64) for g in groups]
    finite = np.all([np.isfinite(a) for a in arrays], axis=0)
    arrays = [a[finite] for a in arrays]
    if len(arrays) < 2 or arrays[0].size < 2:
        return float("nan")
    try:
        if len(arrays) == 2:
            return float(stats.wilcoxon(arrays[0], arrays[1]).pvalue)
        return float(stats.friedmanchisquare(*arrays).pvalue)
    except ValueError:
        return float("nan")


def image_mean_ci(values, *, confidence: float = CONFIDENCE) -> dict:
    """Mean and Student-t confidence interval of per-image values.

    Unlike :func:`mean_ci` (an interval over plain values, e.g. one per seed),
    images are the sampling unit here: seeds are averaged within an image
    first (see the module docstring).

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


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tau-b of the rows of ``x [R, n]`` and ``y [R, n]`` (ties allowed)."""
    sx = np.sign(x[:, :, None] - x[:, None, :])
    sy = np.sign(y[:, :, None] - y[:, None, :])
    den = np.sqrt((sx * sx).sum((1, 2)) * (sy * sy).sum((1, 2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (sx * sy).sum((1, 2)) / den, np.nan)


def _spearman_rho(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho (average ranks for ties) of the rows of ``x`` and ``y``."""
    rx = stats.rankdata(x, axis=1) - (x.shape[1] + 1) / 2
    ry = stats.rankdata(y, axis=1) - (y.shape[1] + 1) / 2
    den = np.sqrt((rx * rx).sum(1) * (ry * ry).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(1) / den, np.nan)


# Below this many units a percentile bootstrap of a rank correlation is
# degenerate (few distinct resamples: 4 units give intervals like [-1, -1]);
# the interval is then left undefined, so no verdict rests on it.
MIN_BOOTSTRAP_UNITS = 10


def _interval(point: float, draws: np.ndarray, confidence: float, n: int) -> dict:
    if n < MIN_BOOTSTRAP_UNITS:
        return {"mean": point, "ci_low": math.nan, "ci_high": math.nan, "n": n}
    draws = draws[np.isfinite(draws)]
    tail = 100 * (1 - confidence) / 2
    low, high = (
        np.percentile(draws, [tail, 100 - tail]) if draws.size else (np.nan,) * 2
    )
    return {"mean": point, "ci_low": float(low), "ci_high": float(high), "n": n}


def rank_correlations(
    scores: Mapping[str, Sequence[float]],
    outcome: Sequence[float],
    *,
    reference: str | None = None,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict:
    """Kendall tau-b and Spearman rho of each score with ``outcome``.

    The units (e.g. architectures) are resampled with replacement
    ``resamples`` times, the same draws for every score, so the intervals of
    two scores are paired: ``tau_minus_reference`` is the percentile interval
    of ``tau(score) - tau(reference)`` over those draws (as ZiCo compares a
    proxy with the parameter count).

    Args:
      scores: name -> one value per unit (larger = predicted better).
      outcome: one value per unit (e.g. trained mIoU).
      reference: a key of ``scores`` to compare every other score with.
      resamples: bootstrap draws.
      seed: seeds the draws.
      confidence: of the percentile intervals.

    Returns:
      name -> ``{"tau": ci, "rho": ci[, "tau_minus_reference": ci,
      "rho_minus_reference": ci]}``, each ``ci`` a dict with ``mean`` (the
      full-sample statistic), ``ci_low``, ``ci_high`` and ``n`` (the number of units; as
      :func:`mean_ci`, so that :func:`sign_of` and :func:`fmt_ci` apply).

    Raises:
      ValueError: fewer than 3 units, scores of another length, or an unknown
        ``reference``.
    """
    y = np.asarray(outcome, np.float64)
    if y.ndim != 1 or y.size < 3:
        raise ValueError(f"outcome: expected at least 3 values, got shape {y.shape}")
    if reference is not None and reference not in scores:
        raise ValueError(
            f"reference: expected one of {tuple(scores)}, got {reference!r}"
        )
    xs = {}
    for name, values in scores.items():
        x = np.asarray(values, np.float64)
        if x.shape != y.shape:
            raise ValueError(
                f"scores[{name!r}]: expected {y.size} values, got shape {x.shape}"
            )
        xs[name] = x
    draws = np.random.default_rng(seed).integers(0, y.size, (resamples, y.size))
    full, boot = {}, {}
    for name, x in xs.items():
        full[name] = (
            float(_kendall_tau_b(x[None], y[None])[0]),
            float(_spearman_rho(x[None], y[None])[0]),
        )
        boot[name] = (
            _kendall_tau_b(x[draws], y[draws]),
            _spearman_rho(x[draws], y[draws]),
        )
    out = {}
    for name in xs:
        entry = {
            "tau": _interval(full[name][0], boot[name][0], confidence, y.size),
            "rho": _interval(full[name][1], boot[name][1], confidence, y.size),
        }
        if reference is not None and name != reference:
            for i, stat in enumerate(("tau", "rho")):
                entry[f"{stat}_minus_reference"] = _interval(
                    full[name][i] - full[reference][i],
                    boot[name][i] - boot[reference][i],
                    confidence,
                    y.size,
                )
        out[name] = entry
    return out


def auroc_ci(
    clean,
    attacked,
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> dict:
    """AUROC of a detector score (larger = attacked) with a bootstrap interval.

    The AUROC is the Mann-Whitney probability that an attacked image scores
    above a clean one (ties count 1/2). The interval is the stratified
    percentile bootstrap (clean and attacked scores resampled separately, as
    for any AUROC; resampling pairs would over-weight the same-image
    comparisons that duplicates create). The score is fixed, not fitted, so
    every image is held out.

    The two sets may differ in size (one clean score against several attacks).

    Returns:
      ``{"mean", "ci_low", "ci_high", "n"}`` (``n`` = the smaller set; no
      interval below :data:`MIN_BOOTSTRAP_UNITS`, as for rank correlations),
      plus ``n_clean`` and ``n_attacked``.
    """
    neg, pos = np.asarray(clean, np.float64), np.asarray(attacked, np.float64)
    if neg.ndim != 1 or pos.ndim != 1 or neg.size == 0 or pos.size == 0:
        raise ValueError(
            f"clean, attacked: expected a non-empty vector of scores each, got "
            f"shapes {neg.shape} and {pos.shape}"
        )

    def auroc(n, p):  # rows of resampled scores [R, m]
        greater = (p[:, :, None] > n[:, None, :]).mean((1, 2))
        ties = (p[:, :, None] == n[:, None, :]).mean((1, 2))
        return greater + 0.5 * ties

    point = float(auroc(neg[None], pos[None])[0])
    rng = np.random.default_rng(seed)
    neg_draws = rng.integers(0, neg.size, (resamples, neg.size))
    pos_draws = rng.integers(0, pos.size, (resamples, pos.size))
    draws = auroc(neg[neg_draws], pos[pos_draws])
    out = _interval(point, draws, confidence, min(neg.size, pos.size))
    return {**out, "n_clean": int(neg.size), "n_attacked": int(pos.size)}
