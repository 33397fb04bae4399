"""NumPy helpers of the peer benchmarks (no torch, no JAX): targets, map statistics."""

from __future__ import annotations

import numpy as np


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two arrays (flattened); NaN if either is constant."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([pearson(x, y) for x, y in zip(a, b, strict=True)])


def min_max(m: np.ndarray) -> np.ndarray:
    """Per-image min-max scaling of ``[B, H, W]`` maps (as pytorch-grad-cam)."""
    lo = m.min(axis=(1, 2), keepdims=True)
    m = m - lo
    return m / (1e-7 + m.max(axis=(1, 2), keepdims=True))


def make_targets(logits: np.ndarray, seed: int):
    """Box ROI + most-predicted class inside it, per image: ``(classes, masks)``."""
    b, h, w, k = logits.shape
    rng = np.random.default_rng(seed)
    side = max(h // 4, 1)
    pred = logits.argmax(-1)
    classes, masks = [], []
    for i in range(b):
        top = int(rng.integers(0, h - side + 1))
        left = int(rng.integers(0, w - side + 1))
        mask = np.zeros((h, w), np.float32)
        mask[top : top + side, left : left + side] = 1.0
        inside = pred[i][mask > 0]
        classes.append(int(np.bincount(inside, minlength=k).argmax()))
        masks.append(mask)
    return np.array(classes, np.int32), np.stack(masks)


def cam_agreement(ours_maps, peer_maps) -> float:
    """Mean per-image Pearson of min-maxed maps (NaN-skipping)."""
    return _mean_pearson(min_max(np.asarray(ours_maps)), np.asarray(peer_maps))


def _mean_pearson(a, b) -> float:
    r = per_image(a, b)
    return float(np.nanmean(r)) if np.any(~np.isnan(r)) else float("nan")


def agreement_of(method: str, ours_out, peer_out) -> float | None:
    """Mean per-image Pearson of ours vs the peer's maps (``None``: not compared).

    SmoothGrad is not compared (the two sides draw different noise), nor
    Eigen-CAM (the sign of a principal component is arbitrary; see
    ``agreement.py``, which compares both signs). CAM maps
    are compared after min-max scaling (pytorch-grad-cam returns them scaled).
    """
    if method in ("smoothgrad", "eigen_cam"):
        return None
    if method.endswith("cam") or method == "grad_cam_plus_plus":
        return cam_agreement(ours_out, peer_out)
    return _mean_pearson(np.asarray(ours_out), np.asarray(peer_out))
