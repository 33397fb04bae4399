"""Summaries, deletion AUCs and map similarity of the occlusion sweeps.

Stages of :mod:`experiments.occlusion_study`, computed from the output of
:func:`experiments.occlusion_study_sweeps.run_sweeps`.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

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


def summarise(sweeps, opts) -> dict:
    """``{patch: {fill: {metric: mean_ci + per_image}}}``."""
    out = {}
    for patch in opts.patch_sizes:
        out[str(patch)] = {}
        for fill in opts.fills:
            entry = sweeps[(fill, patch)]
            per_image = _per_image(
                entry["window"], entry["clean"], opts.fake_digit_threshold
            )
            window = entry["window"]
            pooled = float(
                window["fake_pixels"].sum() / max(window["background_pixels"].sum(), 1)
            )
            out[str(patch)][fill] = {
                **{k: {**mean_ci(v), "per_image": v} for k, v in per_image.items()},
                "fake_digit_fraction_pooled": pooled,
            }
    return out


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
    names = [f"{fill} k={patch}" for patch in opts.patch_sizes for fill in opts.fills]
    maps = [
        sweeps[(fill, patch)]["maps"]
        for patch in opts.patch_sizes
        for fill in opts.fills
    ]
    maps.append(np.asarray(random_saliency(key_random, images.shape[:3])))
    names.append("random")
    stacked = jnp.asarray(np.stack(maps))  # [M, N, H, W]
    out = {"score": "mean probability of class c over M", "substrates": {}}
    for substrate in tqdm(opts.deletion.fills, desc="deletion", unit="substrate"):
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
        aucs = np.asarray(auc(curves))  # [M, N]
        out["substrates"][substrate] = {
            name: {
                **mean_ci(aucs[m]),
                "per_image": aucs[m],
                "mean_curve": curves[m].mean(0),
            }
            for m, name in enumerate(names)
        }
    return out


def map_similarity(sweeps, opts) -> dict:
    fills, out = opts.fills, {"between_fills": {}, "between_patches": {}}
    pair_spearman = jax.jit(jax.vmap(spearman))
    pair_ssim = jax.vmap(lambda a, b: ssim(a, b))
    for patch in opts.patch_sizes:
        rho = np.eye(len(fills))
        structural = np.eye(len(fills))
        for (i, a), (j, b) in itertools.combinations(enumerate(fills), 2):
            ma, mb = sweeps[(a, patch)]["maps"], sweeps[(b, patch)]["maps"]
            rho[i, j] = rho[j, i] = float(np.mean(pair_spearman(ma, mb)))
            structural[i, j] = structural[j, i] = float(np.mean(pair_ssim(ma, mb)))
        out["between_fills"][str(patch)] = {"spearman": rho, "ssim": structural}
    for fill in fills:
        out["between_patches"][fill] = {
            f"{p}-{q}": float(
                np.mean(
                    pair_spearman(sweeps[(fill, p)]["maps"], sweeps[(fill, q)]["maps"])
                )
            )
            for p, q in itertools.combinations(opts.patch_sizes, 2)
        }
    return out
