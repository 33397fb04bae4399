"""The published finding tested by :mod:`experiments.ablation_regions`.

Foreground vs background deactivation (Gipiskis et al., EUROCON 2023), with
its verdict rule.
"""

from __future__ import annotations

from experiments.ablation_regions.measure import METRICS
from experiments.shared.findings import RULE, Finding, strict_verdict
from experiments.shared.stats import fmt_ci, sign_of

SOURCE = "Gipiskis et al., EUROCON 2023 (seed paper sec. 5)"


def evaluate_finding(summary, threshold: float, layers) -> Finding:
    """The verdict at ``threshold`` (the primary ROI threshold) over ``layers``."""
    threshold = str(threshold)
    votes, parts = {}, []
    for metric in ("rel_change", "dice_change"):
        signs = {
            layer: sign_of(summary[threshold][layer]["difference"][metric])
            for layer in layers
        }
        votes[metric] = list(signs.values())
        groups = {
            "encoder and bottleneck": [
                v for k, v in signs.items() if not k.startswith("dec")
            ],
            "decoder": [v for k, v in signs.items() if k.startswith("dec")],
        }
        parts.append(
            f"{METRICS[metric]}: foreground larger at "
            + ", ".join(
                f"{g.count(1)}/{len(g)} {name} layers (background larger at "
                f"{g.count(-1)})"
                for name, g in groups.items()
                if g
            )
        )
    details = "; ".join(
        f"{layer}: fg {fmt_ci(summary[threshold][layer]['foreground']['rel_drop'])} "
        f"vs bg {fmt_ci(summary[threshold][layer]['background']['rel_drop'])}"
        for layer in layers
    )
    verdict = strict_verdict([v for signs in votes.values() for v in signs])
    return Finding(
        "Deactivating the foreground region of a layer's activation maps changes "
        "the output more than deactivating the background",
        SOURCE,
        verdict,
        "; ".join(parts)
        + f" (region threshold {threshold}, significant = 95 % CI of the paired "
        f"difference over images excludes 0). Signed drop of S_c / |S_c| per "
        f"layer (negative: S_c rises): {details}. One test per layer and "
        f"measure (|change of S_c| and 1 - Dice). {RULE}",
    )
