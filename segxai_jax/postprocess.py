"""Optional post-processing of saliency maps: pure, jittable array functions.

Raw explainer output is the default everywhere in the library, so that maps of
different models and methods are compared on equal terms; every function here is
an explicit, opt-in step. Unless noted, functions take ONE map ``[H, W]`` (or
any array, treated as one map); ``jax.vmap`` them for a batch.

:func:`postprocess` composes steps by name, e.g. the common display pipeline
``postprocess(m, ("relu", ("resize", (64, 64)), "min_max"))``. The order matters
and implementations differ (Seg-Grad-CAM code resizes before ReLU and
normalisation, others normalise before resizing), which is why it is spelled out
by the caller rather than hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from segxai_jax import validation

CHANNEL_REDUCTIONS = ("abs_sum", "abs_max", "sum", "l2")


def check_channel_reduction(method: str | None) -> None:
    """Raises ``ValueError`` unless ``method`` is ``None`` or a known reduction."""
    if method is not None and method not in CHANNEL_REDUCTIONS:
        raise ValueError(
            f"channel_reduction: expected None or one of {CHANNEL_REDUCTIONS}, "
            f"got {method!r}"
        )


def reduce_channels(attribution: jax.Array, method: str | None) -> jax.Array:
    """Collapses the channel axis of an input attribution ``[H, W, C] -> [H, W]``.

    Any spatial rank (``[D, H, W, C] -> [D, H, W]``); a pytree of attributions
    (a model with several inputs) is reduced leaf by leaf.

    Args:
      attribution: ``[H, W, C]`` (e.g. an input gradient), or a pytree of them.
      method: ``None`` returns ``attribution`` unchanged (raw, the default of
        every explainer); ``"abs_sum"`` sums ``|a|`` over C (Dombrowski et al.'s
        heatmaps); ``"abs_max"`` takes ``max |a|`` over C (Simonyan et al.'s
        display choice); ``"sum"`` keeps the sign (the natural reduction for
        attributions that satisfy completeness, e.g. integrated gradients);
        ``"l2"`` is the Euclidean norm over C.

    Returns:
      ``[H, W]`` or, for ``None``, the input.
    """
    check_channel_reduction(method)
    if method is None:
        return attribution
    if not hasattr(attribution, "ndim"):
        return jax.tree_util.tree_map(
            lambda leaf: reduce_channels(leaf, method), attribution
        )
    if attribution.ndim < 3:
        raise ValueError(
            f"attribution: expected [H, W, C] (any spatial rank, channels last) "
            f"to reduce channels, got shape {attribution.shape}"
        )
    if method == "abs_sum":
        return jnp.sum(jnp.abs(attribution), axis=-1)
    if method == "abs_max":
        return jnp.max(jnp.abs(attribution), axis=-1)
    if method == "sum":
        return jnp.sum(attribution, axis=-1)
    # The square root is not differentiable at 0; a safe form keeps grads finite.
    squares = jnp.sum(jnp.square(attribution), axis=-1)
    positive = squares > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squares, 1.0)), 0.0)


def relu(saliency: jax.Array) -> jax.Array:
    """Keeps positive evidence only: ``max(saliency, 0)``."""
    return jnp.maximum(saliency, 0.0)


def min_max(saliency: jax.Array) -> jax.Array:
    """Rescales one map to ``[0, 1]``; a constant map becomes all zeros.

    A map holding NaN stays all NaN (it is not turned into a plausible zero
    map, under ``jit`` or not).
    """
    low, high = jnp.min(saliency), jnp.max(saliency)
    span = high - low
    safe_span = jnp.where(span > 0, span, 1.0)
    scaled = jnp.where(span > 0, (saliency - low) / safe_span, jnp.zeros_like(saliency))
    return jnp.where(jnp.isnan(span), jnp.full_like(scaled, jnp.nan), scaled)


def normalize_sum(saliency: jax.Array) -> jax.Array:
    """Divides by the sum of ``|saliency|`` (so that sums to 1); zeros stay zeros.

    This is the heatmap normalisation of Dombrowski et al. (2019), applied after
    ``reduce_channels(..., "abs_sum")`` in their attack.

    References:
      Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be
      manipulated and geometry is to blame. NeurIPS 2019.
    """
    total = jnp.sum(jnp.abs(saliency))
    safe_total = jnp.where(total > 0, total, 1.0)
    scaled = jnp.where(total > 0, saliency / safe_total, jnp.zeros_like(saliency))
    # A map holding NaN stays NaN, never a plausible zero map.
    return jnp.where(jnp.isnan(total), jnp.full_like(scaled, jnp.nan), scaled)


def top_k_mask(saliency: jax.Array, fraction: float) -> jax.Array:
    """A float32 0/1 mask keeping the ``ceil(fraction * N)`` most salient pixels.

    Exactly that many pixels are kept; ties are broken in favour of the lower
    flat index (stable sort), so the count never depends on ties.

    Args:
      saliency: one map, any shape (``N`` = its size).
      fraction: share of pixels to keep, a Python float in ``[0, 1]`` (static).

    Returns:
      A mask with the shape of ``saliency``.
    """
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction: expected a value in [0, 1], got {fraction}")
    flat = saliency.reshape(-1)
    keep = math.ceil(fraction * flat.size - 1e-9)
    order = jnp.argsort(-flat, stable=True)
    mask = jnp.zeros(flat.shape, jnp.float32).at[order[:keep]].set(1.0)
    return mask.reshape(saliency.shape)


def percentile_clip(
    saliency: jax.Array, low: float = 1.0, high: float = 99.0
) -> jax.Array:
    """Clips one map to its ``[low, high]`` percentiles (outliers stop dominating)."""
    if not 0.0 <= low <= high <= 100.0:
        raise ValueError(
            f"low/high: expected 0 <= low <= high <= 100, got {low} and {high}"
        )
    lo, hi = jnp.percentile(saliency, jnp.asarray([low, high]))
    return jnp.clip(saliency, lo, hi)


def resize_bilinear(saliency: jax.Array, shape: Sequence[int]) -> jax.Array:
    """Bilinear resize of ``[h, w]`` (or ``[h, w, C]``) to ``shape = (H, W)``.

    Uses ``jax.image.resize`` (half-pixel centres, as TensorFlow's and PyTorch's
    ``align_corners=False``; antialiased when shrinking).
    """
    if saliency.ndim not in (2, 3):
        raise ValueError(
            f"saliency: expected a map [h, w] or [h, w, C], got shape {saliency.shape}"
        )
    shape = validation.check_int_sequence(shape, "shape", length=2, minimum=1)
    return jax.image.resize(saliency, (*shape, *saliency.shape[2:]), method="bilinear")


_STEPS_WITHOUT_ARGUMENT: dict[str, Callable] = {
    "relu": relu,
    "abs": jnp.abs,
    "min_max": min_max,
    "normalize_sum": normalize_sum,
}


def _apply_step(saliency, step):
    if callable(step):
        return step(saliency)
    if isinstance(step, str) and step in _STEPS_WITHOUT_ARGUMENT:
        return _STEPS_WITHOUT_ARGUMENT[step](saliency)
    if isinstance(step, tuple) and len(step) == 2:
        name, argument = step
        if name == "resize":
            return resize_bilinear(saliency, argument)
        if name == "top_k":
            return top_k_mask(saliency, argument)
        if name == "percentile_clip":
            return percentile_clip(saliency, *argument)
        if name == "reduce_channels":
            return reduce_channels(saliency, argument)
    raise ValueError(
        f"steps: unknown step {step!r}; expected a callable, one of "
        f"{sorted(_STEPS_WITHOUT_ARGUMENT)}, or one of ('resize', (H, W)), "
        "('top_k', fraction), ('percentile_clip', (low, high)), "
        "('reduce_channels', method)"
    )


def postprocess(saliency: jax.Array, steps: Sequence = ()) -> jax.Array:
    """Applies ``steps`` in order; no steps returns the raw map.

    Args:
      saliency: one map ``[H, W]`` (or ``[H, W, C]`` when the first step is
        ``("reduce_channels", method)``).
      steps: each a name (``"relu"``, ``"abs"``, ``"min_max"``,
        ``"normalize_sum"``), a ``(name, argument)`` pair (``("resize", (H,
        W))``, ``("top_k", fraction)``, ``("percentile_clip", (low, high))``,
        ``("reduce_channels", method)``) or any callable ``map -> map``.

    Returns:
      The processed map.

    Examples:
      >>> import jax.numpy as jnp
      >>> m = jnp.asarray([[-1.0, 0.0], [1.0, 3.0]])
      >>> postprocess(m, ("relu", "min_max")).tolist()
      [[0.0, 0.0], [0.3333333432674408, 1.0]]
    """
    if isinstance(steps, str):
        steps = (steps,)
    for step in steps:
        saliency = _apply_step(saliency, step)
    return saliency
