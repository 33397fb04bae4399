"""Sliding-window explanations of inputs larger than the model's patch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.explainers import vanilla_gradient
from segxai_jax.explainers.sliding_window import patch_weights, sliding_window
from segxai_jax.targets import make_target

KEY = jax.random.key(0)


def per_pixel_apply(params, x):
    """A model without spatial context: logits = tanh(x) @ W (any rank)."""
    del params
    w = jnp.asarray(np.linspace(-1.0, 1.0, x.shape[-1] * 3).reshape(-1, 3))
    return jnp.tanh(x) @ w


def conv_apply(params, x):
    """3x3 box filter then per-pixel logits: spatial context of 1 pixel."""
    del params
    padded = jnp.pad(x, ((1, 1), (1, 1), (0, 0)))
    h, w = x.shape[:2]
    box = sum(padded[i : i + h, j : j + w] for i in range(3) for j in range(3)) / 9
    return per_pixel_apply(None, box)


def _roi(shape, seed):
    return (np.random.default_rng(seed).random(shape) > 0.6).astype(np.float32)


@pytest.mark.parametrize("blend", ["gaussian", "uniform"])
def test_equals_the_direct_map_in_2d(blend):
    x = jnp.asarray(np.random.default_rng(1).random((12, 12, 3)), jnp.float32)
    target = make_target(2, _roi((12, 12), 2))
    explain = vanilla_gradient(per_pixel_apply)
    direct = explain(KEY, None, x, target)
    tiled = sliding_window(explain, 5, overlap=2, blend=blend)(KEY, None, x, target)
    np.testing.assert_allclose(tiled, direct, rtol=1e-6, atol=1e-7)


def test_equals_the_direct_map_on_a_3d_volume():
    x = jnp.asarray(np.random.default_rng(3).random((6, 10, 10, 2)), jnp.float32)
    target = make_target(1, _roi((6, 10, 10), 4))
    explain = vanilla_gradient(per_pixel_apply)
    direct = explain(KEY, None, x, target)
    tiled = sliding_window(explain, (4, 6, 6), overlap=(1, 2, 2), chunk_size=3)
    out = tiled(KEY, None, x, target)
    assert out.shape == (6, 10, 10, 2)  # the gradient keeps the channels
    np.testing.assert_allclose(out, direct, rtol=1e-6, atol=1e-7)


def test_spatial_context_blends_and_jit_matches():
    x = jnp.asarray(np.random.default_rng(5).random((12, 12, 3)), jnp.float32)
    target = make_target(0, _roi((12, 12), 6))
    explain = vanilla_gradient(conv_apply)
    gaussian = sliding_window(explain, 6, overlap=3)
    uniform = sliding_window(explain, 6, overlap=3, blend="uniform")
    a, b = gaussian(KEY, None, x, target), uniform(KEY, None, x, target)
    assert np.all(np.isfinite(a)) and not np.allclose(a, b)
    np.testing.assert_allclose(jax.jit(gaussian)(KEY, None, x, target), a, atol=1e-6)
    weights = patch_weights((6, 6), "gaussian")
    assert weights.max() == 1.0 and weights.min() > 0 and weights[0, 0] < weights[3, 3]


def test_bad_sizes_are_refused():
    explain = vanilla_gradient(per_pixel_apply)
    x = jnp.zeros((8, 8, 3))
    target = make_target(0, jnp.ones((8, 8)))
    with pytest.raises(ValueError, match="overlap: expected less than patch_size"):
        sliding_window(explain, 4, overlap=4)
    with pytest.raises(ValueError, match=r"patch_size: expected 1..8"):
        sliding_window(explain, 9)(KEY, None, x, target)
    with pytest.raises(ValueError, match="target: expected a mask of the input"):
        sliding_window(explain, 4)(KEY, None, x, make_target(0, jnp.ones((4, 4))))
    with pytest.raises(ValueError, match="overlap: expected less than patch_size"):
        sliding_window(explain, (4, 4), overlap=(1, 4))(KEY, None, x, target)
