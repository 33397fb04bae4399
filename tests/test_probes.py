"""Tests of probes: reading and replacing a layer's activations from outside."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.models.unet import UNet, UNetConfig, unet_apply_fn
from segxai_jax.probes import make_probe, probe_points

SIZE = 16


class Block(nn.Module):
    @nn.compact
    def __call__(self, x):
        return self.perturb("out", nn.relu(nn.Conv(4, (3, 3))(x)))


class Nested(nn.Module):
    """Probe points inside submodules (auto-named and named) and at the top."""

    @nn.compact
    def __call__(self, x):
        h = Block()(x)
        h = self.perturb("mid", h * 2.0)
        h = Block(name="second")(h)
        return nn.Conv(3, (1, 1), name="head")(h)


@pytest.fixture(scope="module")
def unet():
    config = UNetConfig(num_classes=3, widths=(4, 8, 16))
    model = UNet(config)
    params = numpy_init(model, (SIZE, SIZE, 3), 0)
    x = jnp.asarray(np.random.default_rng(1).random((SIZE, SIZE, 3)), jnp.float32)
    return config, model, params, x


@pytest.fixture(scope="module")
def nested():
    model = Nested()
    params = numpy_init(model, (SIZE, SIZE, 3), 2)
    x = jnp.asarray(np.random.default_rng(3).random((SIZE, SIZE, 3)), jnp.float32)
    return model, params, x


def test_probe_points_of_the_unet(unet):
    config, model, _, _ = unet
    points = probe_points(model, (SIZE, SIZE, 3))
    assert [n for n in points if n in config.probe_names] == list(config.probe_names)
    probe = make_probe(model, "dec1", input_shape=(SIZE, SIZE, 3))
    assert probe.activation_shape == (SIZE // 2, SIZE // 2, 8)
    assert "dec1" in repr(probe)


def test_probe_points_of_nested_submodules(nested):
    model, params, x = nested
    points = probe_points(model, x.shape)
    assert [n for n in points if "out" in n or n == "mid"] == [
        "Block_0/out",
        "mid",
        "second/out",
    ]
    probe = make_probe(model, "second/out", input_shape=x.shape)
    plain = model.apply({"params": params}, x[None])[0]
    np.testing.assert_allclose(probe.apply_with_edit(params, x, lambda a: a), plain)
    # Replacing the last activation by zeros leaves only the head's bias.
    zeroed = probe.apply_with_edit(params, x, jnp.zeros_like)
    np.testing.assert_allclose(
        zeroed, jnp.broadcast_to(params["head"]["bias"], plain.shape), atol=1e-7
    )
    # The gradient with respect to a zero delta is dS/dA = head weights.
    grad = jax.grad(lambda d: probe.apply_with_delta(params, x, d)[..., 1].sum())(
        jnp.zeros(probe.activation_shape)
    )
    head = params["head"]["kernel"][0, 0, :, 1]
    np.testing.assert_allclose(grad, jnp.broadcast_to(head, grad.shape), rtol=1e-6)
    # An edit at "mid" changes what flows into the second block.
    mid = make_probe(model, "mid", input_shape=x.shape)
    doubled = mid.apply_with_edit(params, x, lambda a: 2 * a)
    assert not np.allclose(doubled, plain)


def test_identity_edit_and_first_stage_by_hand(unet):
    _, model, params, x = unet
    plain = unet_apply_fn(model)(params, x)
    for name in ("enc0", "bottleneck", "dec0"):
        probe = make_probe(model, name, input_shape=x.shape)
        logits, _ = probe.forward(params, x, lambda a: a)
        np.testing.assert_allclose(logits, plain, rtol=1e-6, atol=1e-6)
        delta = jnp.zeros(probe.activation_shape)
        np.testing.assert_allclose(
            probe.apply_with_delta(params, x, delta), plain, rtol=1e-6, atol=1e-6
        )
    # By hand on a U-Net without normalisation: conv, ReLU, conv, ReLU.
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8), norm="none"))
    params = numpy_init(model, x.shape, 5)
    h = x[None]
    for j in range(2):
        conv = params[f"enc0_conv{j}"]
        h = jax.lax.conv_general_dilated(
            h,
            conv["kernel"],
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        h = jax.nn.relu(h + conv["bias"])
    activations = make_probe(model, "enc0", input_shape=x.shape).activations(params, x)
    np.testing.assert_allclose(activations, h[0], rtol=1e-5, atol=1e-6)


def test_prefix_runs_once_under_vmap(unet):
    _, model, params, x = unet
    probe = make_probe(model, "dec0", input_shape=x.shape)
    num_edits = 8

    def flops(fn, *args):
        cost = jax.jit(fn).lower(*args).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return float(cost["flops"])

    forward = flops(unet_apply_fn(model), params, x)
    deltas = jnp.zeros((num_edits, *probe.activation_shape))
    sweep = flops(
        lambda p, x, d: jax.vmap(lambda di: probe.apply_with_delta(p, x, di))(d),
        params,
        x,
        deltas,
    )
    assert sweep < 0.5 * num_edits * forward, (sweep, forward)


def test_bad_inputs(unet, nested):
    _, model, params, x = unet
    with pytest.raises(ValueError, match=r"name: 'enc5'.*nearest.*enc1"):
        make_probe(model, "enc5", input_shape=x.shape)
    with pytest.raises(ValueError, match="Block_0/out"):
        make_probe(nested[0], "Block_0/ou", input_shape=x.shape)
    probe = make_probe(model, "enc0", input_shape=x.shape)
    with pytest.raises(ValueError, match="x"):
        probe.activations(params, x[None])


def test_subpackages_are_reachable_after_one_import():
    import segxai_jax as sx

    for name in ("metrics", "attacks", "nas", "continual", "data", "training"):
        assert getattr(sx, name).__name__ == f"segxai_jax.{name}"
    with pytest.raises(AttributeError, match="no attribute"):
        sx.not_a_module  # noqa: B018


class TupleInput(nn.Module):
    """A model whose one argument is a tuple of two arrays."""

    @nn.compact
    def __call__(self, inputs):
        rgb, depth = inputs
        h = nn.relu(nn.Conv(4, (3, 3), name="stem")(jnp.concatenate([rgb, depth], -1)))
        return nn.Conv(3, (1, 1), name="head")(h)


def test_tuple_inputs_and_their_checks():
    model = TupleInput()
    shapes = ((SIZE, SIZE, 3), (SIZE, SIZE, 1))
    assert probe_points(model, shapes)["stem"] == (SIZE, SIZE, 4)
    probe = make_probe(model, "stem", input_shape=shapes)
    x = (jnp.ones((SIZE, SIZE, 3)), jnp.ones((SIZE, SIZE, 1)))
    variables = model.init(jax.random.key(0), tuple(a[None] for a in x))
    assert probe.activations(variables["params"], x).shape == (SIZE, SIZE, 4)
    with pytest.raises(ValueError, match="structured like"):
        probe.activations(variables["params"], x[0])
    with pytest.raises(ValueError, match="no batch axis"):
        probe.activations(variables["params"], (x[0][None], x[1]))
