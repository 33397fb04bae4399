"""The published findings tested by :mod:`experiments.occlusion_study`.

One :class:`~experiments.Finding` per claim of Gipiskis &
Kurasova (CISTI 2023), each with its verdict rule.
"""

from __future__ import annotations

import numpy as np

from experiments.shared.findings import RULE, Finding, scope, strict_verdict
from experiments.shared.stats import (
    fmt_ci,
    mean_ci,
    paired_difference,
    repeated_measures_p,
    sign_of,
)

GAUSSIAN_FILLS = ("blur", "noise")
SOURCE = "Gipiskis & Kurasova, CISTI 2023 (seed paper sec. 5)"


def _auc_per_image(deletion, substrate, fill, patch):
    return np.asarray(
        deletion["substrates"][substrate][f"{fill} k={patch}"]["per_image"]
    )


def evaluate_findings(summaries, deletion, similarity, opts) -> list[Finding]:
    fills, patches, ref = opts.fills, opts.patch_sizes, opts.reference_patch
    substrates = opts.deletion.fills
    return [
        _finding_fill(fills, patches, ref, substrates, deletion, similarity),
        _finding_size(fills, patches, substrates, deletion, similarity),
        _finding_black(summaries, fills, patches),
        _finding_gaussian(summaries, fills, ref),
        _finding_small_change(summaries, fills, ref),
    ]


def _finding_fill(fills, patches, ref, substrates, deletion, similarity) -> Finding:
    tests, parts = {}, []
    for substrate in substrates:
        for patch in patches:
            groups = [_auc_per_image(deletion, substrate, f, patch) for f in fills]
            p_value = repeated_measures_p(groups)
            means = dict(zip(fills, map(float, map(np.mean, groups)), strict=True))
            best, worst = min(means, key=means.get), max(means, key=means.get)
            if patch == ref:  # one test per substrate, at the reference size
                tests[f"{substrate} deletion"] = int(p_value < 0.05)
            parts.append(
                f"{substrate} deletion, k={patch}: AUC from {means[best]:.3f} "
                f"({best}) to {means[worst]:.3f} ({worst}), Friedman p = "
                f"{p_value:.2g}"
            )
    rho = np.asarray(similarity["between_fills"][str(ref)]["spearman"])
    off = rho[~np.eye(len(fills), dtype=bool)]
    i, j = np.unravel_index(np.argmin(rho), rho.shape)
    parts.append(
        f"Spearman between fill maps at k={ref}: mean {off.mean():.2f}, lowest "
        f"{rho[i, j]:.2f} ({fills[i]} vs {fills[j]})"
    )
    return Finding(
        "Occlusion results depend on the fill colour",
        SOURCE,
        strict_verdict(list(tests.values())),
        "; ".join(parts)
        + f". One test per deletion substrate: the per-image AUCs of the fills "
        f"differ at k={ref} (Friedman, Wilcoxon for two fills; {scope(tests)}). "
        + RULE,
    )


def _finding_size(fills, patches, substrates, deletion, similarity) -> Finding:
    if len(patches) < 2:
        return Finding(
            "Occlusion results depend on the patch size",
            SOURCE,
            "not shown",
            "only one patch size configured; not tested",
        )
    small, large = min(patches), max(patches)
    tests, parts = {}, []
    for substrate in substrates:
        diffs = {
            f: paired_difference(
                _auc_per_image(deletion, substrate, f, large),
                _auc_per_image(deletion, substrate, f, small),
            )
            for f in fills
        }
        for f, d in diffs.items():  # "depends": a difference either way counts
            tests[f"{f} ({substrate})"] = abs(sign_of(d))
        parts.append(
            f"{substrate} deletion: AUC(k={large}) - AUC(k={small}): "
            + ", ".join(f"{f} {fmt_ci(d)}" for f, d in diffs.items())
        )
    rhos = [v for f in fills for v in similarity["between_patches"][f].values()]
    parts.append(f"Spearman between patch sizes (same fill): mean {np.mean(rhos):.2f}")
    return Finding(
        "Occlusion results depend on the patch size",
        SOURCE,
        strict_verdict(list(tests.values())),
        "; ".join(parts)
        + f". One test per fill and substrate: AUC(k={large}) differs from "
        f"AUC(k={small}) ({scope(tests)}). {RULE}",
    )


def _finding_black(summaries, fills, patches) -> Finding:
    reference = "grey" if "grey" in fills else None
    if "black" not in fills or reference is None:
        return Finding(
            "A black occlusion patch can be segmented as (part of) the object",
            SOURCE,
            "not shown",
            "needs the black and the grey fill; not tested",
        )
    tests, parts = {}, []
    for p in patches:
        entry = summaries[str(p)]
        d = paired_difference(
            entry["black"]["fake_digit_fraction"]["per_image"],
            entry[reference]["fake_digit_fraction"]["per_image"],
        )
        tests[f"k={p}"] = sign_of(d)
        parts.append(
            f"k={p}: black {entry['black']['fake_digit_fraction_pooled']:.3f}, grey "
            f"{entry[reference]['fake_digit_fraction_pooled']:.3f}, highest "
            + max(fills, key=lambda f, e=entry: e[f]["fake_digit_fraction_pooled"])
            + f"; black - grey per image {fmt_ci(d)}"
        )
    return Finding(
        "A black occlusion patch can be segmented as (part of) the object",
        SOURCE,
        strict_verdict(list(tests.values())),
        "share of occluded, clean-background pixels predicted as a digit (pooled "
        "over images): " + "; ".join(parts) + ". One test per patch size: black "
        f"fakes more digit pixels than grey, paired over images ({scope(tests)}). "
        + RULE,
    )


def _finding_gaussian(summaries, fills, ref) -> Finding:
    constant = [f for f in fills if f not in GAUSSIAN_FILLS]
    gaussian = [f for f in fills if f in GAUSSIAN_FILLS]
    if not constant or not gaussian:
        return Finding(
            "Gaussian-based fills (blur, noise) distort the output less",
            SOURCE,
            "not shown",
            "needs both Gaussian (blur/noise) and constant fills; not tested",
        )
    s = summaries[str(ref)]
    metrics = ("changed_outside", "fake_digit_fraction", "dice_drop_mean")
    tests, parts = {}, []
    for m in metrics:
        for g in gaussian:
            for c in constant:
                d = paired_difference(s[c][m]["per_image"], s[g][m]["per_image"])
                tests[f"{g} < {c} ({m})"] = sign_of(d)
        parts.append(f"{m}: " + ", ".join(f"{f} {s[f][m]['mean']:.4f}" for f in fills))
    return Finding(
        "Gaussian-based fills (blur, noise) distort the output less",
        SOURCE,
        strict_verdict(list(tests.values())),
        f"at k={ref}, means over images: "
        + "; ".join(parts)
        + ". One test per Gaussian fill, constant fill and distortion measure: "
        f"the constant fill distorts more, paired over images ({scope(tests)}). "
        + RULE,
    )


def _finding_small_change(summaries, fills, ref) -> Finding:
    s = summaries[str(ref)]

    def over_fills(metric):  # per image, averaged over the fills
        return np.mean([s[f][metric]["per_image"] for f in fills], axis=0)

    seg = over_fills("seg_probability_std")
    proxies = {
        "GAP": over_fills("gap_probability_std"),
        "max-pool": over_fills("max_probability_std"),
    }
    diffs = {name: paired_difference(v, seg) for name, v in proxies.items()}
    max_drop = mean_ci(over_fills("seg_score_max_rel_drop"))
    spread = mean_ci(over_fills("seg_score_rel_std"))
    tests = {f"spreads less than {name}": sign_of(d) for name, d in diffs.items()}
    # "Changes little": the strongest window lowers S_c by less than half.
    tests["largest drop < 50 %"] = (
        1 if max_drop["ci_high"] < 0.5 else (-1 if max_drop["ci_low"] > 0.5 else 0)
    )
    proxy_text = "; ".join(
        f"{name}-pooled digit probability {fmt_ci(mean_ci(proxies[name]))} "
        f"(paired difference proxy - segmentation {fmt_ci(d)})"
        for name, d in diffs.items()
    )
    return Finding(
        "Segmentation scores change little under occlusion (less than "
        "classification scores), so maps need min-max rescaling",
        SOURCE,
        strict_verdict(list(tests.values())),
        f"at k={ref}, per image averaged over fills, std over windows of the mean "
        f"class probability over M: {fmt_ci(mean_ci(seg))}; of {proxy_text}. The "
        f"summed-logit target S_c moves by {fmt_ci(spread)} of its clean value "
        f"(std over windows) and the strongest window lowers it by "
        f"{fmt_ci(max_drop)}. Tests: the segmentation probability spreads less "
        "than both classification-style proxies, and the 95 % interval of the "
        f"largest relative drop of S_c lies below 50 % ({scope(tests)}). {RULE}",
    )
