"""A one-logit (sigmoid) segmenter: binary targets, sign-safe CAMs, instances."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import segxai_jax as sx

SIZE = 16


class BinarySegmenter(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.gelu(nn.Conv(8, (3, 3), name="conv1")(x))
        h = nn.gelu(nn.Conv(8, (3, 3), name="conv2")(h))
        return nn.Conv(1, (1, 1), name="out")(h)  # one logit per pixel


@pytest.fixture(scope="module")
def setup():
    model = BinarySegmenter()
    x = jnp.asarray(np.random.default_rng(0).random((SIZE, SIZE, 3)), jnp.float32)
    params = model.init(jax.random.key(1), x[None])["params"]
    roi = jnp.zeros((SIZE, SIZE)).at[3:9, 5:12].set(1.0)
    return model, params, x, roi


def test_foreground_and_background_scores(setup):
    model, params, x, roi = setup
    apply_fn = sx.linen_apply_fn(model)
    z = apply_fn(params, x)[..., 0]
    fg, bg = sx.binary_target(roi), sx.binary_target(roi, foreground=False)
    np.testing.assert_allclose(
        sx.target_score(apply_fn(params, x), fg), (z * roi).sum(), rtol=1e-6
    )
    np.testing.assert_allclose(
        sx.target_score(apply_fn(params, x), bg), -(z * roi).sum(), rtol=1e-6
    )
    probability = sx.target_score(apply_fn(params, x), bg, space="sigmoid")
    np.testing.assert_allclose(
        probability, ((1 - jax.nn.sigmoid(z)) * roi).sum(), rtol=1e-5
    )


def test_background_cam_is_the_negated_foreground_cam(setup):
    model, params, x, roi = setup
    probe = sx.make_probe(model, "conv2", input_shape=x.shape)
    cam = jax.jit(sx.seg_grad_cam(probe, relu=False))
    fg = cam(None, params, x, sx.binary_target(roi))
    bg = cam(None, params, x, sx.binary_target(roi, foreground=False))
    assert float(jnp.abs(fg).max()) > 0
    np.testing.assert_allclose(bg, -fg, rtol=1e-6, atol=1e-7)
    gradient = jax.jit(sx.vanilla_gradient(sx.linen_apply_fn(model)))
    np.testing.assert_allclose(
        gradient(None, params, x, sx.binary_target(roi, foreground=False)),
        -gradient(None, params, x, sx.binary_target(roi)),
        rtol=1e-6,
    )


def test_kind_and_model_must_agree(setup):
    model, params, x, roi = setup
    apply_fn = sx.linen_apply_fn(model)
    with pytest.raises(ValueError, match="K = 1"):
        sx.vanilla_gradient(apply_fn)(None, params, x, sx.make_target(0, roi))
    three = nn.Conv(3, (1, 1))
    w3 = three.init(jax.random.key(0), x[None])["params"]
    with pytest.raises(ValueError, match="K = 3"):
        sx.vanilla_gradient(sx.linen_apply_fn(three))(
            None, w3, x, sx.binary_target(roi)
        )
    with pytest.raises(TypeError, match="foreground"):
        sx.binary_target(roi, foreground=1)


def test_every_instance_in_one_vmapped_call(setup):
    model, params, x, _ = setup
    instances = np.zeros((SIZE, SIZE), int)
    instances[1:4, 1:4], instances[8:14, 2:6], instances[5:7, 10:15] = 3, 1, 7
    targets = sx.instance_targets(instances, binary=True)
    assert targets.kind == "binary" and targets.mask.shape == (3, SIZE, SIZE)
    probe = sx.make_probe(model, "conv1", input_shape=x.shape)
    many = jax.jit(sx.explain_targets(sx.seg_grad_cam(probe)))(None, params, x, targets)
    for i in range(3):
        one = sx.seg_grad_cam(probe)(
            None, params, x, jax.tree_util.tree_map(lambda a, i=i: a[i], targets)
        )
        np.testing.assert_allclose(many[i], one, rtol=1e-5, atol=1e-6)
    # Connected components of a predicted mask give the same objects.
    components = sx.component_targets(instances > 0, 1, binary=True)
    assert components.mask.shape[0] == 3


def test_gradients_match_finite_differences_in_both_spaces(setup):
    from _fd import directional_fd, inner, random_like

    model, params, x, roi = setup
    apply_fn = sx.linen_apply_fn(model)
    direction = random_like(x, 5)
    for space in ("logits", "sigmoid"):
        target = sx.binary_target(roi, foreground=False)
        explain = sx.vanilla_gradient(apply_fn, score_space=space)
        gradient = jax.jit(explain)(None, params, x, target)

        def score(z, space=space, target=target):
            return sx.target_score(apply_fn(params, z), target, space=space)

        fd = directional_fd(score, x, direction)
        assert inner(gradient, direction) == pytest.approx(fd, rel=1e-3, abs=1e-6)


def test_multi_label_sigmoid_scores():
    logits = jnp.asarray(np.random.default_rng(0).normal(size=(4, 4, 3)), jnp.float32)
    target = sx.make_target(2, jnp.ones((4, 4)))
    np.testing.assert_allclose(
        sx.target_score(logits, target, space="sigmoid"),
        jax.nn.sigmoid(logits[..., 2]).sum(),
        rtol=1e-6,
    )
