"""The published finding tested by :mod:`experiments.ablation_regions`.

Foreground vs background deactivation (Gipiskis et al., EUROCON 2023), with
its verdict rule.
"""

from __future__ import annotations

from experiments.ablation_regions.measure import METRICS
from experiments.shared.findings import Finding
from experiments.shared.stats import fmt_ci, sign_of

SOURCE = "Gipiskis et al., EUROCON 2023 (seed paper sec. 5)"


def evaluate_finding(summary, opts) -> Finding:
    threshold = str(opts.thresholds[0])
    layers = opts.layers
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
    fg_wins = [v.count(1) for v in votes.values()]
    bg_wins = [v.count(-1) for v in votes.values()]
    if all(w > len(layers) / 2 for w in fg_wins) and not any(bg_wins):
        verdict = "yes"
    elif any(w > 0 for w in fg_wins) and sum(fg_wins) > sum(bg_wins):
        verdict = "partly"
    else:
        verdict = "no"
    return Finding(
        "Deactivating the foreground region of a layer's activation maps changes "
        "the output more than deactivating the background",
        SOURCE,
        verdict,
        "; ".join(parts)
        + f" (region threshold {threshold}, significant = 95 % CI of the paired "
        f"difference over images excludes 0). Signed drop of S_c / |S_c| per "
        f"layer (negative: S_c rises): {details}. Verdict rule: yes if "
        "foreground wins significantly at more than half of the layers on both "
        "measures (|change of S_c| and 1 - Dice) and background never does; "
        "partly if foreground wins more often than background.",
    )
