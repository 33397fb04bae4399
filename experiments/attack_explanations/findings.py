"""The published findings tested by the attack experiment, with their verdict rules."""

from __future__ import annotations

from experiments.shared.attacks import DEFENCES, EXPLAINER_TITLES
from experiments.shared.findings import RULE, Finding, scope, strict_verdict
from experiments.shared.stats import fmt_ci, sign_of

SOURCE = "Dombrowski et al., NeurIPS 2019; Gipiškis et al., IEEE Syst. J. 2023"


def evaluate_findings(summary: dict) -> list[Finding]:
    """The attack's and the defence's verdicts."""
    tests, parts = {}, []
    for name, entry in summary.items():
        m = entry["metrics"]
        # The claim per explainer: the explanation moves to the target
        # (significant rise) while >= 99 % of the pixels keep their class.
        moved = sign_of(entry["moved"]["pearson"])
        kept = m["pixel_agreement"]["mean"] >= 0.99
        tests[EXPLAINER_TITLES[name]] = moved if kept else min(moved, 0)
        parts.append(
            f"{EXPLAINER_TITLES[name]}: Pearson(h(x'), h_t) "
            f"{m['before_to_target_pearson']['mean']:.3f} -> "
            f"{fmt_ci(m['to_target_pearson'])} (paired change "
            f"{fmt_ci(entry['moved']['pearson'])}), Pearson(h(x'), h(x)) "
            f"{fmt_ci(m['to_original_pearson'])}, pixel agreement "
            f"{fmt_ci(m['pixel_agreement'], 4)}, L-inf "
            f"{m['input_linf']['mean']:.3g}, PSNR {m['input_psnr']['mean']:.3g} dB"
        )
    verdict = strict_verdict(list(tests.values()))
    attack = Finding(
        "An imperceptible input change moves a segmentation explanation towards "
        "an arbitrary target while the segmentation stays the same",
        SOURCE,
        verdict,
        "; ".join(parts)
        + ". One test per explainer: the paired rise of Pearson(h, h_t), with "
        f">= 99 % of the pixels keeping their class ({scope(tests)}). {RULE}",
    )
    signs, details = {}, []
    for name, entry in summary.items():
        for defence in DEFENCES:
            less = entry["defences"][defence]["less_moved_pearson"]
            signs[f"{EXPLAINER_TITLES[name]} / {defence}"] = sign_of(less)
            details.append(f"{EXPLAINER_TITLES[name]} / {defence}: {fmt_ci(less)}")
    verdict = strict_verdict(list(signs.values()))
    defence = Finding(
        "Re-explaining the adversarial images with a smoothed model (softplus, "
        "small beta) or with SmoothGrad undoes much of the manipulation",
        "Dombrowski et al., NeurIPS 2019 (beta-smoothing)",
        verdict,
        "Reduction of the rise of Pearson(h, h_t) by the defence (undefended "
        "rise minus defended rise, > 0 = the defence helps): "
        + "; ".join(details)
        + f" ({scope(signs)}). {RULE}",
    )
    return [attack, defence]
