"""The published findings tested by :mod:`experiments.occlusion_study`.

One :class:`~experiments.Finding` per claim of Gipiskis &
Kurasova (CISTI 2023), each with its verdict rule.
"""

from __future__ import annotations

import numpy as np

from experiments.shared.findings import Finding
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
    fills, patches, ref = opts.fills, opts.patches, opts.reference_patch
    substrates = opts.deletion_fills
    return [
        _finding_fill(fills, patches, ref, substrates, deletion, similarity),
        _finding_size(fills, patches, substrates, deletion, similarity),
        _finding_black(summaries, fills, patches),
        _finding_gaussian(summaries, fills, ref),
        _finding_small_change(summaries, fills, ref),
    ]


def _finding_fill(fills, patches, ref, substrates, deletion, similarity) -> Finding:
    significant, parts = {}, []
    for substrate in substrates:
        hits = []
        for patch in patches:
            groups = [_auc_per_image(deletion, substrate, f, patch) for f in fills]
            p_value = repeated_measures_p(groups)
            means = dict(zip(fills, map(float, map(np.mean, groups)), strict=True))
            best, worst = min(means, key=means.get), max(means, key=means.get)
            hits.append(p_value < 0.05)
            parts.append(
                f"{substrate} deletion, k={patch}: AUC from {means[best]:.3f} "
                f"({best}) to {means[worst]:.3f} ({worst}), Friedman p = "
                f"{p_value:.2g}"
            )
        significant[substrate] = any(hits)
    rho = np.asarray(similarity["between_fills"][str(ref)]["spearman"])
    off = rho[~np.eye(len(fills), dtype=bool)]
    i, j = np.unravel_index(np.argmin(rho), rho.shape)
    parts.append(
        f"Spearman between fill maps at k={ref}: mean {off.mean():.2f}, lowest "
        f"{rho[i, j]:.2f} ({fills[i]} vs {fills[j]})"
    )
    maps_differ = off.mean() < 0.9
    if all(significant.values()) and maps_differ:
        verdict = "yes"
    elif any(significant.values()) or maps_differ:
        verdict = "partly"
    else:
        verdict = "no"
    return Finding(
        "Occlusion results depend on the fill colour",
        SOURCE,
        verdict,
        "; ".join(parts)
        + ". Verdict rule: yes if under every deletion substrate the AUC differs "
        "between fills at some patch size (Friedman test over the per-image "
        "AUCs, p < 0.05; Wilcoxon for two fills) and the mean Spearman between "
        "fill maps is below 0.9; partly if one part holds.",
    )


def _finding_size(fills, patches, substrates, deletion, similarity) -> Finding:
    if len(patches) < 2:
        return Finding(
            "Occlusion results depend on the patch size",
            SOURCE,
            "no",
            "only one patch size configured; not tested",
        )
    small, large = min(patches), max(patches)
    counts, parts = {}, []
    for substrate in substrates:
        diffs = {
            f: paired_difference(
                _auc_per_image(deletion, substrate, f, large),
                _auc_per_image(deletion, substrate, f, small),
            )
            for f in fills
        }
        counts[substrate] = sum(sign_of(d) != 0 for d in diffs.values())
        parts.append(
            f"{substrate} deletion: AUC(k={large}) - AUC(k={small}) significant for "
            f"{counts[substrate]}/{len(fills)} fills ("
            + ", ".join(f"{f} {fmt_ci(d)}" for f, d in diffs.items())
            + ")"
        )
    rhos = [v for f in fills for v in similarity["between_patches"][f].values()]
    parts.append(f"Spearman between patch sizes (same fill): mean {np.mean(rhos):.2f}")
    majority = [c >= len(fills) / 2 for c in counts.values()]
    verdict = (
        "yes"
        if all(majority)
        else ("partly" if any(c > 0 for c in counts.values()) else "no")
    )
    return Finding(
        "Occlusion results depend on the patch size",
        SOURCE,
        verdict,
        "; ".join(parts) + ". Verdict rule: yes if the AUC changes significantly "
        "between the smallest and largest patch for at least half of the fills "
        "under every substrate.",
    )


def _finding_black(summaries, fills, patches) -> Finding:
    if "black" not in fills:
        return Finding(
            "A black patch can be segmented as the object",
            SOURCE,
            "no",
            "black not among the configured fills; not tested",
        )
    pooled = {
        p: {f: summaries[str(p)][f]["fake_digit_fraction_pooled"] for f in fills}
        for p in patches
    }
    best_black = max(pooled[p]["black"] for p in patches)
    others_median = [
        float(np.median([v for f, v in pooled[p].items() if f != "black"]))
        for p in patches
    ]
    rank = {
        p: sorted(fills, key=lambda f, p=p: -pooled[p][f]).index("black") + 1
        for p in patches
    }
    above = any(pooled[p]["black"] > others_median[i] for i, p in enumerate(patches))
    verdict = (
        "yes"
        if best_black >= 0.05 and above
        else "partly"
        if best_black >= 0.01
        else "no"
    )
    table = "; ".join(
        f"k={p}: black {pooled[p]['black']:.3f} (rank {rank[p]}/{len(fills)}), "
        f"highest {max(pooled[p], key=pooled[p].get)} {max(pooled[p].values()):.3f}"
        for p in patches
    )
    return Finding(
        "A black occlusion patch can be segmented as (part of) the object",
        SOURCE,
        verdict,
        f"share of occluded, clean-background pixels predicted as a digit: {table}. "
        "Verdict rule: yes if black reaches >= 5 % at some patch size and exceeds "
        "the median of the other fills; partly if >= 1 %.",
    )


def _finding_gaussian(summaries, fills, ref) -> Finding:
    constant = [f for f in fills if f not in GAUSSIAN_FILLS]
    gaussian = [f for f in fills if f in GAUSSIAN_FILLS]
    if not constant or not gaussian:
        return Finding(
            "Gaussian-based fills distort the output less",
            SOURCE,
            "no",
            "needs both Gaussian (blur/noise) and constant fills; not tested",
        )
    s = summaries[str(ref)]
    metrics = ("changed_outside", "fake_digit_fraction", "dice_drop_mean")
    lower_than_all, lower_than_median, parts = [], [], []
    for m in metrics:
        values = {f: s[f][m]["mean"] for f in fills}
        median = float(np.median([values[f] for f in constant]))
        for g in gaussian:
            lower_than_all.append(values[g] < min(values[f] for f in constant))
            lower_than_median.append(values[g] < median)
        parts.append(f"{m}: " + ", ".join(f"{f} {values[f]:.4f}" for f in fills))
    verdict = (
        "yes"
        if all(lower_than_all)
        else "partly"
        if sum(lower_than_median) > len(lower_than_median) / 2
        else "no"
    )
    return Finding(
        "Gaussian-based fills (blur, noise) distort the output less",
        SOURCE,
        verdict,
        f"at k={ref}, means over images: "
        + "; ".join(parts)
        + ". Verdict rule: yes if blur and noise are below every constant fill on "
        "all three distortion measures; partly if they are below the constant "
        "fills' median on most.",
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
    smaller = all(sign_of(d) > 0 for d in diffs.values())
    faint = max_drop["mean"] < 0.5
    if smaller and faint:
        verdict = "yes"
    elif smaller or faint:
        verdict = "partly"
    else:
        verdict = "no"
    proxy_text = "; ".join(
        f"{name}-pooled digit probability {fmt_ci(mean_ci(proxies[name]))} "
        f"(paired difference proxy - segmentation {fmt_ci(d)})"
        for name, d in diffs.items()
    )
    return Finding(
        "Segmentation scores change little under occlusion (less than "
        "classification scores), so maps need min-max rescaling",
        SOURCE,
        verdict,
        f"at k={ref}, per image averaged over fills, std over windows of the mean "
        f"class probability over M: {fmt_ci(mean_ci(seg))}; of {proxy_text}. The "
        f"summed-logit target S_c moves by {fmt_ci(spread)} of its clean value "
        f"(std over windows) and the strongest window lowers it by "
        f"{fmt_ci(max_drop)}, so a raw map on a [0, 1] relative scale uses that "
        "much of the colour range. Verdict rule: yes if the segmentation "
        "probability spreads significantly less than both classification-style "
        "proxies (95 % CI of the paired difference above 0) AND the largest "
        "relative drop of S_c is below 50 %; partly if one of the two holds. "
        "The proxies are class probabilities of the same network "
        "after global average or max pooling of its logits, softmax over the "
        "digit classes; not a separately trained classifier.",
    )
