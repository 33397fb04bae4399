"""A two-input (RGB + depth) model: maps per input for the gradient family,
SmoothGrad, integrated gradients and occlusion; CAMs on the fused layer."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _fd import directional_fd, inner, random_like

import segxai_jax as sx

SIZE, K = 12, 3


class RGBDepthNet(nn.Module):
    @nn.compact
    def __call__(self, inputs):
        rgb = nn.gelu(nn.Conv(6, (3, 3), name="rgb_stem")(inputs["rgb"]))
        depth = nn.gelu(nn.Conv(2, (3, 3), name="depth_stem")(inputs["depth"]))
        fused = nn.gelu(
            nn.Conv(8, (3, 3), name="fuse")(jnp.concatenate([rgb, depth], -1))
        )
        return nn.Conv(K, (1, 1), name="head")(fused)


@pytest.fixture(scope="module")
def setup():
    model = RGBDepthNet()
    rng = np.random.default_rng(0)
    x = {
        "rgb": jnp.asarray(rng.random((SIZE, SIZE, 3)), jnp.float32),
        "depth": jnp.asarray(rng.random((SIZE, SIZE, 1)), jnp.float32),
    }
    params = model.init(jax.random.key(0), jax.tree_util.tree_map(lambda a: a[None], x))
    roi = jnp.zeros((SIZE, SIZE)).at[2:7, 4:10].set(1.0)
    return model, params["params"], x, sx.make_target(2, roi)


def test_gradients_per_input_match_finite_differences(setup):
    model, params, x, target = setup
    apply_fn = sx.linen_apply_fn(model)
    gradient = jax.jit(sx.vanilla_gradient(apply_fn))(None, params, x, target)
    assert gradient["rgb"].shape == (SIZE, SIZE, 3)
    assert gradient["depth"].shape == (SIZE, SIZE, 1)
    direction = random_like(x, 1)

    def score(z):
        return sx.target_score(apply_fn(params, z), target)

    fd = directional_fd(score, x, direction, step=1e-3)
    assert inner(gradient, direction) == pytest.approx(fd, rel=1e-3, abs=1e-6)
    product = sx.gradient_x_input(apply_fn, channel_reduction="sum")(
        None, params, x, target
    )
    assert product["depth"].shape == (SIZE, SIZE)


def test_integrated_gradients_complete_over_both_inputs(setup):
    model, params, x, target = setup
    apply_fn = sx.linen_apply_fn(model)
    ig = jax.jit(sx.integrated_gradients(apply_fn, num_steps=16))(
        None, params, x, target
    )
    total = sum(float(leaf.sum()) for leaf in jax.tree_util.tree_leaves(ig))
    black = jax.tree_util.tree_map(jnp.zeros_like, x)
    gap = float(
        sx.target_score(apply_fn(params, x), target)
        - sx.target_score(apply_fn(params, black), target)
    )
    assert total == pytest.approx(gap, rel=1e-3, abs=1e-3)
    # A baseline per input: a dict of the same structure.
    baseline = {"rgb": 0.5, "depth": jnp.zeros((SIZE, SIZE, 1))}
    ig2 = sx.integrated_gradients(apply_fn, num_steps=4, baseline=baseline)(
        None, params, x, target
    )
    assert ig2["rgb"].shape == (SIZE, SIZE, 3)
    with pytest.raises(ValueError, match="baseline"):
        sx.integrated_gradients(apply_fn, baseline={"rgb": 0.0})(
            None, params, x, target
        )


def test_smoothgrad_jit_vmap_and_occlusion_per_input(setup):
    model, params, x, target = setup
    apply_fn = sx.linen_apply_fn(model)
    smooth = sx.smoothgrad(sx.vanilla_gradient(apply_fn), num_samples=4)
    maps = jax.jit(smooth)(jax.random.key(0), params, x, target)
    assert maps["depth"].shape == (SIZE, SIZE, 1)
    xs = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), x)
    targets = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), target)
    batch = jax.jit(sx.explain_batch(sx.vanilla_gradient(apply_fn)))(
        None, params, xs, targets
    )
    single = sx.vanilla_gradient(apply_fn)(None, params, x, target)
    np.testing.assert_allclose(batch["rgb"][1], single["rgb"], rtol=1e-5, atol=1e-7)
    each = jax.jit(sx.occlusion(apply_fn, patch_size=4, stride=4, fill="black"))(
        None, params, x, target
    )
    assert each["rgb"].shape == each["depth"].shape == (SIZE, SIZE)
    # Oracle for one window of the depth map: occlude it by hand.
    occluded = dict(x, depth=x["depth"].at[0:4, 4:8].set(0.0))
    drop = sx.target_score(apply_fn(params, x), target) - sx.target_score(
        apply_fn(params, occluded), target
    )
    np.testing.assert_allclose(each["depth"][1, 5], drop, rtol=1e-4, atol=1e-5)
    together = sx.occlusion(apply_fn, patch_size=4, stride=4, occlude="together")
    assert together(None, params, x, target).shape == (SIZE, SIZE)


def test_mismatched_inputs_are_refused_naming_the_leaf(setup):
    model, params, _, target = setup
    apply_fn = sx.linen_apply_fn(model)
    x = {
        "rgb": jnp.zeros((SIZE, SIZE, 3)),
        "depth": jnp.zeros((SIZE // 2, SIZE // 2, 1)),
    }
    together = sx.occlusion(apply_fn, patch_size=4, stride=4, occlude="together")
    with pytest.raises(ValueError, match=r"x\['depth'\]"):
        together(None, params, x, target)
    bad = {"rgb": jnp.zeros((SIZE, SIZE, 3)), "depth": jnp.zeros((SIZE, SIZE, 1), int)}
    with pytest.raises(TypeError, match=r"x\['depth'\]"):
        sx.vanilla_gradient(apply_fn)(None, params, bad, target)


def test_cam_on_the_fused_layer(setup):
    model, params, x, target = setup
    shapes = {"rgb": (SIZE, SIZE, 3), "depth": (SIZE, SIZE, 1)}
    probe = sx.make_probe(model, "fuse", input_shape=shapes)
    cam = jax.jit(sx.seg_grad_cam(probe))(None, params, x, target)
    assert cam.shape == (SIZE, SIZE) and float(cam.max()) >= 0
