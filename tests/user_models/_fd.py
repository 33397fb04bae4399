"""Finite-difference checks shared by the user-model tests."""

import jax
import numpy as np


def directional_fd(score, x, direction, step=1e-3):
    """Central difference ``(S(x + h d) - S(x - h d)) / 2h`` in float64.

    The score is evaluated with 64-bit floats (inputs cast, weights promoted):
    in float32 the rounding of a score of ~10 (1e-6) over 2h would swamp the
    directional derivative of a random direction.
    """
    with jax.enable_x64(True):
        x64 = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), x)
        d64 = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), direction)
        plus = jax.tree_util.tree_map(lambda a, d: a + step * d, x64, d64)
        minus = jax.tree_util.tree_map(lambda a, d: a - step * d, x64, d64)
        return (float(score(plus)) - float(score(minus))) / (2 * step)


def inner(a, b) -> float:
    pairs = zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    return float(
        sum(np.sum(np.asarray(u, np.float64) * np.asarray(v)) for u, v in pairs)
    )


def random_like(x, seed=0):
    """A random direction of unit L2 norm over all leaves (so that a step h
    moves the input by h, whatever its size)."""
    rng = np.random.default_rng(seed)
    direction = jax.tree_util.tree_map(lambda a: rng.standard_normal(np.shape(a)), x)
    norm = np.sqrt(inner(direction, direction))
    return jax.tree_util.tree_map(lambda d: (d / norm).astype(np.float32), direction)
