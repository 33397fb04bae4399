"""The hypotheses of the CAM-NAS study and their verdicts (paired over seeds)."""

from __future__ import annotations

from experiments.cam_nas.measure import values_of
from experiments.shared.findings import RULE, Finding, strict_verdict
from experiments.shared.stats import fmt_ci, paired_difference, sign_of

# (method a, method b, summary key, claim, source): "a's winner beats b's".
COMPARISONS = (
    (
        "cam_nas_init",
        "random_search",
        "cam_nas_minus_random_miou",
        "The CAM-NAS winner reaches a higher mIoU than the random-search "
        "winner at the same budget and number of evaluated candidates",
        "seed paper's proposal; Zen-NAS's random-search baseline",
    ),
    (
        "proxy_search",
        "random_search",
        "proxy_minus_random_miou",
        "The winner of the search with the proxy study's best proxy reaches a "
        "higher mIoU than the random-search winner",
        "this project's proxy study (experiments/nas_proxies)",
    ),
    (
        "proxy_search",
        "cam_nas_init",
        "proxy_minus_cam_nas_miou",
        "The search with the proxy study's best proxy finds a better student "
        "than the search with Seg-Grad-CAM similarity (CAM-NAS's fitness)",
        "this project's proxy study (experiments/nas_proxies)",
    ),
)


def _by_seed(entries, seeds):
    """The entries of ``seeds``, in that order."""
    of_seed = {e["seed"]: e for e in entries}
    return [of_seed[seed] for seed in seeds]


def evaluate_findings(runs: dict) -> tuple[dict, list[Finding]]:
    """The paired test-mIoU differences of :data:`COMPARISONS` and their verdicts.

    Args:
      runs: method -> one entry per seed (as written to ``results["runs"]``).

    Returns:
      ``(summary_entries, findings)``: the paired differences by summary key
      and one :class:`Finding` per comparison whose two methods the run has.
    """
    summary, findings = {}, []
    for a, b, key, claim, source in COMPARISONS:
        if a not in runs or b not in runs:
            continue
        # Paired by seed: a partial run (``--minutes``) may have a seed's unit
        # of one method and not yet the other's.
        seeds = sorted({e["seed"] for e in runs[a]} & {e["seed"] for e in runs[b]})
        if not seeds:
            continue
        diff = paired_difference(
            values_of(_by_seed(runs[a], seeds), "miou"),
            values_of(_by_seed(runs[b], seeds), "miou"),
        )
        summary[key] = diff
        findings.append(
            Finding(
                claim=claim,
                source=source,
                reproduced=strict_verdict([sign_of(diff)]),
                evidence=(
                    f"mIoU difference ({a} - {b}), paired over {diff['n']} seeds: "
                    f"{fmt_ci(diff)}; {a} higher in "
                    f"{diff['fraction_a_greater']:.0%} of seeds. {RULE}"
                ),
            )
        )
    return summary, findings
