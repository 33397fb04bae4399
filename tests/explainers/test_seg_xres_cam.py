"""Seg-XRes-CAM: block pooling by hand, its two limits (HiRes-CAM, Seg-Grad-CAM)."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax import seg_xres_cam
from segxai_jax.explainers import block_pool, hires_cam, seg_grad_cam
from segxai_jax.models.unet import UNet, UNetConfig
from segxai_jax.probes import make_probe
from segxai_jax.targets import box_roi, make_target

SIZE = 16
KEY = jax.random.key(0)


class ConvThenHead(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(5, (3, 3))(x))
        a = self.perturb("feat", a)
        return nn.Conv(3, (1, 1), name="head")(a)


@pytest.fixture(scope="module")
def head_model():
    model = ConvThenHead()
    x = jnp.asarray(np.random.default_rng(1).random((SIZE, SIZE, 3)), jnp.float32)
    params = numpy_init(model, x.shape, 2)
    probe = make_probe(model, "feat", input_shape=x.shape)
    target = make_target(1, box_roi((SIZE, SIZE), 2, 3, 5, 4))
    return params, probe, x, target


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_block_pool_equals_a_loop_over_blocks(pooling):
    g = np.random.default_rng(0).normal(size=(7, 5, 3)).astype(np.float32)
    out = np.asarray(block_pool(jnp.asarray(g), 3, pooling))
    reduce = np.max if pooling == "max" else np.mean
    for i in range(7):
        for j in range(5):
            block = g[i // 3 * 3 : i // 3 * 3 + 3, j // 3 * 3 : j // 3 * 3 + 3]
            np.testing.assert_allclose(
                out[i, j], reduce(block, axis=(0, 1)), rtol=1e-6, atol=1e-7
            )


def test_oracle_on_a_linear_head(head_model):
    """``dS/dA^k_ij = W[k, c] M_ij``: the map by hand from A, W and M."""
    params, probe, x, target = head_model
    a = np.asarray(probe.activations(params, x), np.float64)
    w = np.asarray(params["head"]["kernel"], np.float64)[0, 0, :, 1]
    g = w[None, None, :] * np.asarray(target.mask, np.float64)[..., None]
    pooled = np.zeros_like(g)
    for bi in range(0, SIZE, 4):
        for bj in range(0, SIZE, 4):
            block = g[bi : bi + 4, bj : bj + 4]
            pooled[bi : bi + 4, bj : bj + 4] = block.max(axis=(0, 1))
    expected = np.maximum((pooled * a).sum(-1), 0.0)
    explain = seg_xres_cam(probe, pool_size=4, output_size=None)
    np.testing.assert_allclose(
        explain(KEY, params, x, target), expected, rtol=1e-4, atol=1e-5
    )


def test_pool_size_one_is_hires_cam_and_one_mean_block_is_seg_grad_cam(head_model):
    params, probe, x, target = head_model
    np.testing.assert_allclose(
        seg_xres_cam(probe, pool_size=1)(KEY, params, x, target),
        hires_cam(probe)(KEY, params, x, target),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        seg_xres_cam(probe, pool_size=SIZE, pooling="mean")(KEY, params, x, target),
        seg_grad_cam(probe)(KEY, params, x, target),
        rtol=1e-4,
        atol=1e-6,
    )


def test_jit_vmap_and_one_trace():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), 3)
    probe = make_probe(model, "bottleneck", input_shape=(SIZE, SIZE, 3))
    x = jnp.asarray(np.random.default_rng(4).random((SIZE, SIZE, 3)), jnp.float32)
    target = make_target(1, box_roi((SIZE, SIZE), 4, 5, 6, 7))
    explain = seg_xres_cam(probe, pool_size=3)  # 3 does not divide the 8 x 8 grid
    eager = explain(KEY, params, x, target)
    assert eager.shape == (SIZE, SIZE) and float(eager.min()) >= 0.0
    traced = jax.jit(chex.assert_max_traces(explain, n=1))
    np.testing.assert_allclose(
        traced(KEY, params, x, target), eager, rtol=1e-4, atol=1e-6
    )
    targets = make_target(
        jnp.array([0, 2]), jnp.stack([target.mask, 1.0 - target.mask])
    )
    batched = jax.jit(jax.vmap(explain, in_axes=(None, None, None, 0)))(
        KEY, params, x, targets
    )
    for i in range(2):
        single = traced(
            KEY, params, x, make_target(targets.class_id[i], targets.mask[i])
        )
        np.testing.assert_allclose(batched[i], single, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"pool_size": 0}, "pool_size"), ({"pooling": "median"}, "pooling")],
)
def test_bad_options_name_the_argument(head_model, kwargs, match):
    _, probe, _, _ = head_model
    with pytest.raises((TypeError, ValueError), match=match):
        seg_xres_cam(probe, **kwargs)
