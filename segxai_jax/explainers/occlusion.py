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

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.gradients import check_apply_fn
from segxai_jax.fills import Fill, apply_fill, as_fill
from segxai_jax.memory import budgeted, check_memory_budget
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
OCCLUDE_MODES = ("each", "together")


def _per_axis(value, name: str, rank: int = 2) -> tuple[int, ...]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value,) * rank
    return validation.check_int_sequence(value, name, length=rank, minimum=1)


def _pair(value, name: str) -> tuple[int, int]:
    pair = _per_axis(value, name, 2)
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


def _rank_of(image_size) -> int:
    return 2 if isinstance(image_size, int | np.integer) else len(image_size)


def occlusion_windows(image_size, patch_size, stride):
    """Window starts per axis: ``(tops [n_h], lefts [n_w])`` for an image.

    Args:
      image_size: ``(H, W)`` (an int for square images; ``(D, H, W)`` for
        volumes, which give three arrays).
      patch_size: ``k`` or one size per axis.
      stride: ``s`` or one stride per axis.
    """
    rank = _rank_of(image_size)
    sizes = _per_axis(image_size, "image_size", rank)
    patch = _per_axis(patch_size, "patch_size", rank)
    strides = _check_stride(stride, patch)
    return tuple(
        window_starts(n, k, st) for n, k, st in zip(sizes, patch, strides, strict=True)
    )


def _check_stride(stride, patch) -> tuple[int, ...]:
    strides = _per_axis(stride, "stride", len(patch))
    if any(st > k for st, k in zip(strides, patch, strict=True)):
        raise ValueError(
            f"stride: expected at most patch_size {patch} so that every pixel is "
            f"occluded at least once, got {strides}"
        )
    return strides


def _check_sizes(patch_size, stride) -> None:
    """Patch and stride checked now, for the rank they imply (2 for ints)."""
    ranks = set()
    for name, value in (("patch_size", patch_size), ("stride", stride)):
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            validation.check_int(value, name, minimum=1)
        else:
            ranks.add(
                len(validation.check_int_sequence(value, name, min_length=2, minimum=1))
            )
    if len(ranks) > 1:
        raise ValueError(
            f"patch_size/stride: expected one size per spatial axis for both, got "
            f"{patch_size!r} and {stride!r}"
        )
    rank = ranks.pop() if ranks else 2
    _check_stride(stride, _per_axis(patch_size, "patch_size", rank))


def occlusion_num_windows(image_size, patch_size, stride) -> int:
    """Windows (= forward passes besides the clean one) of :func:`occlusion`."""
    return int(
        np.prod([len(s) for s in occlusion_windows(image_size, patch_size, stride)])
    )


def _coverage(starts: np.ndarray, patch: int, size: int) -> np.ndarray:
    """``[n, size]`` 0/1: which pixels each window covers along one axis."""
    offsets = np.arange(size)[None, :] - starts[:, None]
    return ((offsets >= 0) & (offsets < patch)).astype(np.float32)


def spread_window_scores(drops, image_size, patch_size, stride) -> jax.Array:
    """Per-pixel mean of the window scores ``[n_h, n_w]`` covering each pixel.

    Returns:
      ``[H, W]`` (``[D, H, W]`` for volumes). Windows are separable (a range
      per axis), so the sum over windows is ``rows^T @ drops @ cols`` (an
      einsum over every axis for volumes).
    """
    rank = _rank_of(image_size)
    sizes = _per_axis(image_size, "image_size", rank)
    patch = _per_axis(patch_size, "patch_size", rank)
    starts = occlusion_windows(sizes, patch, stride)
    cover = [_coverage(s, k, n) for s, k, n in zip(starts, patch, sizes, strict=True)]
    if rank == 2:
        rows, cols = cover
        total = rows.T @ drops @ cols
        count = np.outer(rows.sum(0), cols.sum(0))  # >= 1 thanks to flush windows
        return total / count
    letters = "abcdefgh"[:rank]
    spec = ",".join(f"{w}{w.upper()}" for w in letters)
    total = jnp.einsum(f"{letters},{spec}->{letters.upper()}", drops, *cover)
    count = np.ones(())
    for c in cover:
        count = np.multiply.outer(count, c.sum(0))
    return total / count


def window_mask(spatial_shape, starts, patch) -> jax.Array:
    """0/1 mask of the box ``starts + [0, patch)`` (starts may be traced)."""
    if len(spatial_shape) == 2:
        return box_roi(spatial_shape, starts[0], starts[1], patch[0], patch[1])
    mask = jnp.ones((), jnp.float32)
    for n, start, k in zip(spatial_shape, starts, patch, strict=True):
        index = jnp.arange(n)
        inside = ((index >= start) & (index < start + k)).astype(jnp.float32)
        mask = mask[..., None] * inside
    return mask


def input_spatial_shape(x, name: str = "x") -> tuple[int, ...]:
    """The spatial shape every leaf of ``x`` shares (channels last).

    Raises:
      ValueError: leaves whose spatial shapes differ (one occlusion window
        cannot cover them all), naming the leaf.
    """
    leaves = jax.tree_util.tree_leaves_with_path(x)
    path0, first = leaves[0]
    shape = tuple(first.shape[:-1])
    for path, leaf in leaves[1:]:
        if tuple(leaf.shape[:-1]) != shape:
            raise ValueError(
                f"{name}{jax.tree_util.keystr(path)}: spatial shape "
                f"{tuple(leaf.shape[:-1])} differs from {shape} of "
                f"{name}{jax.tree_util.keystr(path0)}; occlusion slides one "
                "window over all inputs, so they must share H, W"
            )
    return shape


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
    occlude: str = "each",
    memory_budget: int | None = None,
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
      occlude: for a model with several inputs (a pytree ``x``): ``"each"``
        slides the window over one input at a time, the others left clean
        (a map per input, of that input's spatial shape); ``"together"``
        occludes the same window of every input (one map; the inputs must
        share their spatial shape).
      memory_budget: bytes; the chunk size is then the largest (up to
        ``chunk_size``) whose compiled program fits (:mod:`segxai_jax.memory`).

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]`` (``[D, H, W]``
      for a volume, with 3-D windows: ``patch_size`` and ``stride`` are then
      ints or triples), positive where occluding lowers the score. ``key``
      feeds random fills (``"noise"``: one noise image shared by all
      windows); otherwise it is ignored.
    """
    check_apply_fn(apply_fn)
    _check_sizes(patch_size, stride)
    validation.check_choice(occlude, "occlude", OCCLUDE_MODES)
    memory_budget = check_memory_budget(memory_budget)
    fill_fn = as_fill(fill, fill_options)
    check_region_score_options(score, score_reduction, score_space, overlap_within)
    check_chunk_size(chunk_size)
    check_strategy(strategy)

    def explain_with(key, params, x, target, *, chunk):
        leaves, structure = jax.tree_util.tree_flatten(x)
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
        # One key per input leaf; a single array keeps the key it always had.
        if key is None or len(leaves) == 1:
            keys = [key] * len(leaves)
        else:
            keys = list(jax.random.split(key, len(leaves)))

        def sweep(occluded_leaves):
            """The occlusion map when the windows cover ``occluded_leaves``."""
            hw = tuple(leaves[occluded_leaves[0]].shape[:-1])
            rank = len(hw)
            patch = _per_axis(patch_size, "patch_size", rank)
            strides = _check_stride(stride, patch)
            starts = occlusion_windows(hw, patch, strides)
            substrates = {}
            if not fill_fn.depends_on_mask:  # computed once, shared by all windows
                for i in occluded_leaves:
                    zeros = jnp.zeros(hw, leaves[i].dtype)
                    substrates[i] = fill_fn.substrate(keys[i], leaves[i], zeros)

            def window_score(corner):
                mask = window_mask(hw, corner, patch)
                occluded = list(leaves)
                for i in occluded_leaves:
                    leaf_mask = mask.astype(leaves[i].dtype)
                    if fill_fn.depends_on_mask:
                        occluded[i] = fill_fn(keys[i], leaves[i], leaf_mask)
                    else:
                        occluded[i] = apply_fill(leaves[i], substrates[i], leaf_mask)
                inputs = jax.tree_util.tree_unflatten(structure, occluded)
                return score_of(apply_fn(params, inputs))

            grids = np.meshgrid(*starts, indexing="ij")
            corners = np.stack(grids, -1).reshape(-1, rank)
            scores = map_chunked(
                window_score,
                tuple(jnp.asarray(corners[:, i]) for i in range(rank)),
                chunk_size=chunk,
                strategy=strategy,
            )
            drops = (clean_score - scores).reshape(tuple(len(s) for s in starts))
            return spread_window_scores(drops, hw, patch, strides)

        if occlude == "together" or len(leaves) == 1:
            return sweep(list(range(len(leaves))))
        maps = [sweep([i]) for i in range(len(leaves))]
        return jax.tree_util.tree_unflatten(structure, maps)

    def num_windows(key, params, x, target):
        counts = []
        for leaf in jax.tree_util.tree_leaves(x):
            hw = tuple(leaf.shape[:-1])
            patch = _per_axis(patch_size, "patch_size", len(hw))
            counts.append(
                occlusion_num_windows(hw, patch, _check_stride(stride, patch))
            )
        return max(counts)

    run = budgeted(
        lambda chunk: functools.partial(explain_with, chunk=chunk),
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        total_of=num_windows,
        what="occlusion windows",
    )

    def explain(key, params, x, target):
        validation.check_input(x, target, allow_tree=True)
        if occlude == "together":
            input_spatial_shape(x)  # one window for all leaves: same H, W
        return run(key, params, x, target)

    return validation.attach_class_count(
        explain, validation.logits_class_count(apply_fn), perturbed=True
    )
