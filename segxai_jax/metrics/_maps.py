"""Input checks and safe arithmetic shared by the map metrics (private).

Shape checks run always (shapes are static under ``jit``); value checks (NaN,
inf, an empty ground-truth mask) run only when the array is concrete, i.e.
outside ``jit``/``vmap``/``grad``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax.validation import is_concrete


def as_float(x) -> jax.Array:
    """``x`` as a JAX array of a floating dtype (bool/int become float32)."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def is_constant(x: jax.Array) -> jax.Array:
    """True when every element equals the first (exact, unlike a variance test)."""
    return jnp.max(x) == jnp.min(x)


def check_map(saliency, *, name: str) -> None:
    """One map ``[H, W]``: rank always; finite values if concrete."""
    if getattr(saliency, "ndim", None) != 2:
        raise ValueError(
            f"{name}: expected one map [H, W], got shape "
            f"{getattr(saliency, 'shape', type(saliency).__name__)}; vmap over a "
            "batch of maps"
        )
    if is_concrete(saliency) and not np.all(np.isfinite(np.asarray(saliency))):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")


def check_pair(a, b, *, names: tuple[str, str] = ("a", "b")) -> None:
    """Two maps ``[H, W]`` of the same shape."""
    check_map(a, name=names[0])
    check_map(b, name=names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"{names[1]}: expected the shape of {names[0]} {tuple(a.shape)}, got "
            f"{tuple(b.shape)}"
        )


def check_mask(mask, spatial_shape, *, name: str = "mask") -> None:
    """A ground-truth mask of ``spatial_shape``; >= 1 positive pixel if concrete."""
    if tuple(getattr(mask, "shape", ())) != tuple(spatial_shape):
        raise ValueError(
            f"{name}: expected shape {tuple(spatial_shape)} (the saliency map's), "
            f"got {tuple(getattr(mask, 'shape', ()))}"
        )
    if is_concrete(mask):
        values = np.asarray(mask)
        if values.dtype != bool and not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: expected finite values, found NaN or inf")
        if not np.any(values > 0):
            raise ValueError(
                f"{name}: expected at least one positive pixel, got an empty mask"
            )


def check_fraction(k_fraction, *, name: str = "k_fraction") -> float:
    """A static Python number in ``(0, 1]``; returned as a float."""
    valid = isinstance(k_fraction, int | float | np.number) and not isinstance(
        k_fraction, bool
    )
    if not valid or not (math.isfinite(k_fraction) and 0.0 < k_fraction <= 1.0):
        raise ValueError(f"{name}: expected a number in (0, 1], got {k_fraction!r}")
    return float(k_fraction)


def top_k_count(k_fraction: float, size: int) -> int:
    """``ceil(k_fraction * size)``, at least 1 (robust to float round-off)."""
    return max(1, math.ceil(k_fraction * size - 1e-9))


def descending_ranks(values: jax.Array) -> jax.Array:
    """0-based rank of each element of a flat array, largest first.

    Ties are broken in favour of the lower flat index (stable sort), so exactly
    ``k`` elements have a rank below ``k``.
    """
    order = jnp.argsort(-values, stable=True)
    return (
        jnp.zeros(values.shape, jnp.int32)
        .at[order]
        .set(jnp.arange(values.size, dtype=jnp.int32))
    )


def safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(x)`` for ``x >= 0`` with a finite (zero) gradient at 0."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


def safe_divide(numerator: jax.Array, denominator: jax.Array, default) -> jax.Array:
    """``numerator / denominator``, or ``default`` where the denominator is 0.

    Gradients stay finite in both branches (the unused one divides by 1).
    """
    nonzero = denominator != 0
    ratio = numerator / jnp.where(nonzero, denominator, 1.0)
    return jnp.where(nonzero, ratio, default)
