"""An NNX U-Net written as a user would: probes by path, explainers under jit/vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _fd import directional_fd, inner, random_like
from flax import nnx

import segxai_jax as sx

SIZE, K = 16, 3


class Block(nnx.Module):
    def __init__(self, cin, cout, rngs):
        self.conv = nnx.Conv(cin, cout, (3, 3), rngs=rngs)
        self.norm = nnx.BatchNorm(cout, rngs=rngs)

    def __call__(self, x):
        return nnx.gelu(self.norm(self.conv(x)))


class NNXUNet(nnx.Module):
    def __init__(self, rngs):
        self.down = nnx.List([Block(3, 8, rngs), Block(8, 16, rngs)])
        self.up = nnx.ConvTranspose(16, 8, (2, 2), strides=(2, 2), rngs=rngs)
        self.fuse = Block(16, 8, rngs)
        self.head = nnx.Conv(8, K, (1, 1), rngs=rngs)

    def __call__(self, x):
        skip = self.down[0](x)
        h = self.down[1](nnx.max_pool(skip, (2, 2), (2, 2)))
        h = self.fuse(jnp.concatenate([self.up(h), skip], -1))
        return self.head(h)


@pytest.fixture(scope="module")
def setup():
    model = NNXUNet(nnx.Rngs(0))
    batch = jnp.asarray(
        np.random.default_rng(1).random((4, SIZE, SIZE, 3)), jnp.float32
    )
    model(batch)  # training mode: updates the batch statistics
    model.eval()
    apply_fn, state = sx.nnx_apply_fn(model)
    x = jnp.asarray(np.random.default_rng(0).random((SIZE, SIZE, 3)), jnp.float32)
    roi = jnp.zeros((SIZE, SIZE)).at[2:9, 3:12].set(1.0)
    return model, apply_fn, state, x, sx.make_target(2, roi)


def test_probe_points_and_the_model_is_untouched(setup):
    model, apply_fn, state, x, target = setup
    points = sx.probe_points(model, (SIZE, SIZE, 3))
    assert points["down/1"] == (SIZE // 2, SIZE // 2, 16)
    assert points["down/1/conv"] == (SIZE // 2, SIZE // 2, 16)
    assert points["fuse/norm"] == (SIZE, SIZE, 8)
    before = model(x[None])
    probe = sx.make_probe(model, "down/1", input_shape=x.shape)
    sx.seg_grad_cam(probe)(None, state, x, target)
    assert type(model.down[1]) is Block  # no class swap leaks out
    np.testing.assert_array_equal(model(x[None]), before)
    with pytest.raises(ValueError, match=r"nearest: \['down/1"):
        sx.make_probe(model, "down/2", input_shape=x.shape)


def test_cam_equals_the_manual_grad_cam(setup):
    model, apply_fn, state, x, target = setup
    probe = sx.make_probe(model, "down/1", input_shape=x.shape)
    cam = jax.jit(sx.seg_grad_cam(probe, output_size=None))(None, state, x, target)

    # Oracle: split the network by hand at the probed block.
    def tail(h):
        m = nnx.merge(*nnx.split(model))
        skip = m.down[0](x[None])
        out = m.head(m.fuse(jnp.concatenate([m.up(h[None]), skip], -1)))
        return sx.target_score(out[0], target)

    m = nnx.merge(*nnx.split(model))
    a = m.down[1](nnx.max_pool(m.down[0](x[None]), (2, 2), (2, 2)))[0]
    alpha = jax.grad(tail)(a).mean(axis=(0, 1))
    np.testing.assert_allclose(cam, jax.nn.relu(a @ alpha), rtol=1e-5, atol=1e-6)


def test_explainers_jit_vmap_and_finite_differences(setup):
    model, apply_fn, state, x, target = setup
    gradient = jax.jit(sx.vanilla_gradient(apply_fn))(None, state, x, target)

    def score(z):
        return sx.target_score(apply_fn(state, z), target)

    direction = random_like(x, 3)
    fd = directional_fd(score, x, direction, step=1e-3)
    assert inner(gradient, direction) == pytest.approx(fd, rel=1e-3, abs=1e-6)
    probe = sx.make_probe(model, "fuse", input_shape=x.shape)
    targets = sx.make_target(jnp.array([0, 1, 2]), jnp.stack([target.mask] * 3))
    many = jax.jit(sx.explain_targets(sx.seg_grad_cam(probe)))(None, state, x, targets)
    one = sx.seg_grad_cam(probe)(None, state, x, target)
    np.testing.assert_allclose(many[2], one, rtol=1e-5, atol=1e-6)
    ablation = jax.jit(sx.seg_ablation_cam(probe))(None, state, x, target)
    assert ablation.shape == (SIZE, SIZE) and np.all(np.isfinite(ablation))
    smooth = sx.smoothgrad(sx.vanilla_gradient(apply_fn), num_samples=3)
    assert jax.jit(smooth)(jax.random.key(0), state, x, target).shape == x.shape


def test_the_module_itself_as_params(setup):
    model, apply_fn, state, x, target = setup
    probe = sx.make_probe(model, "down/0", input_shape=x.shape)
    by_state = sx.seg_grad_cam(probe)(None, state, x, target)
    by_module = sx.seg_grad_cam(probe)(None, model, x, target)
    np.testing.assert_allclose(by_module, by_state, rtol=1e-6)


def test_prefix_runs_once_under_vmap(setup):
    model, apply_fn, state, x, _ = setup
    probe = sx.make_probe(model, "fuse", input_shape=x.shape)
    num_edits = 8

    def flops(fn, *args):
        cost = jax.jit(fn).lower(*args).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, list | tuple) else cost
        return float(cost["flops"])

    forward = flops(apply_fn, state, x)
    deltas = jnp.zeros((num_edits, *probe.activation_shape))
    sweep = flops(
        lambda s, x, d: jax.vmap(lambda di: probe.apply_with_delta(s, x, di))(d),
        state,
        x,
        deltas,
    )
    # Only the fuse block's suffix (fuse output -> head) is batched.
    assert sweep < 0.5 * num_edits * forward, (sweep, forward)
