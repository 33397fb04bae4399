"""NaN inputs give NaN explanations, also under ``jit``.

Outside ``jit`` an input holding NaN or inf is refused by the argument checks.
Under ``jit`` it cannot be, and ReLU's derivative at NaN is 0, so a plain
gradient would be a plausible map of zeros and finite values. These helpers
turn such a result into NaN everywhere; for a finite input they multiply by
exactly 1.0 (bit-identical results).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def input_validity(x) -> jax.Array:
    """1.0 when every entry of the input (an array or a pytree) is finite, else NaN.

    Jittable. A score multiplied by it is NaN, and so are all its derivatives,
    when the input holds NaN or inf: under ``jit`` an explainer then returns a
    NaN map instead of the plausible zeros that ReLU's zero derivative at NaN
    would give.
    """
    finite = jnp.all(
        jnp.asarray([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(x)])
    )
    return jnp.where(finite, 1.0, jnp.nan).astype(jnp.float32)


def input_gradient(score: Callable) -> Callable:
    """``dS/dx`` of ``score(params, x, target)``, NaN everywhere for a NaN input.

    ReLU's derivative at NaN is 0, so the plain gradient of a score of an input
    holding NaN is a plausible map of zeros and finite values; multiplying by
    :func:`input_validity` makes it NaN, also under ``jit``.
    """
    grad = jax.grad(score, argnums=1)

    def gradient(params, x, target):
        valid = input_validity(x)
        return jax.tree.map(
            lambda g: g * valid.astype(g.dtype), grad(params, x, target)
        )

    return gradient
