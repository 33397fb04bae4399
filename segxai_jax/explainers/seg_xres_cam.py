"""Seg-XRes-CAM: HiRes-CAM with the gradient pooled over blocks of the layer's grid.

The same probe and target as :func:`segxai_jax.explainers.seg_grad_cam`:
activations ``A [u, v, Kc]`` and ``G = dS/dA`` of the paper's target
``S_c(x; M)`` from one forward and backward pass. Grad-CAM averages ``G`` over
the whole grid (one weight per channel), HiRes-CAM keeps every cell's
gradient; Seg-XRes-CAM sits between the two: the grid is cut into blocks of
``pool_size`` cells per side, ``G`` is pooled within each block (max, as the
authors' default, or mean) and spread back over the block's cells, and the
map is ``sum_k P(G)^k * A^k`` cell by cell. Blocks at the far border may be
smaller when ``pool_size`` does not divide the grid (they pool the cells they
have). ``pool_size=1`` is HiRes-CAM; mean pooling over one block covering the
grid is Seg-Grad-CAM (both tested).

References:
  Hasany, Petitjean, Meriaudeau. Seg-XRes-CAM: Explaining spatially local
  regions in image segmentation. CVPR Workshops (XAI4CV) 2023.
  Draelos, Carin. Use HiResCAM instead of Grad-CAM for faithful explanations
  of convolutional neural networks. arXiv:2011.08891, 2020.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.cams import cam_explainer
from segxai_jax.probes import Probe

POOLINGS = ("max", "mean")


def block_pool(grads: jax.Array, pool_size: int, pooling: str = "max") -> jax.Array:
    """``grads [*grid, Kc]`` pooled over blocks of ``pool_size`` cells per side.

    Args:
      grads: a gradient (or any array) on a layer's grid, channels last.
      pool_size: block side in cells (>= 1); border blocks may be smaller.
      pooling: ``"max"`` or ``"mean"`` within each block.

    Returns:
      The same shape; every cell holds its block's pooled value.
    """
    pool_size = validation.check_int(pool_size, "pool_size", minimum=1)
    validation.check_choice(pooling, "pooling", POOLINGS)
    grid, channels = grads.shape[:-1], grads.shape[-1]
    blocks = tuple(math.ceil(n / pool_size) for n in grid)
    # Static block id of every cell (row-major over the blocks).
    per_axis = np.meshgrid(*(np.arange(n) // pool_size for n in grid), indexing="ij")
    ids = np.ravel_multi_index(tuple(per_axis), blocks).reshape(-1)
    flat = grads.reshape(-1, channels)
    count = int(np.prod(blocks))
    if pooling == "max":
        pooled = jax.ops.segment_max(flat, ids, num_segments=count)
    else:
        sums = jax.ops.segment_sum(flat, ids, num_segments=count)
        sizes = np.bincount(ids, minlength=count).astype(np.float32)[:, None]
        pooled = sums / sizes
    return pooled[ids].reshape(grads.shape)


def seg_xres_cam(
    probe: Probe,
    *,
    pool_size: int = 2,
    pooling: str = "max",
    score_reduction: str = "sum",
    score_space: str = "logits",
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
) -> Callable:
    """Seg-XRes-CAM of the segmentation target at a probe point.

    Args:
      probe: the layer, e.g. ``make_probe(model, "bottleneck", input_shape=...)``.
      pool_size: block side in cells of the layer's grid (1 = HiRes-CAM).
      pooling: ``"max"`` (the authors' default) or ``"mean"``.
      score_reduction: ``"sum"`` (the paper's target) or ``"mean"`` over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      relu: apply ReLU to the map.
      order: ``"relu_resize"`` or ``"resize_relu"`` (see :func:`seg_grad_cam`).
      output_size: ``"input"``, ``None`` (the layer's grid) or ``(H, W)``.

    Returns:
      ``explain(key, params, x, target) -> [H, W]`` (a volume with a 3-D layer:
      ``[D, H, W]``); ``key`` is ignored. One forward and backward pass;
      jittable and vmappable.
    """
    pool_size = validation.check_int(pool_size, "pool_size", minimum=1)
    validation.check_choice(pooling, "pooling", POOLINGS)

    def combine(activations, grads):
        return (block_pool(grads, pool_size, pooling) * activations).sum(axis=-1)

    return cam_explainer(
        probe,
        combine,
        score_reduction=score_reduction,
        score_space=score_space,
        relu=relu,
        order=order,
        output_size=output_size,
    )
