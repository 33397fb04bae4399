"""Batching helpers: many images, or many targets of one image, in one call.

Explainers handle one image and one target. These helpers ``vmap`` them:

* :func:`explain_batch`: ``B`` images with one target each, ``[B, ...]`` maps;
  the key is split into ``B`` keys (image ``i`` gets ``split(key, B)[i]``).
* :func:`explain_targets`: one image, ``T`` targets (e.g. every class present,
  from :func:`segxai_jax.targets.class_targets`), ``[T, ...]`` maps. Nothing
  upstream of the target depends on it, so under ``vmap`` the forward pass runs
  once and only the per-target part (the backward pass, for gradients) is
  batched: explaining every class costs far less than ``T`` calls.

Neither helper calls ``jax.jit``. Jitting the returned function compiles ONE
program per input shape: the explainer is traced once under ``vmap``, whatever
``B`` or ``T`` hold, and repeated calls with the same shapes reuse it.

Value checks (finite images, non-empty ROIs, class range when ``num_classes``
is given) run once here when the inputs are concrete, i.e. outside ``jit``;
inside ``vmap`` the wrapped explainer sees tracers and checks shapes only.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from segxai_jax import validation
from segxai_jax.memory import budgeted, check_memory_budget
from segxai_jax.sweeps import (
    check_chunk_size,
    check_strategy,
    map_chunked,
)
from segxai_jax.targets import Target, validate_target
from segxai_jax.types import Explainer
from segxai_jax.validation import is_concrete


def _check_targets(targets: Target, spatial_shape, count: int, num_classes) -> None:
    validation.check_target(targets, "targets")
    class_id, mask = targets.class_id, targets.mask
    expected = (count, *spatial_shape)
    if getattr(class_id, "shape", None) != (count,) or mask.shape != expected:
        raise ValueError(
            f"targets: expected class_id [{count}] and mask {list(expected)}, got "
            f"{getattr(class_id, 'shape', class_id)} and {mask.shape}"
        )
    if is_concrete(class_id) and is_concrete(mask):
        validate_target(
            targets,
            num_classes=np.iinfo(np.int32).max if num_classes is None else num_classes,
            spatial_shape=spatial_shape,
        )


def _check_images(xs, name: str, spatial_rank: int, batched: bool) -> None:
    """Float arrays of rank ``spatial_rank + 1`` (+1 if ``batched``), or pytrees."""
    if not (hasattr(xs, "shape") and hasattr(xs, "dtype")):
        leaves = jax.tree_util.tree_leaves_with_path(xs)
        if not leaves:
            raise TypeError(f"{name}: expected an array or a pytree of arrays")
        for path, leaf in leaves:
            leaf_name = f"{name}{jax.tree_util.keystr(path)}"
            validation.check_float_array(
                leaf, leaf_name, ndim=range(1 + batched, 9), what="an input array"
            )
            validation.check_finite(leaf, leaf_name)
        return
    layout = {2: "H, W, C", 3: "D, H, W, C"}.get(
        spatial_rank, f"*S, C (S of rank {spatial_rank})"
    )
    what = f"images [B, {layout}]" if batched else f"one input [{layout}]"
    validation.check_float_array(xs, name, ndim=spatial_rank + 1 + batched, what=what)
    validation.check_finite(xs, name)


def _batch_size(xs) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(xs)}
    if len(sizes) != 1:
        raise ValueError(
            f"xs: expected leaves with one batch size, got {sorted(sizes)}"
        )
    return sizes.pop()


def _spatial_of(x, targets_mask_shape, batched: bool):
    """The spatial shape the targets must have (from x when it is an array)."""
    if hasattr(x, "shape"):
        return tuple(x.shape[1 if batched else 0 : -1])
    return tuple(targets_mask_shape[1:])


def _model_classes(explain, params, x, num_classes):
    """K: ``num_classes``, else what the explainer records, else ``None``.

    Only for concrete inputs: inside ``vmap`` the wrapped explainer cannot
    check class ids, so they are checked here, before it runs.
    """
    if num_classes is not None:
        return num_classes
    if not all(is_concrete(leaf) for leaf in jax.tree_util.tree_leaves(x)):
        return None
    return validation.class_count_of(explain, params, x)


def _check_wrapper_options(explain, num_classes) -> None:
    from segxai_jax.explainers.smoothgrad import check_explainer

    check_explainer(explain, "explain")
    validation.check_optional_int(num_classes, "num_classes", minimum=1)


def explain_batch(
    explain: Explainer,
    *,
    num_classes: int | None = None,
    chunk_size: int | None = None,
    strategy: str = "unroll",
    memory_budget: int | None = None,
) -> Callable:
    """``f(key, params, xs [B, H, W, C], targets [B]) -> [B, ...]``.

    Args:
      explain: ``explain(key, params, x, target)`` for one image.
      num_classes: K, to check class ids when the inputs are concrete.
      chunk_size: images vectorised together (memory bound); ``None`` = all B.
      strategy: ``"unroll"`` or ``"lax_map"`` (see ``map_chunked``).
      memory_budget: bytes; the image chunk is then the largest (up to
        ``chunk_size``) whose compiled program fits (:mod:`segxai_jax.memory`).
        With a budgeted sweep inside (``smoothgrad(..., memory_budget=...)``)
        the inner budget is per image: give the inner explainer a share.

    Returns:
      The batched explainer; ``targets`` is a :class:`Target` with
      ``class_id [B]`` and ``mask [B, H, W]``. ``key`` may be ``None`` for
      deterministic explainers.
    """
    _check_wrapper_options(explain, num_classes)
    check_chunk_size(chunk_size)
    check_strategy(strategy)
    memory_budget = check_memory_budget(memory_budget)

    def with_chunks(chunk):
        def run(keys, params, xs, targets):
            def explain_one(item):
                key_i, x, target = item
                return explain(key_i, params, x, target)

            return map_chunked(
                explain_one, (keys, xs, targets), chunk_size=chunk, strategy=strategy
            )

        return run

    run = budgeted(
        with_chunks,
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        total_of=lambda keys, params, xs, targets: _batch_size(xs),
        what="images",
    )

    def batched(key, params, xs, targets):
        if key is not None:
            validation.check_key(key)
        validation.check_target(targets, "targets")
        spatial_rank = max(np.ndim(targets.mask) - 1, 2)
        _check_images(xs, "xs", spatial_rank, batched=True)
        count = _batch_size(xs)
        first = jax.tree_util.tree_map(lambda leaf: leaf[0], xs)
        classes = _model_classes(explain, params, first, num_classes)
        _check_targets(
            targets, _spatial_of(xs, np.shape(targets.mask), True), count, classes
        )
        keys = None if key is None else jax.random.split(key, count)
        return run(keys, params, xs, targets)

    return batched


def explain_targets(
    explain: Explainer, *, num_classes: int | None = None, share_key: bool = True
) -> Callable:
    """``f(key, params, x [H, W, C], targets [T]) -> [T, ...]`` for one image.

    Args:
      explain: ``explain(key, params, x, target)`` for one image.
      num_classes: K, to check class ids when the inputs are concrete.
      share_key: every target gets ``key`` itself (default): a stochastic
        explainer such as SmoothGrad then uses the same noise for all targets,
        so the maps differ only by the target and the noisy forward passes are
        shared. ``False`` splits ``key`` into ``T`` keys.

    Returns:
      The multi-target explainer; ``targets`` is a :class:`Target` with
      ``class_id [T]`` and ``mask [T, H, W]``.
    """

    _check_wrapper_options(explain, num_classes)
    validation.check_bool(share_key, "share_key")

    def over_targets(key, params, x, targets):
        if key is not None:
            validation.check_key(key)
        validation.check_target(targets, "targets")
        spatial_rank = max(np.ndim(targets.mask) - 1, 2)
        _check_images(x, "x", spatial_rank, batched=False)
        count = np.shape(targets.class_id)[0] if np.ndim(targets.class_id) else 0
        classes = _model_classes(explain, params, x, num_classes)
        _check_targets(
            targets, _spatial_of(x, np.shape(targets.mask), False), count, classes
        )
        if share_key or key is None:
            return jax.vmap(explain, in_axes=(None, None, None, 0))(
                key, params, x, targets
            )
        keys = jax.random.split(key, count)
        return jax.vmap(explain, in_axes=(0, None, None, 0))(keys, params, x, targets)

    return over_targets
