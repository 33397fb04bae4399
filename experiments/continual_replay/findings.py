"""Verdicts of the replay-compression study on its two published claims."""

from __future__ import annotations

from experiments.shared.findings import RULE, Finding, scope, strict_verdict
from experiments.shared.stats import fmt_ci, sign_of

SALIENT = ("box", "patch", "box_gradient")
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
    (
        "downsample",
        "At equal bytes, a salient box with the rest downsampled beats uniform "
        "downsampling of the whole image (Luo et al.'s CIM idea)",
    ),
    (
        "prototypes",
        "Salient-box replay beats STAR-style prototype replay (which stores no "
        "images), alone and with its features held by distillation",
    ),
    (
        "instance",
        "At equal bytes, a salient window beats a window of the stored classes' "
        "objects alone (EIR / SAF-style instance replay)",
    ),
)
RANDOM_OF = {"box": "random_box", "patch": "random_patch", "box_gradient": "random_box"}
# Prototype replay alone and with its features held by distillation.
PROTOTYPE_STRATEGIES = ("prototypes", "prototypes_held")


def _pairs(baseline: str) -> list[tuple[str, str]]:
    """(salient strategy, compared strategy) pairs of one claim."""
    if baseline == "random":
        return [(salient, RANDOM_OF[salient]) for salient in SALIENT]
    others = PROTOTYPE_STRATEGIES if baseline == "prototypes" else (baseline,)
    return [(salient, other) for salient in SALIENT for other in others]


def evaluate_findings(summary: dict) -> list[Finding]:
    """Verdicts: salient replay against full images, the random control,
    uniform downsampling, prototypes (alone and held) and instance replay.

    Args:
      summary: :func:`experiments.continual_replay.measure.summarise` output;
        a claim is judged on the pooled paired differences of final mIoU.
    """
    diffs = summary["differences"]
    findings = []
    for baseline, claim in CLAIMS:
        tests, words = {}, []
        for salient, other in _pairs(baseline):
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
        if not tests and baseline not in ("full", "random"):
            continue  # a comparison this config does not run
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
