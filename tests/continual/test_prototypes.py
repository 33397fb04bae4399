"""Prototype replay: statistics, sampling, the loss, bytes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.continual import prototypes as pt
from segxai_jax.models import UNet, UNetConfig


def test_class_statistics_match_numpy():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(3, 5, 6, 4)).astype(np.float32)
    masks = rng.integers(0, 3, (3, 5, 6))
    masks[0, 0, 0] = 7  # outside [0, K): ignored
    mean, std, count = pt.class_statistics(jnp.asarray(features), jnp.asarray(masks), 4)
    for c in range(3):
        pixels = features[masks == c]
        np.testing.assert_allclose(mean[c], pixels.mean(0), atol=1e-5)
        np.testing.assert_allclose(std[c], pixels.std(0), atol=1e-4)
        assert count[c] == len(pixels)
    assert count[3] == 0 and float(jnp.abs(mean[3]).sum()) == 0.0


def test_samples_follow_the_stored_classes():
    state = pt.empty_prototypes(4, 2)
    mean = jnp.array([[0, 0], [10, -10], [0, 0], [-5, 5]], jnp.float32)
    std = jnp.array([[0, 0], [1, 2], [0, 0], [0.5, 0.5]], jnp.float32)
    state = pt.add_prototypes(state, mean, std, (1, 3))
    features, labels, valid = pt.sample_features(state, jax.random.key(0), 20000)
    assert bool(valid) and set(np.unique(labels)) == {1, 3}
    ones = np.asarray(features)[np.asarray(labels) == 1]
    np.testing.assert_allclose(ones.mean(0), [10, -10], atol=0.1)
    np.testing.assert_allclose(ones.std(0), [1, 2], atol=0.1)
    assert abs((np.asarray(labels) == 1).mean() - 0.5) < 0.02


def test_loss_is_zero_while_empty_and_trains_the_head():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (16, 16, 3), seed=0)
    empty = pt.empty_prototypes(3, 4)
    key = jax.random.key(1)
    assert float(pt.prototype_loss(pt.unet_head, params, empty, key, 64)) == 0.0
    mean = jnp.eye(3, 4) * 3.0
    state = pt.add_prototypes(empty, mean, jnp.full((3, 4), 0.1), (1, 2))
    loss = lambda p: pt.prototype_loss(pt.unet_head, p, state, key, 256)  # noqa: E731
    grads = jax.grad(loss)(params)
    assert float(jnp.abs(grads["head"]["kernel"]).sum()) > 0
    others = [v for k, v in grads.items() if k != "head"]
    assert all(float(jnp.abs(g).sum()) == 0 for g in jax.tree.leaves(others))
    # Oracle: the head on features is the 1x1 convolution of the model.
    features = jax.random.normal(key, (5, 4))
    kernel, bias = params["head"]["kernel"], params["head"]["bias"]
    expected = jnp.einsum("nc,ck->nk", features, kernel[0, 0]) + bias
    np.testing.assert_allclose(pt.unet_head(params, features), expected, atol=1e-6)


def test_bytes_and_bad_input():
    assert pt.prototype_bytes(8, 10) == 10 * 17 * 4
    with pytest.raises(ValueError, match="features, masks"):
        pt.class_statistics(jnp.zeros((2, 4, 4, 3)), jnp.zeros((2, 4, 5), int), 3)
    with pytest.raises(ValueError, match="channels"):
        pt.empty_prototypes(3, 0)


@pytest.mark.parametrize("bottleneck_head", [False, True])
def test_replayed_features_reach_the_logits_exactly(bottleneck_head):
    # Oracle: the replay's head on the stored layer's features gives the
    # model's logits pixel by pixel (with the coarse scores when present).
    config = UNetConfig(num_classes=3, widths=(4, 8), bottleneck_head=bottleneck_head)
    model = UNet(config)
    params = numpy_init(model, (8, 8, 3), seed=0)
    replay = pt.unet_prototype_replay(model, (8, 8, 3), samples=8)
    images = jax.random.normal(jax.random.key(2), (2, 8, 8, 3))
    features = replay.features(params, images)
    assert features.shape == (2, 8, 8, replay.channels)
    assert replay.channels == (4 + 8 if bottleneck_head else 4)
    logits = replay.head(params, features.reshape(-1, replay.channels))
    expected = model.apply({"params": params}, images).reshape(-1, 3)
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    head_only = pt.unet_prototype_replay(model, (8, 8, 3), scope="head")
    assert head_only.channels == 4 and head_only.head is pt.unet_head


def test_logit_scope_trains_both_heads_and_bad_scope_is_named():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8), bottleneck_head=True))
    params = numpy_init(model, (8, 8, 3), seed=0)
    replay = pt.unet_prototype_replay(model, (8, 8, 3), samples=64)
    state = pt.add_prototypes(
        pt.empty_prototypes(3, 12), jnp.ones((3, 12)), jnp.ones((3, 12)), (1,)
    )
    grads = jax.grad(lambda p: replay.loss(p, state, jax.random.key(0)))(params)
    for name in ("head", "bottleneck_head"):
        assert float(jnp.abs(grads[name]["kernel"]).sum()) > 0, name
    with pytest.raises(ValueError, match="scope"):
        pt.unet_prototype_replay(model, (8, 8, 3), scope="coarse")


def test_feature_drift_matches_its_formula_and_holds_the_anchor():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (8, 8, 3), seed=0)
    anchor = numpy_init(model, (8, 8, 3), seed=1)
    replay = pt.unet_prototype_replay(model, (8, 8, 3), distillation=2.0)
    images = jax.random.normal(jax.random.key(3), (2, 8, 8, 3))
    assert float(pt.feature_drift(replay.features, params, params, images)) == 0.0
    now = np.asarray(replay.features(params, images), np.float64)
    then = np.asarray(replay.features(anchor, images), np.float64)
    expected = np.sum((now - then) ** 2) / np.sum(then**2)
    drift = pt.feature_drift(replay.features, params, anchor, images)
    np.testing.assert_allclose(drift, expected, rtol=1e-5)
    grads = jax.grad(pt.feature_drift, argnums=2)(
        replay.features, params, anchor, images
    )
    assert all(float(jnp.abs(g).sum()) == 0 for g in jax.tree.leaves(grads))
    # The loss adds 2 x the drift once a prototype is stored, never before.
    key = jax.random.key(0)
    empty = pt.empty_prototypes(3, replay.channels)
    assert float(replay.loss(params, empty, key, images, anchor)) == 0.0
    state = pt.add_prototypes(empty, jnp.ones((3, 4)), jnp.ones((3, 4)), (1,))
    base = replay.loss(params, state, key)
    np.testing.assert_allclose(
        replay.loss(params, state, key, images, anchor), base + 2.0 * drift, rtol=1e-5
    )
    with pytest.raises(ValueError, match="distillation"):
        pt.unet_prototype_replay(model, (8, 8, 3), distillation=-1.0)
