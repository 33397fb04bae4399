"""Summaries of the attack study: mean [95 % CI] over the attacks, per explainer."""

from __future__ import annotations

import numpy as np

from experiments.shared.attacks import DEFENCES, SIMILARITIES
from experiments.shared.stats import mean_ci, paired_difference


def _pooled(runs, key) -> dict[str, np.ndarray]:
    """Per-image values of every metric, concatenated over the seeds."""
    names = runs[0][key] if key == "metrics" else runs[0]["defences"][key]
    source = (
        (lambda r: r["metrics"]) if key == "metrics" else (lambda r: r["defences"][key])
    )
    return {m: np.concatenate([source(r)[m] for r in runs]) for m in names}


def _moved(values: dict) -> dict:
    """Paired change towards the target, positive = closer (per similarity)."""
    moved = {}
    for metric in SIMILARITIES:
        after = values[f"to_target_{metric}"]
        before = values[f"before_to_target_{metric}"]
        moved[metric] = (
            paired_difference(before, after)
            if metric == "mse"
            else paired_difference(after, before)
        )
    return moved


def summarise(raw: dict) -> dict:
    """Mean [95 % CI] over all ``seeds x images`` attacks, per explainer."""
    summary = {}
    for name, runs in raw.items():
        values = _pooled(runs, "metrics")
        entry = {
            "metrics": {m: mean_ci(v) for m, v in values.items()},
            "moved": _moved(values),
            "per_seed_mean": {
                m: [float(np.mean(r["metrics"][m])) for r in runs] for m in values
            },
            "per_image": {m: v.tolist() for m, v in values.items()},
            "history": {
                k: np.mean([r["history"][k] for r in runs], axis=0).tolist()
                for k in runs[0]["history"]
            },
            "defences": {},
        }
        for defence in DEFENCES:
            defended = _pooled(runs, defence)
            entry["defences"][defence] = {
                "metrics": {m: mean_ci(v) for m, v in defended.items()},
                "moved": _moved(defended),
                # > 0: the defence moved less towards the target than no defence.
                "less_moved_pearson": paired_difference(
                    values["to_target_pearson"] - values["before_to_target_pearson"],
                    defended["to_target_pearson"]
                    - defended["before_to_target_pearson"],
                ),
            }
        summary[name] = entry
    return summary
