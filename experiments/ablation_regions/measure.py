"""Per-layer region deactivations and their summaries.

Stages of :mod:`experiments.ablation_regions`: the raw effects of deactivating the
foreground and background cells at every layer, and per-image metrics
with confidence intervals over images.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from experiments.shared.stats import mean_ci, paired_difference
from segxai_jax.explainers import ablation_effects
from segxai_jax.probes import make_probe

REGIONS = ("foreground", "background")
METRICS = {
    "rel_change": "|change of S_c| / |S_c|, all channels",
    "rel_drop": "signed drop of S_c / |S_c|, all channels",
    "dice_change": "1 - Dice, all channels",
    "rel_change_per_area": "|change of S_c| / |S_c| / region share",
    "dice_change_per_area": "(1 - Dice) / region share",
    "channel_rel_change": "mean single-channel |change of S_c| / |S_c|",
    "channel_dice_change": "mean single-channel 1 - Dice",
}


FIELDS = (
    "score",
    "region_fraction",
    "score_drop",
    "dice",
    "channel_score_drop",
    "channel_dice",
)


def measure_layer(model, params, images, targets, threshold, layer, **deactivation):
    """``{region: {field: [N] or [N, Kc]}}`` of one layer at one ROI threshold.

    ``deactivation``: ``mode``, ``ablation_value``, ``scale`` and
    ``chunk_size`` of :func:`segxai_jax.explainers.ablation_effects`.
    """
    probe = make_probe(model, layer, input_shape=tuple(images.shape[1:]))
    effects = jax.jit(
        functools.partial(
            ablation_effects,
            probe,
            regions=REGIONS,
            region_threshold=threshold,
            **deactivation,
        )
    )
    per_image = []
    for i in range(len(images)):
        target = jax.tree.map(lambda leaf, i=i: leaf[i], targets)
        per_image.append(jax.device_get(effects(params, images[i], target)))
    return {
        region: {
            field: np.stack([np.asarray(getattr(e[region], field)) for e in per_image])
            for field in FIELDS
        }
        for region in REGIONS
    }


def _metrics(effect: dict) -> dict:
    """Per-image metrics ``[N]`` of one region's effects."""
    scale = np.maximum(np.abs(effect["score"]), 1e-12)
    share = effect["region_fraction"]
    rel_drop = effect["score_drop"] / scale
    dice_change = 1.0 - effect["dice"]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_area = np.where(share > 0, 1.0 / share, np.nan)
    return {
        "rel_change": np.abs(rel_drop),
        "rel_drop": rel_drop,
        "dice_change": dice_change,
        "rel_change_per_area": np.abs(rel_drop) * per_area,
        "dice_change_per_area": dice_change * per_area,
        "channel_rel_change": np.abs(effect["channel_score_drop"]).mean(1) / scale,
        "channel_dice_change": (1.0 - effect["channel_dice"]).mean(1),
        "region_fraction": share,
    }


def summarise(raw) -> dict:
    """``{threshold: {layer: {region: {metric: ci}, "difference": ...}}}``.

    Args:
      raw: ``{(threshold, layer): measure_layer(...)}``.
    """
    out = {}
    for (threshold, layer), effects in raw.items():
        per_region = {r: _metrics(effects[r]) for r in REGIONS}
        entry = {
            r: {m: {**mean_ci(v), "per_image": v} for m, v in per_region[r].items()}
            for r in REGIONS
        }
        entry["difference"] = {
            m: paired_difference(
                per_region["foreground"][m], per_region["background"][m]
            )
            for m in METRICS
        }
        entry["empty_foreground"] = int(
            np.sum(per_region["foreground"]["region_fraction"] == 0)
        )
        out.setdefault(str(threshold), {})[layer] = entry
    return out
