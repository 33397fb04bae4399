"""The per-window occlusion sweeps of :mod:`experiments.occlusion_study`.

One jitted sweep per patch size records, for every window, the target score
and the distortion measures; its occlusion maps are checked against
:func:`segxai_jax.explainers.occlusion`.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from segxai_jax.explainers import (
    apply_fill,
    class_dice,
    make_fill,
    map_chunked,
    occlusion,
    occlusion_windows,
)
from segxai_jax.explainers.occlusion import spread_window_scores
from segxai_jax.targets import box_roi, target_score


@dataclasses.dataclass(frozen=True)
class Plan:
    """The occlusion grid every stage shares (the config's fields of these names).

    Attributes:
      fills: the occlusion substrates compared.
      patch_sizes: the occlusion windows (pixels).
      reference_patch: the patch size of the verdicts.
      deletion: the deletion curves' ``fills`` and ``num_steps``.
      fake_digit_threshold: share of a window's clean-background pixels
        above which it counts as "segmented as a digit".
      chunk_size: windows per vmapped call.
      num_figure_images: images in the figures.
    """

    fills: tuple[str, ...]
    patch_sizes: tuple[int, ...]
    reference_patch: int
    deletion: Any
    fake_digit_threshold: float
    chunk_size: int
    num_figure_images: int


def _make_sweep(apply_fn, image_hw, patch: int, chunk_size: int):
    """A jitted ``sweep(params, x, substrate, target, clean_logits) -> dict``."""
    tops, lefts = occlusion_windows(image_hw, patch, max(patch // 2, 1))
    corners = np.stack(np.meshgrid(tops, lefts, indexing="ij"), -1).reshape(-1, 2)
    corners = jnp.asarray(corners, jnp.int32)

    def sweep(params, x, substrate, target, clean_logits):
        clean_labels = clean_logits.argmax(-1)
        clean_background = (clean_labels == 0).astype(jnp.float32)
        c = target.class_id

        def window(corner):
            mask = box_roi(image_hw, corner[0], corner[1], patch, patch)
            logits = apply_fn(params, apply_fill(x, substrate, mask))
            labels = logits.argmax(-1)
            digit_probs = jax.nn.softmax(logits.mean(axis=(0, 1))[1:])
            max_probs = jax.nn.softmax(logits.max(axis=(0, 1))[1:])
            changed = (labels != clean_labels).astype(jnp.float32)
            candidates = mask * clean_background
            return {
                "score": target_score(logits, target),
                "probability": target_score(
                    logits, target, reduction="mean", space="probabilities"
                ),
                "dice": class_dice(clean_labels, labels, c),
                "gap_probability": digit_probs[c - 1],
                "max_probability": max_probs[c - 1],
                "fake_pixels": jnp.sum(candidates * (labels != 0)),
                "background_pixels": jnp.sum(candidates),
                "changed_outside": jnp.sum(changed * (1 - mask))
                / jnp.maximum(jnp.sum(1 - mask), 1.0),
            }

        per_window = map_chunked(
            window, corners, chunk_size=chunk_size, strategy="lax_map"
        )
        clean_digit_probs = jax.nn.softmax(clean_logits.mean(axis=(0, 1))[1:])
        clean_max_probs = jax.nn.softmax(clean_logits.max(axis=(0, 1))[1:])
        clean = {
            "score": target_score(clean_logits, target),
            "probability": target_score(
                clean_logits, target, reduction="mean", space="probabilities"
            ),
            "gap_probability": clean_digit_probs[c - 1],
            "max_probability": clean_max_probs[c - 1],
        }
        drops = (clean["score"] - per_window["score"]).reshape(len(tops), len(lefts))
        saliency = spread_window_scores(drops, image_hw, patch, max(patch // 2, 1))
        return per_window, clean, saliency

    return jax.jit(sweep), len(corners)


def fill_substrate(kind, x, dataset_mean, key):
    fill = make_fill(kind, mean=dataset_mean if kind == "dataset_mean" else None)
    return fill.substrate(key, x, jnp.zeros(x.shape[:2], x.dtype))


def run_sweeps(
    apply_fn,
    params,
    images,
    clean_logits,
    targets,
    dataset_mean,
    key,
    opts,
    *,
    indices=None,
):
    """``{(fill, patch): {"maps", "windows", per-window arrays [N, n_w], clean}}``.

    ``indices``: the images' positions in the test split (default
    ``0..N-1``); the noise fill of image ``i`` draws from
    ``fold_in(key, i)``, so an image's sweeps do not depend on the others.
    """
    hw = tuple(images.shape[1:3])
    indices = range(len(images)) if indices is None else indices
    out = {}
    for patch in opts.patch_sizes:
        sweep, windows = _make_sweep(apply_fn, hw, patch, opts.chunk_size)
        jobs = list(itertools.product(range(len(images)), opts.fills))
        results = {fill: [] for fill in opts.fills}
        for i, fill in tqdm(jobs, desc=f"occlusion k={patch}", unit="map", leave=False):
            x = images[i]
            target = jax.tree.map(lambda leaf, i=i: leaf[i], targets)
            substrate = fill_substrate(
                fill, x, dataset_mean, jax.random.fold_in(key, indices[i])
            )
            results[fill].append(sweep(params, x, substrate, target, clean_logits[i]))
        for fill, parts in results.items():
            per_window = {
                k: np.stack([np.asarray(p[0][k]) for p in parts]) for k in parts[0][0]
            }
            clean = {
                k: np.asarray([float(p[1][k]) for p in parts]) for k in parts[0][1]
            }
            out[(fill, patch)] = {
                "maps": np.stack([np.asarray(p[2]) for p in parts]),
                "windows": windows,
                "window": per_window,
                "clean": clean,
            }
    return out


def check_library(apply_fn, params, x, targets, sweeps, opts) -> dict:
    """Max relative difference to ``explainers.occlusion`` on the first image."""
    fill = "grey" if "grey" in opts.fills else opts.fills[0]
    if fill in ("dataset_mean", "noise"):
        return {"skipped": f"fill {fill!r} needs options; check done in tests"}
    target = jax.tree.map(lambda leaf: leaf[0], targets)
    checks = {}
    for patch in opts.patch_sizes:
        explain = jax.jit(
            occlusion(
                apply_fn,
                patch_size=patch,
                stride=max(patch // 2, 1),
                fill=fill,
                chunk_size=opts.chunk_size,
            )
        )
        reference = np.asarray(explain(jax.random.key(0), params, x, target))
        ours = sweeps[(fill, patch)]["maps"][0]
        scale = max(float(np.abs(reference).max()), 1e-12)
        checks[str(patch)] = float(np.abs(reference - ours).max() / scale)
    return {"fill": fill, "max_relative_difference": checks}
