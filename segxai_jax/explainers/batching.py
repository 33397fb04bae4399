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

from segxai_jax._checks import is_concrete
from segxai_jax.explainers._sweep import STRATEGIES, check_chunk_size, map_chunked
from segxai_jax.targets import Target, validate_target

Explainer = Callable[..., jax.Array]


def _check_targets(targets: Target, spatial_shape, count: int, num_classes) -> None:
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


def _check_images(xs, name: str, rank: int) -> None:
    if getattr(xs, "ndim", None) != rank:
        what = "images [B, H, W, C]" if rank == 4 else "one image [H, W, C]"
        raise ValueError(
            f"{name}: expected {what}, got shape {getattr(xs, 'shape', xs)}"
        )
    if is_concrete(xs) and not np.all(np.isfinite(np.asarray(xs))):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")


def explain_batch(
    explain: Explainer,
    *,
    num_classes: int | None = None,
    chunk_size: int | None = None,
    strategy: str = "unroll",
) -> Callable:
    """``f(key, params, xs [B, H, W, C], targets [B]) -> [B, ...]``.

    Args:
      explain: ``explain(key, params, x, target)`` for one image.
      num_classes: K, to check class ids when the inputs are concrete.
      chunk_size: images vectorised together (memory bound); ``None`` = all B.
      strategy: ``"unroll"`` or ``"lax_map"`` (see ``map_chunked``).

    Returns:
      The batched explainer; ``targets`` is a :class:`Target` with
      ``class_id [B]`` and ``mask [B, H, W]``. ``key`` may be ``None`` for
      deterministic explainers.
    """
    check_chunk_size(chunk_size)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: expected one of {STRATEGIES}, got {strategy!r}")

    def batched(key, params, xs, targets):
        _check_images(xs, "xs", 4)
        _check_targets(targets, xs.shape[1:3], xs.shape[0], num_classes)
        keys = None if key is None else jax.random.split(key, xs.shape[0])

        def explain_one(item):
            key_i, x, target = item
            return explain(key_i, params, x, target)

        return map_chunked(
            explain_one, (keys, xs, targets), chunk_size=chunk_size, strategy=strategy
        )

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

    def over_targets(key, params, x, targets):
        _check_images(x, "x", 3)
        count = np.shape(targets.class_id)[0] if np.ndim(targets.class_id) else 0
        _check_targets(targets, x.shape[:2], count, num_classes)
        if share_key or key is None:
            return jax.vmap(explain, in_axes=(None, None, None, 0))(
                key, params, x, targets
            )
        keys = jax.random.split(key, count)
        return jax.vmap(explain, in_axes=(0, None, None, 0))(keys, params, x, targets)

    return over_targets
