"""Complexity metrics: exact values, NumPy oracles, jit/vmap, gradients, errors."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.metrics import complexity
from segxai_jax.metrics.complexity import entropy, sparseness

SHAPE = (6, 8)
N = 48


def random_map(seed):
    return jnp.asarray(np.random.default_rng(seed).normal(size=SHAPE), jnp.float32)


def test_sparseness_exact_values():
    one_hot = jnp.zeros(SHAPE).at[2, 5].set(-3.0)
    np.testing.assert_allclose(sparseness(one_hot), 1.0 - 1.0 / N, rtol=1e-6)
    assert float(sparseness(jnp.full(SHAPE, 0.7))) == pytest.approx(0.0, abs=1e-6)
    assert float(sparseness(jnp.zeros(SHAPE))) == 0.0  # defined value
    # Two equal non-zero pixels: G = 1 - 2 / n.
    two = one_hot.at[0, 0].set(3.0)
    np.testing.assert_allclose(sparseness(two), 1.0 - 2.0 / N, rtol=1e-6)


def test_sparseness_matches_mean_absolute_difference():
    s = random_map(1)
    x = np.abs(np.asarray(s, np.float64)).ravel()
    # Gini as half the relative mean absolute difference (Hurley & Rickard).
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * N * x.sum())
    np.testing.assert_allclose(sparseness(s), expected, rtol=1e-5)
    np.testing.assert_allclose(sparseness(-s), sparseness(s))  # sign ignored
    np.testing.assert_allclose(sparseness(5 * s), sparseness(s), rtol=1e-5)


def test_entropy_exact_values():
    np.testing.assert_allclose(entropy(jnp.full(SHAPE, -2.0)), np.log(N), rtol=1e-6)
    np.testing.assert_allclose(entropy(jnp.zeros(SHAPE)), np.log(N), rtol=1e-6)
    assert float(entropy(jnp.zeros(SHAPE).at[1, 1].set(4.0))) == pytest.approx(0.0)
    two = jnp.zeros(SHAPE).at[1, 1].set(4.0).at[3, 3].set(-4.0)
    np.testing.assert_allclose(entropy(two), np.log(2), rtol=1e-6)


def test_entropy_matches_numpy():
    s = random_map(2).at[0, :4].set(0.0)
    p = np.abs(np.asarray(s, np.float64)).ravel()
    p = p / p.sum()
    expected = -np.sum(p[p > 0] * np.log(p[p > 0]))
    np.testing.assert_allclose(entropy(s), expected, rtol=1e-5)
    np.testing.assert_allclose(entropy(0.01 * s), entropy(s), rtol=1e-5)


@pytest.mark.parametrize("fn", [sparseness, entropy])
def test_jit_vmap_and_gradients(fn):
    maps = jnp.stack([random_map(3), jnp.zeros(SHAPE).at[0, 0].set(1.0), random_map(4)])
    eager = [float(fn(m)) for m in maps]
    np.testing.assert_allclose(jax.jit(fn)(maps[0]), eager[0], rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(fn)(maps), eager, rtol=1e-6)
    grad = jax.jit(jax.grad(fn))
    for m in [*maps, jnp.zeros(SHAPE), jnp.ones(SHAPE)]:
        assert np.all(np.isfinite(grad(m)))
    assert float(jnp.abs(grad(maps[0])).max()) > 0.0


@pytest.mark.parametrize("fn", [sparseness, entropy])
def test_bad_inputs_name_the_argument(fn):
    with pytest.raises(ValueError, match="saliency: expected finite"):
        fn(random_map(5).at[1, 2].set(jnp.inf))
    with pytest.raises(ValueError, match="saliency: expected one map"):
        fn(jnp.ones((2, *SHAPE)))


def test_docstring_examples():
    assert doctest.testmod(complexity, raise_on_error=False).failed == 0
