"""The hypothesis of the CAM-NAS study and its verdict."""

from __future__ import annotations

from experiments.cam_nas.measure import values_of
from experiments.shared.findings import RULE, Finding, strict_verdict
from experiments.shared.stats import fmt_ci, paired_difference, sign_of


def evaluate_findings(runs: dict) -> tuple[dict, list[Finding]]:
    """The paired CAM-NAS - random-search mIoU difference and its verdict.

    Args:
      runs: method -> one entry per seed (as written to ``results["runs"]``).

    Returns:
      ``(summary_entries, findings)``: ``{"cam_nas_minus_random_miou": ...}``
      for the summary and one :class:`Finding`, or ``({}, [])`` when the run
      lacks ``cam_nas_init`` or ``random_search``.
    """
    if "cam_nas_init" not in runs or "random_search" not in runs:
        return {}, []
    a = values_of(runs["cam_nas_init"], "miou")
    b = values_of(runs["random_search"], "miou")
    diff = paired_difference(a, b)
    verdict = strict_verdict([sign_of(diff)])
    finding = Finding(
        claim=(
            "The CAM-NAS winner reaches a higher mIoU than the random-search "
            "winner at the same budget and number of evaluated candidates"
        ),
        source="seed paper's proposal; Zen-NAS's random-search baseline",
        reproduced=verdict,
        evidence=(
            f"mIoU difference (CAM-NAS init - random search), paired over "
            f"{diff['n']} seeds: {fmt_ci(diff)}; CAM-NAS higher "
            f"in {diff['fraction_a_greater']:.0%} of seeds. {RULE}"
        ),
    )
    return {"cam_nas_minus_random_miou": diff}, [finding]
