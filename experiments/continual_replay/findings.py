"""Verdicts of the replay-compression study on its two published claims."""

from __future__ import annotations

from experiments.shared.findings import RULE, Finding, scope, strict_verdict
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
        tests, words = {}, []
        for salient in SALIENT:
            other = baseline if baseline == "full" else f"random_{salient}"
            per_budget = diffs.get(f"{salient}-{other}", {})
            for budget, d in per_budget.items():
                if budget == "pooled":
                    continue
                words.append(f"{salient} - {other} at {budget} images: {fmt_ci(d)}")
            if "pooled" in per_budget:
                d = per_budget["pooled"]
                tests[f"{salient} - {other}"] = sign_of(d)
                words.append(
                    f"**{salient} - {other} pooled over budgets and seeds "
                    f"(n = {d['n']}): {fmt_ci(d)}**"
                )
        if not tests:
            verdict, evidence = "not shown", "not measured (strategies missing)"
        else:
            verdict = strict_verdict(list(tests.values()))
            evidence = (
                f"final mIoU differences (paired, 95 % Student-t CI): "
                f"{'; '.join(words)}. One test per salient strategy, pooled "
                f"({scope(tests)}). {RULE}"
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
