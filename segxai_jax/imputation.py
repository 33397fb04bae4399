"""ROAD's noisy linear imputation: the substrate that fills removed pixels in.

Removed pixels take the weighted mean of their 8 neighbours (1/6 for the 4
direct ones, 1/12 for the diagonals), solved jointly with the kept pixels as
boundary values, plus a little Gaussian noise; ``fills.make_fill("noisy_linear")``
wraps it as a fill.

References:
  Rong, Leemann, Borisov, Kasneci, Kasneci. A consistent and efficient
  evaluation strategy for attribution methods (ROAD). ICML 2022.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from segxai_jax import random_draws

__all__ = ["noisy_linear_imputation"]

# ROAD's neighbour weights: direct neighbours 1/6, diagonal ones 1/12.
_ROAD_NEIGHBOURS = tuple(
    ((dy, dx), 1 / 6 if dy == 0 or dx == 0 else 1 / 12)
    for dy in (-1, 0, 1)
    for dx in (-1, 0, 1)
    if (dy, dx) != (0, 0)
)


def _neighbour_sum(u: jax.Array) -> jax.Array:
    """``sum_n w_n u[p + n]`` over the 8 neighbours inside the image, ``[H, W, C]``."""
    height, width = u.shape[:2]
    padded = jnp.pad(u, ((1, 1), (1, 1), (0, 0)))
    return sum(
        weight * padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        for (dy, dx), weight in _ROAD_NEIGHBOURS
    )


def noisy_linear_imputation(
    key: jax.Array,
    x: jax.Array,
    mask: jax.Array,
    *,
    noise_std: float = 0.01,
    max_iterations: int = 200,
    tolerance: float = 1e-5,
) -> jax.Array:
    """ROAD's substrate: removed pixels linearly imputed from their neighbours.

    Solves, for every removed pixel ``p`` (``mask > 0.5``) and channel,
    ``deg(p) u(p) - sum_n w_n u(p + n) = 0`` with kept pixels fixed to ``x``
    (``deg`` = sum of the weights of the neighbours inside the image), by
    conjugate gradients on this symmetric positive semi-definite system
    (matrix-free, ``max_iterations`` steps at most; a fully removed image
    imputes 0), then adds ``N(0, noise_std^2)`` noise from ``key``.

    Args:
      key: PRNG key of the noise.
      x: image ``[H, W, C]``.
      mask: ``[H, W]``; pixels above 0.5 are removed.
      noise_std: std of the added noise (ROAD: 0.01).
      max_iterations: conjugate-gradient steps at most.
      tolerance: relative residual at which conjugate gradients stop.

    Returns:
      the substrate ``[H, W, C]``: imputed values where removed, ``x`` elsewhere.
    """
    if x.ndim != 3:
        raise ValueError(
            f"x: the 'noisy_linear' fill expects one image [H, W, C], got shape "
            f"{x.shape}"
        )
    removed = (mask > 0.5)[..., None].astype(x.dtype)  # [H, W, 1]
    kept = x * (1 - removed)
    degree = _neighbour_sum(jnp.ones_like(x[..., :1]))  # [H, W, 1]

    def operator(u):  # on removed pixels only; zero elsewhere
        u = u * removed
        return (degree * u - _neighbour_sum(u)) * removed

    rhs = _neighbour_sum(kept) * removed
    solution, _ = jax.scipy.sparse.linalg.cg(
        operator, rhs, tol=tolerance, maxiter=max_iterations
    )
    noise = noise_std * random_draws.normal(key, x.shape, x.dtype)
    return kept + (solution + noise) * removed
