"""A small 3-D U-Net on [16, 32, 32, 1] volumes: gradients, 3-D CAMs, 3-D occlusion."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _fd import directional_fd, inner, random_like

import segxai_jax as sx

SHAPE, K = (16, 32, 32, 1), 2


class UNet3D(nn.Module):
    @nn.compact
    def __call__(self, x):
        skip = nn.gelu(nn.Conv(4, (3, 3, 3), name="enc")(x))
        h = nn.max_pool(skip, (2, 2, 2), (2, 2, 2))
        h = nn.gelu(nn.Conv(8, (3, 3, 3), name="bottleneck")(h))
        h = nn.ConvTranspose(4, (2, 2, 2), (2, 2, 2), name="up")(h)
        h = nn.gelu(nn.Conv(4, (3, 3, 3), name="dec")(jnp.concatenate([h, skip], -1)))
        return nn.Conv(K, (1, 1, 1), name="head")(h)


@pytest.fixture(scope="module")
def setup():
    model = UNet3D()
    x = jnp.asarray(np.random.default_rng(0).random(SHAPE), jnp.float32)
    params = model.init(jax.random.key(0), x[None])["params"]
    roi = jnp.zeros(SHAPE[:3]).at[4:10, 8:20, 10:22].set(1.0)
    return model, params, x, sx.make_target(1, roi)


def test_gradient_matches_finite_differences(setup):
    model, params, x, target = setup
    apply_fn = sx.linen_apply_fn(model)
    gradient = jax.jit(sx.vanilla_gradient(apply_fn))(None, params, x, target)
    assert gradient.shape == SHAPE
    direction = random_like(x, 2)

    def score(z):
        return sx.target_score(apply_fn(params, z), target)

    fd = directional_fd(score, x, direction, step=1e-3)
    assert inner(gradient, direction) == pytest.approx(fd, rel=1e-3, abs=1e-6)


def test_cam_pools_over_three_axes(setup):
    model, params, x, target = setup
    probe = sx.make_probe(model, "bottleneck", input_shape=SHAPE)
    assert probe.activation_shape == (8, 16, 16, 8)
    coarse = jax.jit(sx.seg_grad_cam(probe, output_size=None))(None, params, x, target)
    a = probe.activations(params, x)
    grads = jax.grad(
        lambda d: sx.target_score(probe.apply_with_delta(params, x, d), target)
    )(jnp.zeros_like(a))
    expected = jax.nn.relu(a @ grads.mean(axis=(0, 1, 2)))
    np.testing.assert_allclose(coarse, expected, rtol=1e-5, atol=1e-7)
    full = jax.jit(sx.seg_grad_cam(probe))(None, params, x, target)
    assert full.shape == SHAPE[:3]


def test_occlusion_with_3d_windows_and_batches(setup):
    model, params, x, target = setup
    apply_fn = sx.linen_apply_fn(model)
    occlusion = sx.occlusion(
        apply_fn, patch_size=(8, 16, 16), stride=(8, 16, 16), fill="black"
    )
    saliency = jax.jit(occlusion)(None, params, x, target)
    assert saliency.shape == SHAPE[:3]
    occluded = x.at[0:8, 16:32, 0:16].set(0.0)
    drop = sx.target_score(apply_fn(params, x), target) - sx.target_score(
        apply_fn(params, occluded), target
    )
    np.testing.assert_allclose(saliency[3, 20, 5], drop, rtol=1e-4, atol=1e-5)
    xs = jnp.stack([x, x[::-1]])
    targets = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), target)
    probe = sx.make_probe(model, "dec", input_shape=SHAPE)
    batch = jax.jit(sx.explain_batch(sx.seg_grad_cam(probe)))(None, params, xs, targets)
    np.testing.assert_allclose(
        batch[0], sx.seg_grad_cam(probe)(None, params, x, target), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="patch_size"):
        sx.occlusion(apply_fn, patch_size=(8, 8), stride=4)(None, params, x, target)
