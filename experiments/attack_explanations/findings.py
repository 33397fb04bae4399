"""The published findings tested by the attack experiment, with their verdict rules."""

from __future__ import annotations

from experiments.attack_explanations.measure import DEFENCES, EXPLAINER_TITLES
from experiments.shared.findings import Finding
from experiments.shared.stats import fmt_ci, sign_of

SOURCE = "Dombrowski et al., NeurIPS 2019; Gipiškis et al., IEEE Syst. J. 2023"


def evaluate_findings(summary: dict, opts: dict) -> list[Finding]:
    """The attack's and the defence's verdicts."""
    del opts
    manipulated, parts = [], []
    for name, entry in summary.items():
        m = entry["metrics"]
        moved = sign_of(entry["moved"]["pearson"]) == 1
        kept = m["pixel_agreement"]["mean"] >= 0.99
        closer = m["to_target_pearson"]["mean"] > m["to_original_pearson"]["mean"]
        manipulated.append((moved and kept, moved and kept and closer))
        parts.append(
            f"{EXPLAINER_TITLES[name]}: Pearson(h(x'), h_t) "
            f"{m['before_to_target_pearson']['mean']:.3f} -> "
            f"{fmt_ci(m['to_target_pearson'])} (paired change "
            f"{fmt_ci(entry['moved']['pearson'])}), Pearson(h(x'), h(x)) "
            f"{fmt_ci(m['to_original_pearson'])}, pixel agreement "
            f"{fmt_ci(m['pixel_agreement'], 4)}, L-inf "
            f"{m['input_linf']['mean']:.3g}, PSNR {m['input_psnr']['mean']:.3g} dB"
        )
    if all(full for _, full in manipulated):
        verdict = "yes"
    elif any(moved for moved, _ in manipulated):
        verdict = "partly"
    else:
        verdict = "no"
    attack = Finding(
        "An imperceptible input change moves a segmentation explanation towards "
        "an arbitrary target while the segmentation stays the same",
        SOURCE,
        verdict,
        "; ".join(parts)
        + ". Verdict rule: yes if for every explainer the Pearson correlation "
        "with the target rises significantly (paired 95 % CI > 0), >= 99 % of "
        "the pixels keep their class, and h(x') ends closer to h_t than to h(x); "
        "partly if the first two hold for some explainer.",
    )
    signs, details = [], []
    for name, entry in summary.items():
        for defence in DEFENCES:
            less = entry["defences"][defence]["less_moved_pearson"]
            signs.append(sign_of(less))
            details.append(f"{EXPLAINER_TITLES[name]} / {defence}: {fmt_ci(less)}")
    if all(s == 1 for s in signs):
        verdict = "yes"
    elif any(s == 1 for s in signs):
        verdict = "partly"
    else:
        verdict = "no"
    defence = Finding(
        "Re-explaining the adversarial images with a smoothed model (softplus, "
        "small beta) or with SmoothGrad undoes much of the manipulation",
        "Dombrowski et al., NeurIPS 2019 (beta-smoothing)",
        verdict,
        "Reduction of the rise of Pearson(h, h_t) by the defence (undefended "
        "rise minus defended rise, > 0 = the defence helps): "
        + "; ".join(details)
        + ". Verdict rule: yes if significant for every explainer and defence, "
        "partly if for some.",
    )
    return [attack, defence]
