"""Summaries, deletion AUCs and map similarity of the occlusion sweeps.

Stages of :mod:`experiments.occlusion_study`, computed from the output of
:func:`experiments.occlusion_study_sweeps.run_sweeps`.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from experiments.shared.stats import mean_ci
from segxai_jax.metrics import (
    auc,
    batched_curves,
    deletion_curve,
    random_saliency,
    spearman,
    ssim,
)


def _per_image(window: dict, clean: dict, threshold: float) -> dict:
    """Per-image summaries ``[N]`` of one (fill, patch) sweep."""
    score, s0 = window["score"], clean["score"][:, None]
    prob, p0 = window["probability"], clean["probability"][:, None]
    gap, g0 = window["gap_probability"], clean["gap_probability"][:, None]
    top, t0 = window["max_probability"], clean["max_probability"][:, None]
    denominators = np.maximum(window["background_pixels"], 1.0)
    fake_share = window["fake_pixels"] / denominators
    on_background = window["background_pixels"] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        fake_fraction = window["fake_pixels"].sum(1) / window["background_pixels"].sum(
            1
        )
        fake_windows = np.where(
            on_background.any(1),
            (on_background & (fake_share > threshold)).sum(1) / on_background.sum(1),
            np.nan,
        )
    return {
        "seg_score_rel_std": score.std(1) / np.abs(s0[:, 0]),
        "seg_score_max_rel_drop": ((s0 - score) / np.abs(s0)).max(1),
        # Probabilities are already on a common [0, 1] scale: absolute spreads
        # (a relative one explodes for images where another digit dominates).
        "seg_probability_std": prob.std(1),
        "seg_probability_max_drop": (p0 - prob).max(1),
        "gap_probability_std": gap.std(1),
        "gap_probability_max_drop": (g0 - gap).max(1),
        "max_probability_std": top.std(1),
        "max_probability_max_drop": (t0 - top).max(1),
        "dice_drop_mean": (1 - window["dice"]).mean(1),
        "dice_drop_max": (1 - window["dice"]).max(1),
        "fake_digit_fraction": fake_fraction,
        "fake_digit_windows": fake_windows,
        "changed_outside": window["changed_outside"].mean(1),
    }


def image_measures(sweeps, opts) -> dict:
    """One image's distortion measures, for :func:`aggregate_units`.

    Args:
      sweeps: :func:`~experiments.occlusion_study.sweeps.run_sweeps` of ONE
        image.
      opts: the study's plan.

    Returns:
      ``{"windows": {patch: n}, "per_image": {patch: {fill: {metric: x}}},
      "pooled": {patch: {fill: {"fake_pixels", "background_pixels"}}},
      "clean_score": {patch: {fill: S_c}}, "worst_window": {...}}``; the worst
      window is where the probe fill (black when compared) fakes most digit
      pixels at the reference patch size (the example figure's window).
    """
    per_image, pooled, clean = {}, {}, {}
    for patch in opts.patch_sizes:
        key = str(patch)
        per_image[key], pooled[key], clean[key] = {}, {}, {}
        for fill in opts.fills:
            entry = sweeps[(fill, patch)]
            values = _per_image(
                entry["window"], entry["clean"], opts.fake_digit_threshold
            )
            per_image[key][fill] = {k: float(v[0]) for k, v in values.items()}
            window = entry["window"]
            pooled[key][fill] = {
                "fake_pixels": float(window["fake_pixels"].sum()),
                "background_pixels": float(window["background_pixels"].sum()),
            }
            clean[key][fill] = float(entry["clean"]["score"][0])
    probe = "black" if "black" in opts.fills else opts.fills[0]
    fake = sweeps[(probe, opts.reference_patch)]["window"]["fake_pixels"][0]
    return {
        "windows": {
            str(p): int(sweeps[(opts.fills[0], p)]["windows"]) for p in opts.patch_sizes
        },
        "per_image": per_image,
        "pooled": pooled,
        "clean_score": clean,
        "worst_window": {
            "fill": probe,
            "window": int(np.argmax(fake)),
            "fake_pixels": float(np.max(fake)),
        },
    }


def deletion_aucs(
    apply_fn,
    params,
    images,
    targets,
    sweeps,
    key_random,
    key,
    num_classes,
    opts,
    dataset_mean,
) -> dict:
    """Deletion AUC and curve of every map (and a random one) of ONE image.

    Returns:
      ``{substrate: {"<fill> k=<patch>" or "random": {"auc", "curve"}}}``.
    """
    names = [f"{fill} k={patch}" for patch in opts.patch_sizes for fill in opts.fills]
    maps = [
        sweeps[(fill, patch)]["maps"]
        for patch in opts.patch_sizes
        for fill in opts.fills
    ]
    maps.append(np.asarray(random_saliency(key_random, images.shape[:3])))
    names.append("random")
    stacked = jnp.asarray(np.stack(maps))  # [M, 1, H, W]
    out = {}
    for substrate in opts.deletion.fills:
        fill_options = {"mean": dataset_mean} if substrate == "dataset_mean" else None
        curve = deletion_curve(
            apply_fn,
            num_steps=opts.deletion.num_steps,
            fill=substrate,
            fill_options=fill_options,
            score="mean_probability",
            chunk_size=opts.chunk_size,
        )
        batched = jax.jit(batched_curves(curve, num_classes=num_classes))
        curves = np.asarray(batched(key, params, images, stacked, targets))
        aucs = np.asarray(auc(curves))  # [M, 1]
        out[substrate] = {
            name: {"auc": float(aucs[m, 0]), "curve": curves[m, 0].tolist()}
            for m, name in enumerate(names)
        }
    return out


def map_similarity(sweeps, opts) -> dict:
    """Spearman and SSIM between the maps of ONE image (fills, patch sizes)."""
    fills, out = opts.fills, {"between_fills": {}, "between_patches": {}}
    for patch in opts.patch_sizes:
        rho = np.eye(len(fills))
        structural = np.eye(len(fills))
        for (i, a), (j, b) in itertools.combinations(enumerate(fills), 2):
            ma, mb = sweeps[(a, patch)]["maps"][0], sweeps[(b, patch)]["maps"][0]
            rho[i, j] = rho[j, i] = float(_spearman(ma, mb))
            structural[i, j] = structural[j, i] = float(_ssim(ma, mb))
        out["between_fills"][str(patch)] = {
            "spearman": rho.tolist(),
            "ssim": structural.tolist(),
        }
    for fill in fills:
        out["between_patches"][fill] = {
            f"{p}-{q}": float(
                _spearman(sweeps[(fill, p)]["maps"][0], sweeps[(fill, q)]["maps"][0])
            )
            for p, q in itertools.combinations(opts.patch_sizes, 2)
        }
    return out


_spearman = jax.jit(spearman)
_ssim = jax.jit(ssim)


def aggregate_units(opts, units: list[dict]) -> dict:
    """Means [95 % CI] over the images of the per-image unit results.

    Returns:
      ``{"summaries": {patch: {fill: {metric: mean_ci + per_image},
      "fake_digit_fraction_pooled"}}, "deletion": {"score", "substrates":
      {substrate: {map: mean_ci + per_image + mean_curve}}}, "similarity":
      {"between_fills": {patch: {"spearman", "ssim"}}, "between_patches":
      {fill: {"p-q": rho}}}, "worst_window": {"image", "window", ...}}``:
      similarities are means over the images of the per-image values.
    """
    summaries = {}
    for patch in map(str, opts.patch_sizes):
        summaries[patch] = {}
        for fill in opts.fills:
            rows = [u["per_image"][patch][fill] for u in units]
            fake = sum(u["pooled"][patch][fill]["fake_pixels"] for u in units)
            background = sum(
                u["pooled"][patch][fill]["background_pixels"] for u in units
            )
            summaries[patch][fill] = {
                **{
                    k: {**mean_ci(v), "per_image": v}
                    for k in rows[0]
                    for v in [np.asarray([row[k] for row in rows])]
                },
                "fake_digit_fraction_pooled": float(fake / max(background, 1.0)),
            }
    deletion = {"score": "mean probability of class c over M", "substrates": {}}
    for substrate in opts.deletion.fills:
        names = list(units[0]["deletion"][substrate])
        deletion["substrates"][substrate] = {}
        for name in names:
            aucs = np.asarray([u["deletion"][substrate][name]["auc"] for u in units])
            curves = np.asarray(
                [u["deletion"][substrate][name]["curve"] for u in units]
            )
            deletion["substrates"][substrate][name] = {
                **mean_ci(aucs),
                "per_image": aucs,
                "mean_curve": curves.mean(0),
            }
    similarity = {"between_fills": {}, "between_patches": {}}
    for patch in map(str, opts.patch_sizes):
        similarity["between_fills"][patch] = {
            kind: np.mean(
                [
                    np.asarray(u["similarity"]["between_fills"][patch][kind])
                    for u in units
                ],
                axis=0,
            )
            for kind in ("spearman", "ssim")
        }
    for fill in opts.fills:
        pairs = units[0]["similarity"]["between_patches"][fill]
        similarity["between_patches"][fill] = {
            pair: float(
                np.mean([u["similarity"]["between_patches"][fill][pair] for u in units])
            )
            for pair in pairs
        }
    worst = max(
        enumerate(units), key=lambda iu: (iu[1]["worst_window"]["fake_pixels"], -iu[0])
    )[1]
    return {
        "summaries": summaries,
        "deletion": deletion,
        "similarity": similarity,
        "worst_window": {"image": worst["image"], **worst["worst_window"]},
    }
