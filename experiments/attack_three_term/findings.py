"""The seed paper's attack claims and the detection question, with verdict rules."""

from __future__ import annotations

import math

from experiments.attack_three_term.detection import DETECTORS
from experiments.shared.attacks import EXPLAINER_TITLES
from experiments.shared.findings import RULE, Finding, scope, strict_verdict
from experiments.shared.stats import auroc_ci, fmt_ci, sign_of

SOURCE = (
    "seed paper, ref. [7] (Gipiškis et al., IEEE Syst. J. 2023, after "
    "Dombrowski et al., NeurIPS 2019)"
)
PHASES = {
    ("short", "none"): "200 steps, no L-inf budget",
    ("short", "linf"): "200 steps, L-inf budget",
    ("long", "none"): "1500 steps, no L-inf budget",
    ("long", "linf"): "1500 steps, L-inf budget",
    ("gradient_free", "none"): "gradient-free evolution strategy, no L-inf budget",
    ("gradient_free", "linf"): "gradient-free evolution strategy, L-inf budget",
}
EXPLAINER_TITLES = {
    **EXPLAINER_TITLES,
    "seg_ablation_cam": "Seg-Ablation-CAM",
    "occlusion": "occlusion",
}
DETECTOR_TITLES = {
    "softplus": "the softplus (beta 2) re-explanation",
    "smoothgrad": "a SmoothGrad re-explanation",
    "ablation_cam": "Seg-Ablation-CAM",
}


def _label(entry: dict) -> str:
    return f"{EXPLAINER_TITLES[entry['explainer']]} / {entry['target']}"


def attack_finding(summary: dict, phase: str, budget: str) -> Finding | None:
    """Moved towards the target (paired rise) with >= 99 % of pixels kept."""
    cells = [
        e for e in summary.values() if (e["phase"], e["budget"]) == (phase, budget)
    ]
    if not cells:
        return None
    signs, parts = {}, []
    for e in cells:
        kept = e["metrics"]["pixel_agreement"]["mean"] >= 0.99
        moved = sign_of(e["rise_pearson"])
        signs[_label(e)] = moved if kept else min(moved, 0)
        m = e["metrics"]
        parts.append(
            f"{_label(e)}: rise {fmt_ci(e['rise_pearson'])}, pixel agreement "
            f"{m['pixel_agreement']['mean']:.4f}, PSNR {m['input_psnr']['mean']:.3g} dB"
        )
    return Finding(
        "The three-term loss moves a segmentation explanation towards a target "
        "while the segmentation stays and the input change stays small "
        f"({PHASES[(phase, budget)]})",
        SOURCE,
        strict_verdict(list(signs.values())),
        "; ".join(parts)
        + ". One test per (explainer, target): the paired rise of Pearson(h, "
        f"h_t) with >= 99 % of the pixels keeping their class ({scope(signs)}). "
        + RULE,
    )


DETECTION_GROUPS = {
    "short": "attacks with input gradients, 200 steps",
    "long": "attacks with input gradients, 1500 steps",
    "gradient_free": "the gradient-free attack",
}


def _above_chance(auroc: dict) -> int:
    low, high = auroc["ci_low"], auroc["ci_high"]
    return 1 if low > 0.5 else (-1 if high < 0.5 else 0)


def _cells(summary: dict, detector: str, phase: str) -> list[dict]:
    return [
        e["detection"][detector]
        for e in summary.values()
        if e["phase"] == phase and detector in e["detection"]
    ]


def pooled_detection(summary: dict, detector: str, phase: str) -> dict | None:
    """AUROC over every attacked image of ``phase`` against its clean images.

    Each clean explanation counts once (its score does not depend on the
    target or the budget); None when no cell of ``phase`` kept its scores.
    """
    clean, attacked = {}, []
    for e in summary.values():
        scores = e.get("detection_scores", {}).get(detector)
        if e["phase"] != phase or scores is None:
            continue
        clean.update(zip(scores["clean_ids"], scores["clean"], strict=True))
        attacked.extend(scores["attacked"])
    return auroc_ci(list(clean.values()), attacked) if attacked else None


def detection_finding(summary: dict, detector: str, phase: str) -> Finding | None:
    """AUROC above chance in every (budget, target, explainer) cell of ``phase``.

    One finding per attack kind (``DETECTION_GROUPS``): a detector may work
    against one optimiser and not another.
    """
    signs, parts = {}, []
    for key, e in summary.items():
        if detector not in e["detection"] or e["phase"] != phase:
            continue
        auroc = e["detection"][detector]
        signs[key] = _above_chance(auroc)
        parts.append(f"{key}: {fmt_ci(auroc)}")
    if not signs:
        return None
    pooled = pooled_detection(summary, detector, phase)
    if pooled is not None:
        parts.append(
            f"pooled over the cells: {fmt_ci(pooled)} ({pooled['n_attacked']} "
            f"attacked, {pooled['n_clean']} distinct clean explanations)"
        )
    if any(math.isnan(e["ci_low"]) for e in _cells(summary, detector, phase)):
        # Cells of 8 images have no interval: the test is the pooled AUROC.
        signs = {"pooled": _above_chance(pooled)} if pooled else {}
    return Finding(
        f"Disagreement between the attacked explanation and {DETECTOR_TITLES[detector]}"
        f" tells attacked inputs from clean ones ({DETECTION_GROUPS[phase]})",
        "seed paper (XAI for detecting attacks on segmentation)",
        strict_verdict(list(signs.values())),
        "AUROC [bootstrap 95 % CI] per cell: "
        + "; ".join(parts)
        + f" ({scope(signs)}). Test per cell: the interval excludes 0.5 (where "
        "a cell has fewer than 10 images and so no interval, the pooled AUROC's "
        "interval is the one test). " + RULE,
    )


def smoothgrad_finding(summary: dict) -> Finding | None:
    """SmoothGrad (fresh noise every step) moves less than the gradient."""
    signs, parts = {}, []
    for key, e in summary.items():
        difference = e.get("rise_minus_gradient")
        if difference is None:
            continue
        signs[key] = -sign_of(difference)  # claimed: SmoothGrad's rise is smaller
        parts.append(f"{key}: {fmt_ci(difference)}")
    if not signs:
        return None
    return Finding(
        "SmoothGrad resists the attack: attacked with fresh noise at every step, "
        "its explanation moves less towards the target than the vanilla "
        "gradient's on the same images",
        "Dombrowski et al., NeurIPS 2019 (smoothing as a defence)",
        strict_verdict(list(signs.values())),
        "Paired difference of the rise of Pearson(h, h_t), SmoothGrad minus "
        "vanilla gradient, per image: "
        + "; ".join(parts)
        + f" ({scope(signs)}). "
        + RULE,
    )


def evaluate_findings(summary: dict) -> list[Finding]:
    out = [attack_finding(summary, *cell) for cell in PHASES]
    out.append(smoothgrad_finding(summary))
    out = [f for f in out if f is not None]
    detection = [
        detection_finding(summary, d, phase)
        for phase in DETECTION_GROUPS
        for d in DETECTORS
    ]
    return out + [f for f in detection if f is not None]
