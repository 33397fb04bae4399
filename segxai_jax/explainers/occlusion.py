"""Occlusion sensitivity for segmentation: slide a patch, watch the score drop.

A ``k x k`` patch slides over the image with stride ``s``; inside the patch the
image is replaced by a fill (:mod:`segxai_jax.fills`), the model is
run again, and the window's saliency is the drop of a score from the clean to
the occluded image. A pixel's saliency is the mean over the windows that cover
it.

Windows. Along each axis the windows start at ``0, s, 2s, ...`` while they fit
inside the image; when ``(H - k) % s != 0`` the last pixels would be covered by
no window, so one more window flush with the far border (start ``H - k``) is
added. With ``s <= k`` (enforced) every pixel is then covered at least once.
The count is :func:`occlusion_num_windows`; the method costs that many forward
passes plus one clean pass.

Scores (the ROI ``M`` and the clean prediction are frozen; shared with the
deletion/insertion metrics through :mod:`segxai_jax.region_scores`):

* ``"target"``: ``S_c(x; M)`` with the explainer's ``score_reduction`` and
  ``score_space`` (the seed paper's summed logits by default);
* ``"mean_probability"``: mean softmax probability of class ``c`` over ``M``;
* ``"iou"`` / ``"dice"``: overlap of the class-``c`` region (argmax over
  classes) predicted for the occluded image with the one predicted for the
  clean image; over the whole image (``overlap_within="image"``) or over the
  ROI only (``"roi"``, pixels weighted by ``M``). The clean score is 1, so the
  drop is ``1 - IoU`` (or ``1 - Dice``); two empty regions count as overlap 1.

The paper's observation that segmentation scores change little under
occlusion means maps usually need min-max rescaling for display; results
depend on the fill (black patches can be segmented as the object).

References:
  Gipiskis, Kurasova. Occlusion-based approach for interpretable semantic
  segmentation. CISTI 2023.
  Zeiler, Fergus. Visualizing and understanding convolutional networks.
  ECCV 2014.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.gradients import check_apply_fn
from segxai_jax.fills import Fill, apply_fill, as_fill
from segxai_jax.region_scores import (
    check_region_score_options,
    region_score_fn,
)
from segxai_jax.sweeps import (
    check_chunk_size,
    check_strategy,
    map_chunked,
)
from segxai_jax.targets import box_roi

# Measured with benchmarks/ablation_occlusion_chunks.py (patch 8, stride 4:
# 225 windows on a 16-128-wide U-Net at 64x64, 2-core CPU): every window is a
# full forward pass, so chunks of 2-16 ran within ~10 % of each other and of a
# plain batched forward per window; "lax_map" compiled in 2-8 s where "unroll"
# took 10-130 s (225 traced forward passes for chunks of 1).
DEFAULT_CHUNK_SIZE = 4
DEFAULT_STRATEGY = "lax_map"


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value, value)
    pair = validation.check_int_sequence(value, name, length=2, minimum=1)
    return pair[0], pair[1]


def window_starts(size: int, patch: int, stride: int) -> np.ndarray:
    """Start offsets along one axis, with a last window flush with the border.

    Raises:
      ValueError: ``patch`` larger than ``size``.
    """
    if patch > size:
        raise ValueError(
            f"patch_size: expected at most the image size {size}, got {patch}"
        )
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return np.asarray(starts, np.int32)


def occlusion_windows(image_size, patch_size, stride):
    """Row and column starts of the windows: ``(tops [n_h], lefts [n_w])``.

    Args:
      image_size: ``(H, W)`` (or an int for square images).
      patch_size: ``k`` or ``(k_h, k_w)``.
      stride: ``s`` or ``(s_h, s_w)``.
    """
    (h, w), (ph, pw) = _pair(image_size, "image_size"), _pair(patch_size, "patch_size")
    sh, sw = _check_stride(stride, (ph, pw))
    return window_starts(h, ph, sh), window_starts(w, pw, sw)


def _check_stride(stride, patch) -> tuple[int, int]:
    strides = _pair(stride, "stride")
    if strides[0] > patch[0] or strides[1] > patch[1]:
        raise ValueError(
            f"stride: expected at most patch_size {patch} so that every pixel is "
            f"occluded at least once, got {strides}"
        )
    return strides


def occlusion_num_windows(image_size, patch_size, stride) -> int:
    """Windows (= forward passes besides the clean one) of :func:`occlusion`."""
    tops, lefts = occlusion_windows(image_size, patch_size, stride)
    return len(tops) * len(lefts)


def _coverage(starts: np.ndarray, patch: int, size: int) -> np.ndarray:
    """``[n, size]`` 0/1: which pixels each window covers along one axis."""
    offsets = np.arange(size)[None, :] - starts[:, None]
    return ((offsets >= 0) & (offsets < patch)).astype(np.float32)


def spread_window_scores(drops, image_size, patch_size, stride) -> jax.Array:
    """Per-pixel mean of the window scores ``[n_h, n_w]`` covering each pixel.

    Returns:
      ``[H, W]``. Windows are separable (a row range times a column range), so
      the sum over windows is ``rows^T @ drops @ cols``.
    """
    (h, w), (ph, pw) = _pair(image_size, "image_size"), _pair(patch_size, "patch_size")
    tops, lefts = occlusion_windows((h, w), (ph, pw), stride)
    rows, cols = _coverage(tops, ph, h), _coverage(lefts, pw, w)
    total = rows.T @ drops @ cols
    count = np.outer(rows.sum(0), cols.sum(0))  # >= 1 thanks to flush windows
    return total / count


def occlusion(
    apply_fn: Callable,
    *,
    patch_size=8,
    stride=4,
    fill: str | Callable | Fill = "grey",
    fill_options: dict | None = None,
    score: str = "target",
    score_reduction: str = "sum",
    score_space: str = "logits",
    overlap_within: str = "image",
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
) -> Callable:
    """Occlusion sensitivity map of a segmentation model.

    Args:
      apply_fn: ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``.
      patch_size: ``k`` or ``(k_h, k_w)``; larger than the image raises.
      stride: ``s`` or ``(s_h, s_w)``, between 1 and the patch size (a larger
        stride would leave pixels that no window covers).
      fill: a kind from :data:`segxai_jax.fills.FILL_KINDS`, a
        substrate callable ``(key, x, mask) -> [H, W, C]`` or a ``Fill``.
      fill_options: keyword options for ``make_fill`` (e.g. ``{"mean": ...}``
        for ``"dataset_mean"``).
      score: ``"target"``, ``"mean_probability"``, ``"iou"`` or ``"dice"``
        (see the module docstring).
      score_reduction: ``"sum"`` or ``"mean"`` (``score="target"`` only).
      score_space: ``"logits"`` or ``"probabilities"`` (``score="target"``).
      overlap_within: ``"image"`` or ``"roi"`` (``"iou"``/``"dice"`` only).
      chunk_size: windows evaluated together by ``vmap``; ``None`` = all.
        On accelerators larger chunks pay off.
      strategy: ``"lax_map"`` (default: constant compile time) or ``"unroll"``
        (see ``map_chunked``).

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]``, positive where
      occluding lowers the score. ``key`` feeds random fills (``"noise"``: one
      noise image shared by all windows); otherwise it is ignored.
    """
    check_apply_fn(apply_fn)
    patch = _pair(patch_size, "patch_size")
    strides = _check_stride(stride, patch)
    fill_fn = as_fill(fill, fill_options)
    check_region_score_options(score, score_reduction, score_space, overlap_within)
    check_chunk_size(chunk_size)
    check_strategy(strategy)

    def explain(key, params, x, target):
        validation.check_image(x)
        validation.check_target_against(target, x.shape[:2])
        hw = tuple(x.shape[:2])
        tops, lefts = occlusion_windows(hw, patch, strides)
        clean = apply_fn(params, x)
        validation.check_class_id(target, clean.shape[-1])

        score_of, clean_score = region_score_fn(
            score,
            clean,
            target,
            score_reduction=score_reduction,
            score_space=score_space,
            overlap_within=overlap_within,
        )
        substrate = None
        if not fill_fn.depends_on_mask:  # computed once, shared by all windows
            substrate = fill_fn.substrate(key, x, jnp.zeros(hw, x.dtype))

        def window_score(corner):
            top, left = corner
            mask = box_roi(hw, top, left, patch[0], patch[1]).astype(x.dtype)
            if substrate is None:
                occluded = fill_fn(key, x, mask)
            else:
                occluded = apply_fill(x, substrate, mask)
            return score_of(apply_fn(params, occluded))

        corners = np.stack(np.meshgrid(tops, lefts, indexing="ij"), -1).reshape(-1, 2)
        scores = map_chunked(
            window_score,
            (jnp.asarray(corners[:, 0]), jnp.asarray(corners[:, 1])),
            chunk_size=chunk_size,
            strategy=strategy,
        )
        drops = (clean_score - scores).reshape(len(tops), len(lefts))
        return spread_window_scores(drops, hw, patch, strides)

    return validation.attach_class_count(
        explain, validation.logits_class_count(apply_fn)
    )
