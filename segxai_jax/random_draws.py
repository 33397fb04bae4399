"""Random arrays of any shape, drawn flat: the same values, a fraction of the compile.

XLA's CPU compiler is several times slower on the threefry hash of a rank-3
or rank-4 shape than on the same number of values drawn as one flat vector
(measured on the 2-core CPU, jax 0.10: about 1.1 s against 0.2 s to compile
``jax.random.normal`` of ``[16, 64, 64, 3]``, SmoothGrad's noise for a 64x64
image; 0.5 s against 0.2 s for one ``[64, 64, 3]`` image). JAX counts
threefry's bits over the flattened index, so for threefry keys (JAX's
default) ``normal(key, shape)`` equals ``jax.random.normal(key, shape)``
bit for bit, with or without ``jax_threefry_partitionable`` (tested); only the
first call gets cheaper. Other key implementations (``rbg``) give values of
the same distribution that may differ from the shaped draw.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def normal(key: jax.Array, shape, dtype=jnp.float32) -> jax.Array:
    """Standard normal values of ``shape``; ``jax.random.normal``'s values."""
    shape = tuple(shape)
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


def uniform(
    key: jax.Array, shape, dtype=jnp.float32, minval=0.0, maxval=1.0
) -> jax.Array:
    """Uniform values in ``[minval, maxval)``; ``jax.random.uniform``'s values."""
    shape = tuple(shape)
    flat = jax.random.uniform(key, (math.prod(shape),), dtype, minval, maxval)
    return flat.reshape(shape)
