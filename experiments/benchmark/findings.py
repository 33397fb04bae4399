"""The benchmark's summaries and verdicts, pooled over teachers.

Unit of every interval: the explained image. A value of image ``i`` is first
averaged over the teachers (independently trained U-Nets, same test image),
then the 95 % Student-t interval is taken over images
(:func:`experiments.shared.stats.image_mean_ci`); paired differences are
differences of these per-image means.

Verdict labels of a claim tested on several datasets and substrates (each
test signed +1 / -1 / 0 by whether its interval excludes 0 and on which
side): "holds on every dataset and substrate" when every test is +1,
"depends on ..." (listing where it holds and where not) when some are, "does
not hold" when none is. The published findings use the strict rule of
:mod:`experiments.shared.findings` over all their tests.
"""

from __future__ import annotations

import warnings

import numpy as np

from experiments.benchmark.measure import COMPLEXITY, MAP_METRICS, SANITY_METRICS
from experiments.shared.findings import Finding, scope, strict_verdict
from experiments.shared.stats import fmt_ci, image_mean_ci, paired_difference, sign_of
from segxai_jax.metrics import metric_sanity

RANDOM = "random"
HOLDS_EVERYWHERE = "holds on every dataset and substrate"
DOES_NOT_HOLD = "does not hold"
LOWER_IS_BETTER = ("deletion", "leakage", "other_class_mass", "entropy")


def lower_is_better(metric: str) -> bool:
    return metric.split("/")[0] in LOWER_IS_BETTER


def _array(values) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], np.float64)


def per_image(parts, metric: str, method: str, section: str = "values"):
    """``[B, T]`` values of one metric and method over the teachers' parts."""
    if section == "values":
        columns = [_array(part["values"][metric][method]) for part in parts]
    else:
        columns = [_array(part["sanity"][section][metric][method]) for part in parts]
    return np.stack(columns, axis=1)


def _image_means(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return np.nanmean(values, axis=1)


def metrics_of(opts) -> list[str]:
    curves = [f"{k}/{s}" for k in ("deletion", "insertion") for s in opts.substrates]
    return curves + list(MAP_METRICS) + list(COMPLEXITY)


def label(signs: dict[str, int]) -> str:
    """The verdict label of one claim from its named test signs."""
    if signs and all(s > 0 for s in signs.values()):
        return HOLDS_EVERYWHERE
    if any(s > 0 for s in signs.values()):
        return f"depends on dataset and substrate ({scope(signs)})"
    against = [name for name, s in signs.items() if s < 0]
    return DOES_NOT_HOLD + (f" (against: {', '.join(against)})" if against else "")


def _versus_random(parts, method, metric):
    """Paired per-image difference 'method better than random' for a metric."""
    ours = _image_means(per_image(parts, metric, method))
    random = _image_means(per_image(parts, metric, RANDOM))
    if lower_is_better(metric):
        return paired_difference(random, ours)
    return paired_difference(ours, random)


def _costs(parts, method) -> dict:
    def values(key):
        return [p["costs"][method].get(key) for p in parts]

    seconds = _array(values("seconds_per_image"))
    peaks = _array(values("peak_bytes"))
    return {
        "seconds_per_image": float(np.mean(seconds)),
        "seconds_per_image_range": [float(seconds.min()), float(seconds.max())],
        "compile_seconds": float(np.mean(_array(values("compile_seconds")))),
        "peak_mib": float(np.nanmean(peaks) / 2**20)
        if np.isfinite(peaks).any()
        else None,
        "passes": parts[0]["costs"][method].get("passes"),
    }


def _sanity(parts, methods) -> dict:
    """Per sanity metric: reactivity and noise resilience, over the methods."""
    out = {}
    for metric in SANITY_METRICS:
        per_method = {}
        for method in methods:
            if method == RANDOM:  # its map ignores the model: nothing to react to
                continue
            clean, minor, disruptive = (
                per_image(parts, metric, method, section).ravel()
                for section in ("clean", "minor", "disruptive")
            )
            finite = np.isfinite(clean) & np.isfinite(minor) & np.isfinite(disruptive)
            if finite.sum() < 2:
                continue
            per_method[method] = metric_sanity(
                clean[finite], minor[finite], disruptive[finite]
            )
        if not per_method:
            continue
        summary = {}
        for key in ("reactivity", "noise_resilience"):
            values = np.asarray([v[key] for v in per_method.values()], np.float64)
            values = values[np.isfinite(values)]
            summary[key] = {
                "median": float(np.median(values)) if values.size else None,
                "min": float(values.min()) if values.size else None,
                "max": float(values.max()) if values.size else None,
            }
        summary["per_method"] = per_method
        out[metric] = summary
    return out


def _teachers(parts) -> dict:
    mious = [p["teacher"]["test_scores"]["miou"] for p in parts]
    ious = [p["teacher"]["test_iou"] for p in parts]
    return {
        "seeds": [p["teacher"]["seed"] for p in parts],
        "test_miou": mious,
        "test_iou": ious,
        "test_miou_mean": float(np.mean(mious)),
    }


def _mean_curves(parts, opts, methods) -> dict:
    return {
        substrate: {
            kind: {
                m: np.nanmean(
                    np.stack([_array(p["curves"][substrate][kind][m]) for p in parts]),
                    axis=0,
                ).tolist()
                for m in methods
            }
            for kind in ("deletion", "insertion")
        }
        for substrate in opts.substrates
    }


def _paper_findings(by_dataset, parts_by_dataset, opts) -> list[Finding]:
    """The seed paper's three findings, tested on every dataset."""
    findings = []
    methods = set(opts.methods) | {RANDOM}

    if {"gradient", "Seg-Ablation-CAM"} <= methods:
        signs, evidence = {}, []
        for name, parts in parts_by_dataset.items():
            for metric, noisier_first in (("entropy", True), ("sparseness", False)):
                grad = _image_means(per_image(parts, metric, "gradient"))
                sac = _image_means(per_image(parts, metric, "Seg-Ablation-CAM"))
                diff = (
                    paired_difference(grad, sac)
                    if noisier_first
                    else (paired_difference(sac, grad))
                )
                signs[f"{name} {metric}"] = sign_of(diff)
                sign = "gradient - SAC" if noisier_first else "SAC - gradient"
                evidence.append(f"{name} {metric} {sign} {fmt_ci(diff)}")
        findings.append(
            Finding(
                claim="Gradient maps are noisier than Seg-Ablation-CAM's",
                source="seed paper (Gipiskis et al.), qualitative comparison",
                reproduced=strict_verdict(list(signs.values())),
                evidence="; ".join(evidence) + f" ({scope(signs)})",
            )
        )

    pairs = [
        (slow, fast)
        for slow in ("occlusion", "Seg-Ablation-CAM")
        for fast in ("gradient", "Seg-Grad-CAM")
        if {slow, fast} <= methods
    ]
    if pairs:
        signs, evidence = {}, []
        for name, parts in parts_by_dataset.items():
            for slow, fast in pairs:
                ratios = np.asarray(
                    [
                        p["costs"][slow]["seconds_per_image"]
                        / p["costs"][fast]["seconds_per_image"]
                        for p in parts
                    ]
                )
                sign = 1 if ratios.min() > 1 else (-1 if ratios.max() < 1 else 0)
                signs[f"{name} {slow}/{fast}"] = sign
                evidence.append(
                    f"{name} {slow}/{fast} {ratios.min():.3g}-{ratios.max():.3g}x"
                )
        findings.append(
            Finding(
                claim="Perturbation methods cost more than gradient-based ones",
                source="seed paper (Gipiskis et al.)",
                reproduced=strict_verdict(list(signs.values())),
                evidence="seconds-per-image ratios over the teachers (each "
                "significant when every teacher's ratio is on one side of 1): "
                + "; ".join(evidence),
            )
        )

    if {"black", "blur"} <= set(opts.substrates):
        signs, evidence = {}, []
        for name, parts in parts_by_dataset.items():
            black = _image_means(per_image(parts, "deletion/black", RANDOM))
            blur = _image_means(per_image(parts, "deletion/blur", RANDOM))
            diff = paired_difference(blur, black)
            signs[name] = sign_of(diff)
            evidence.append(f"{name} {fmt_ci(diff)}")
        findings.append(
            Finding(
                claim="A black fill distorts the model more than a Gaussian blur",
                source="seed paper (Gipiskis et al.), occlusion fills",
                reproduced=strict_verdict(list(signs.values())),
                evidence="deletion AUC of the random map (pixels removed "
                "in random order, so the drop is the substrate's own effect), "
                "blur - black per image: " + "; ".join(evidence),
            )
        )
    return findings


def summarise(parts_by_dataset: dict[str, list[dict]], opts) -> dict:
    """Leaderboards, differences to random, verdicts, sanity, cost, teachers.

    ``opts``: the :class:`.measure.Plan` the parts were measured with.
    """
    methods = list(dict.fromkeys([*opts.methods, RANDOM]))
    metrics = metrics_of(opts)
    leaderboard, versus_random, sanity, costs, teachers, curves = {}, {}, {}, {}, {}, {}
    for name, parts in parts_by_dataset.items():
        leaderboard[name] = {
            method: {m: image_mean_ci(per_image(parts, m, method)) for m in metrics}
            for method in methods
        }
        versus_random[name] = {
            method: {
                m: _versus_random(parts, method, m)
                for m in metrics
                if m.startswith(("deletion/", "insertion/"))
            }
            for method in methods
            if method != RANDOM
        }
        sanity[name] = _sanity(parts, methods)
        costs[name] = {method: _costs(parts, method) for method in methods}
        teachers[name] = _teachers(parts)
        curves[name] = _mean_curves(parts, opts, methods)

    verdicts = {}
    for method in methods:
        if method == RANDOM:
            continue
        for kind in ("deletion", "insertion"):
            signs = {
                f"{name}/{substrate}": sign_of(
                    versus_random[name][method][f"{kind}/{substrate}"]
                )
                for name in parts_by_dataset
                for substrate in opts.substrates
            }
            verdicts.setdefault(method, {})[kind] = {
                "signs": signs,
                "label": label(signs),
            }
    paper = _paper_findings(leaderboard, parts_by_dataset, opts)
    return {
        "metrics": [
            {"name": m, "lower_is_better": lower_is_better(m)} for m in metrics
        ],
        "leaderboard": leaderboard,
        "versus_random": versus_random,
        "beats_random": verdicts,
        "paper_findings": [f.__dict__ for f in paper],
        "sanity": sanity,
        "cost": costs,
        "teachers": teachers,
        "mean_curves": curves,
    }
