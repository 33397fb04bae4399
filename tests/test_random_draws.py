"""Flat draws equal JAX's shaped draws bit for bit (threefry keys)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax import random_draws

SHAPES = [(16, 8, 8, 3), (5, 7, 2), (3,), (), (2, 0, 4)]


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_flat_draws_equal_the_shaped_draws(shape, partitionable):
    before = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        key = jax.random.key(3)
        for dtype in (jnp.float32, jnp.bfloat16):
            np.testing.assert_array_equal(
                random_draws.normal(key, shape, dtype),
                jax.random.normal(key, shape, dtype),
            )
        np.testing.assert_array_equal(
            random_draws.uniform(key, shape, jnp.float32, -0.5, 2.0),
            jax.random.uniform(key, shape, jnp.float32, -0.5, 2.0),
        )
    finally:
        jax.config.update("jax_threefry_partitionable", before)


def test_jit_equals_no_jit_and_keeps_the_shape():
    key = jax.random.key(0)
    shape = (4, 6, 6, 3)
    eager = random_draws.normal(key, shape)
    jitted = jax.jit(lambda k: random_draws.normal(k, shape))(key)
    assert eager.shape == shape
    np.testing.assert_array_equal(eager, jitted)
