"""Curves summarised and curves in bulk: AUC, relative curves, batched curves.

For the curves of :func:`segxai_jax.metrics.deletion_curve` and
:func:`segxai_jax.metrics.insertion_curve`, or any curve sampled at evenly
spaced points of ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.sweeps import check_chunk_size, check_strategy, map_chunked
from segxai_jax.targets import Target, validate_target

DEFAULT_STRATEGY = "lax_map"
# (method, image) pairs per chunk in batched_curves. Measured on the 2-core CPU
# (U-Net widths 16-128, 64x64, 3 methods x 4 images, 16 steps, 204 forward
# passes, steps in chunks of 4): pair chunks of 1, 4, 8 and all ran in 1.36,
# 1.01, 1.26 and 1.32 s (median of 3, a shared machine), compiling in 2-4 s.
DEFAULT_PAIR_CHUNK_SIZE = 4
REFERENCES = ("start", "end")


def auc(curve: jax.Array) -> jax.Array:
    """Area under a curve sampled at ``n + 1`` evenly spaced points of ``[0, 1]``.

    ``(sum(s) - s_0 / 2 - s_n / 2) / n`` (trapezoid rule): a constant curve
    ``c`` gives ``c``, a linear ramp from 1 to 0 gives 0.5.

    Args:
      curve: ``[..., n + 1]`` scores, ``n >= 1``; leading axes are kept.

    Returns:
      ``[...]``.

    Raises:
      ValueError: fewer than 2 points on the last axis.
    """
    curve = jnp.asarray(curve)
    if curve.ndim < 1 or curve.shape[-1] < 2:
        raise ValueError(
            f"curve: expected [..., n + 1] with at least 2 points on the last axis, "
            f"got shape {curve.shape}"
        )
    n = curve.shape[-1] - 1
    return (curve.sum(-1) - 0.5 * curve[..., 0] - 0.5 * curve[..., -1]) / n


def relative_curve(curve: jax.Array, *, reference: str = "start") -> jax.Array:
    """A curve divided by its clean-image score, so images become comparable.

    Args:
      curve: ``[..., n + 1]`` scores.
      reference: ``"start"`` divides by ``s_0`` (the clean score of a deletion
        curve, as in the design's ``s / s_0``); ``"end"`` by ``s_n`` (the clean
        score of an insertion curve, whose ``s_0`` is the substrate's and may
        be 0).

    Returns:
      ``[..., n + 1]``, 1 at the reference point.

    Raises:
      ValueError: if ``curve`` is concrete and a reference score is ``<= 0``.
        A ratio to a non-positive score has no meaning (summed logits can be
        negative: use ``score="mean_probability"``, ``"iou"`` or ``"dice"``).
        Under ``jit`` the check cannot run; those curves become NaN instead, so
        that the problem shows in any AUC or mean computed from them.
    """
    validation.check_choice(reference, "reference", REFERENCES)
    curve = jnp.asarray(curve)
    if curve.ndim < 1 or curve.shape[-1] < 1:
        raise ValueError(f"curve: expected [..., n + 1], got shape {curve.shape}")
    ref = curve[..., :1] if reference == "start" else curve[..., -1:]
    if validation.is_concrete(ref) and np.any(np.asarray(ref) <= 0):
        raise ValueError(
            f"curve: relative curves need a positive {reference} score, got "
            f"min {float(np.min(ref)):.4g}; use a positive score such as "
            "'mean_probability', 'iou' or 'dice'"
        )
    positive = ref > 0
    return jnp.where(positive, curve / jnp.where(positive, ref, 1.0), jnp.nan)


def batched_curves(
    curve: Callable,
    *,
    num_classes: int | None = None,
    chunk_size: int | None = DEFAULT_PAIR_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
) -> Callable:
    """Curves of several saliency methods on a batch of images, in one call.

    Every ``(method, image)`` pair is one curve; pairs are evaluated
    ``chunk_size`` at a time, each with the curve's own step chunking, so at
    most ``chunk_size * curve chunk_size`` forward passes run together. Image
    ``b`` gets key ``split(key, B)[b]`` for every method: a random substrate is
    then the same for all methods, which are compared on equal terms.

    A plain ``jax.vmap`` composes as well, e.g.
    ``vmap(vmap(curve, (0, None, 0, 0, 0)), (None, None, None, 0, None))`` for
    ``[M, B, H, W]`` saliencies, but vectorises all ``M * B * chunk`` forward
    passes at once; this helper bounds that.

    Args:
      curve: from :func:`deletion_curve` or :func:`insertion_curve`.
      num_classes: K, to check class ids when the inputs are concrete.
      chunk_size: ``(method, image)`` pairs vectorised together; ``None`` =
        all.
      strategy: ``"lax_map"`` or ``"unroll"`` (see ``map_chunked``).

    Returns:
      ``f(key, params, xs [B, H, W, C], saliencies [..., B, H, W], targets)
      -> [..., B, n + 1]`` with ``targets`` a :class:`Target` with
      ``class_id [B]`` and ``mask [B, H, W]``. ``key`` may be ``None`` for
      deterministic fills. Jit it once: a ranking of ``M`` methods on ``B``
      images is one compiled program.
    """
    validation.check_callable(
        curve, "curve", "curve(key, params, x, saliency, target) -> [n + 1]", 5
    )
    validation.check_optional_int(num_classes, "num_classes", minimum=1)
    check_chunk_size(chunk_size)
    check_strategy(strategy)

    def batched(key, params, xs, saliencies, targets: Target):
        validation.check_float_array(xs, "xs", ndim=4, what="images [B, H, W, C]")
        validation.check_float_array(
            saliencies, "saliencies", ndim=range(3, 9), what="saliencies [..., B, H, W]"
        )
        validation.check_target(targets, "targets")
        count, h, w = xs.shape[:3]
        shape = tuple(getattr(saliencies, "shape", ()))
        if len(shape) < 3 or shape[-3:] != (count, h, w):
            raise ValueError(
                f"saliencies: expected [..., {count}, {h}, {w}] (methods, then the "
                f"images' B, H, W), got {shape}"
            )
        class_shape = getattr(targets.class_id, "shape", None)
        if class_shape != (count,) or targets.mask.shape != (count, h, w):
            raise ValueError(
                f"targets: expected class_id [{count}] and mask [{count}, {h}, {w}], "
                f"got {class_shape} and {targets.mask.shape}"
            )
        classes = num_classes
        if classes is None and validation.is_concrete(xs):
            classes = validation.class_count_of(curve, params, xs[0])
        _check_batch_values(xs, saliencies, targets, classes)
        flat = saliencies.reshape(-1, h, w)  # pair p = method p // B, image p % B
        images = jnp.tile(jnp.arange(count, dtype=jnp.int32), flat.shape[0] // count)
        keys = None if key is None else jax.random.split(key, count)[images]

        def pair_curve(item):
            key_p, b, saliency = item
            target = jax.tree.map(lambda leaf: leaf[b], targets)
            return curve(key_p, params, xs[b], saliency, target)

        scores = map_chunked(
            pair_curve, (keys, images, flat), chunk_size=chunk_size, strategy=strategy
        )
        return scores.reshape(*shape[:-2], scores.shape[-1])

    return batched


def _check_batch_values(xs, saliencies, targets, num_classes) -> None:
    """Value checks that vmapped curves cannot run on tracers."""
    for name, values in (("xs", xs), ("saliencies", saliencies)):
        if validation.is_concrete(values) and not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: expected finite values, found NaN or inf")
    if validation.is_concrete(targets.class_id) and validation.is_concrete(
        targets.mask
    ):
        validate_target(
            targets,
            num_classes=np.iinfo(np.int32).max if num_classes is None else num_classes,
            spatial_shape=xs.shape[1:3],
        )
