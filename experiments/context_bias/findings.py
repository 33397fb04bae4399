"""The published findings tested by :mod:`experiments.context_bias`.

The grid-saliency claims (Hoyer et al., NeurIPS 2019) about context-biased
segmentation models, each with its verdict rule.
"""

from __future__ import annotations

from experiments.shared.findings import RULE, Finding, scope, strict_verdict
from experiments.shared.stats import fmt_ci, mean_ci, paired_difference, sign_of

SOURCE = "Hoyer et al., NeurIPS 2019 (grid saliency; seed paper ref. [1])"


def _gap(measures, teacher, metric):
    return (
        measures[(teacher, "matched")][metric]
        - measures[(teacher, "mismatched")][metric]
    )


def evaluate_findings(measures, names) -> list[Finding]:
    biased = "biased"
    unbiased = [n for n in names if n != biased]

    def versus(metric, condition="matched"):
        return {
            n: paired_difference(
                measures[(biased, condition)][metric], measures[(n, condition)][metric]
            )
            for n in unbiased
        }

    # 1. Segmentation degrades when the context does not match.
    own = mean_ci(_gap(measures, biased, "dice"))
    gaps = {
        n: paired_difference(_gap(measures, biased, "dice"), _gap(measures, n, "dice"))
        for n in unbiased
    }
    shortcut = mean_ci(measures[(biased, "mismatched")]["shortcut_class"])
    missed = mean_ci(measures[(biased, "mismatched")]["missed_as_background"])
    tests = {"own gap": sign_of(own)}
    tests.update({f"larger than {n}'s": sign_of(g) for n, g in gaps.items()})
    verdict = strict_verdict(list(tests.values()))
    first = Finding(
        "A model trained with a context bias relies on that context: its "
        "segmentation degrades when the background does not match the class",
        SOURCE,
        verdict,
        f"digit Dice of the biased teacher, matched - mismatched (paired): "
        f"{fmt_ci(own)}; gap of the biased teacher minus the gap of "
        + ", ".join(f"the {n} teacher {fmt_ci(g)}" for n, g in gaps.items())
        + f"; on mismatched backgrounds the biased teacher gives "
        f"{fmt_ci(shortcut)} of the digit's pixels the class that the background "
        f"family stands for and calls {fmt_ci(missed)} of them background. "
        f"Tests: the biased teacher's gap > 0, and larger than every unbiased "
        f"teacher's ({scope(tests)}). {RULE}",
    )

    # 2. Its explanations put more mass on the context.
    outside, far = versus("cam_outside_mask"), versus("cam_far_context")
    tests = {f"outside vs {n}": sign_of(d) for n, d in outside.items()}
    tests.update({f"far vs {n}": sign_of(d) for n, d in far.items()})
    verdict = strict_verdict(list(tests.values()))
    mass = {n: mean_ci(measures[(n, "matched")]["cam_outside_mask"]) for n in names}
    far_mass = {n: mean_ci(measures[(n, "matched")]["cam_far_context"]) for n in names}
    second = Finding(
        "Explanations reveal the bias: Seg-Grad-CAM of the context-biased model "
        "puts more mass on the background context",
        SOURCE,
        verdict,
        "share of positive Seg-Grad-CAM mass outside the digit mask on matched "
        "images: "
        + ", ".join(f"{n} {fmt_ci(v)}" for n, v in mass.items())
        + "; beyond the context radius: "
        + ", ".join(f"{n} {fmt_ci(v)}" for n, v in far_mass.items())
        + "; biased minus "
        + ", ".join(
            f"{n}: outside {fmt_ci(outside[n])}, far {fmt_ci(far[n])}" for n in unbiased
        )
        + f". Tests: the biased teacher's share larger than every unbiased "
        f"teacher's on both measures ({scope(tests)}). {RULE}",
    )

    # 3. Removing the context hurts the biased model more.
    removal = versus("context_removal_drop")
    drops = {
        n: mean_ci(measures[(n, "matched")]["context_removal_drop"]) for n in names
    }
    tests = {f"vs {n}": sign_of(d) for n, d in removal.items()}
    verdict = strict_verdict(list(tests.values()))
    third = Finding(
        "Removing the (matching) context lowers the biased model's class score more "
        "than an unbiased model's",
        SOURCE,
        verdict,
        "relative drop of S_c when the far context is replaced, matched images: "
        + ", ".join(f"{n} {fmt_ci(v)}" for n, v in drops.items())
        + "; biased minus "
        + ", ".join(f"{n} {fmt_ci(d)}" for n, d in removal.items())
        + f" ({scope(tests)}). {RULE}",
    )
    return [first, second, third]
