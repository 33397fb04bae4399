"""Verdicts of the replay-compression study on its two published claims."""

from __future__ import annotations

from experiments.shared.findings import Finding
from experiments.shared.stats import fmt_ci, sign_of

SALIENT = ("box", "patch")
CLAIMS = (
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
)


def evaluate_findings(summary: dict) -> list[Finding]:
    """Verdicts: salient vs full images, salient vs the random control.

    Args:
      summary: :func:`experiments.continual_replay.measure.summarise` output;
        a claim is judged on the pooled paired differences of final mIoU.
    """
    diffs = summary["differences"]
    findings = []
    for baseline, claim in CLAIMS:
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
                sign = sign_of(d)
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
