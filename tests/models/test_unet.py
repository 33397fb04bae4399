"""U-Net: shapes, probe points, swappable activation, analytic counts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.models import (
    UNetConfig,
    conv_specs,
    count_flops,
    count_params,
    depth_to_space_2x2,
    init_unet,
    max_pool_2x2,
    softplus_with_beta,
    unet_apply_fn,
)
from segxai_jax.models.unet import standardize_per_image
from segxai_jax.probes import probe_points

TINY = UNetConfig(num_classes=3, widths=(4, 8, 16), blocks_per_stage=(1, 2, 1, 2, 1))


@pytest.fixture(scope="module")
def tiny():
    return init_unet(jax.random.key(0), TINY, image_size=16)


def test_output_shape_and_probe_points(tiny):
    model, params = tiny
    x = jnp.zeros((2, 16, 16, 3))
    assert model.apply({"params": params}, x).shape == (2, 16, 16, 3)
    points = probe_points(model, (16, 16, 3))
    assert [n for n in points if n in TINY.probe_names] == list(TINY.probe_names)
    assert TINY.probe_names == ("enc0", "enc1", "bottleneck", "dec1", "dec0")


@pytest.mark.parametrize(
    "config",
    [
        TINY,
        UNetConfig(num_classes=11, widths=(16, 32, 64, 128)),
        UNetConfig(
            num_classes=5, widths=(3, 5), kernel_size=5, in_channels=1, norm="none"
        ),
    ],
)
def test_param_count_matches_parameter_tree(config):
    model, params = init_unet(jax.random.key(0), config, image_size=16)
    assert count_params(config) == sum(leaf.size for leaf in jax.tree.leaves(params))
    names = {spec.name for spec in conv_specs(config)}
    assert names == {name for name in params if "_norm" not in name}


def _traced_conv_flops(model, params, x):
    """2 x multiply-accumulates of every convolution in the traced program."""
    jaxpr = jax.make_jaxpr(lambda p: model.apply({"params": p}, x))(params)
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "pjit":  # nested jit
            raise AssertionError("unexpected nested jit")
        if eqn.primitive.name == "conv_general_dilated":
            out = eqn.outvars[0].aval.shape  # [B, H, W, O]
            kernel = eqn.invars[1].aval.shape  # [kh, kw, I, O]
            total += 2 * np.prod(out) * np.prod(kernel[:3])
    return total


@pytest.mark.parametrize(("kernel_size", "head"), [(1, False), (3, True)])
def test_flop_count_matches_traced_convolutions(kernel_size, head):
    config = UNetConfig(
        num_classes=3, widths=(4, 8, 16), kernel_size=kernel_size, bottleneck_head=head
    )
    model, params = init_unet(jax.random.key(0), config, image_size=16)
    x = jnp.zeros((1, 16, 24, 3))
    assert count_flops(config, height=16, width=24) == _traced_conv_flops(
        model, params, x
    )


def test_reference_unet_size():
    config = UNetConfig(num_classes=11, widths=(16, 32, 64, 128), norm="none")
    assert count_params(config) == 482_539


def test_max_pool_matches_reduce_window():
    x = jax.random.normal(jax.random.key(0), (2, 8, 6, 3))
    expected = jax.lax.reduce_window(
        x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
    )
    np.testing.assert_array_equal(max_pool_2x2(x), expected)


def test_depth_to_space_equals_stride2_transposed_conv():
    key_x, key_w = jax.random.split(jax.random.key(0))
    x = jax.random.normal(key_x, (1, 3, 4, 2))
    kernel = jax.random.normal(key_w, (2, 2, 2, 5))  # [dy, dx, in, out]
    # A 1x1 conv to 4*C channels ordered (dy, dx, c) then depth-to-space.
    as_1x1 = jnp.einsum("bhwi,yxio->bhwyxo", x, kernel).reshape(1, 3, 4, 20)
    ours = depth_to_space_2x2(as_1x1)
    expected = jnp.zeros((1, 6, 8, 5))
    for dy in range(2):
        for dx in range(2):
            expected = expected.at[:, dy::2, dx::2].set(
                jnp.einsum("bhwi,io->bhwo", x, kernel[dy, dx])
            )
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)


def test_softplus_override_changes_activation_and_tends_to_relu(tiny):
    model, params = tiny
    x = jax.random.uniform(jax.random.key(1), (1, 16, 16, 3))
    relu_out = model.apply({"params": params}, x)
    smooth = model.apply({"params": params}, x, softplus_beta=5.0)
    sharp = model.apply({"params": params}, x, softplus_beta=1e4)
    assert not np.allclose(relu_out, smooth, atol=1e-3)
    np.testing.assert_allclose(relu_out, sharp, atol=2e-3)
    z = jnp.linspace(-3, 3, 7)
    np.testing.assert_allclose(
        softplus_with_beta(z, 2.0), np.log1p(np.exp(2 * np.asarray(z))) / 2, rtol=1e-5
    )


def test_apply_fn_single_image_contract(tiny):
    model, params = tiny
    x = jax.random.uniform(jax.random.key(2), (16, 16, 3))
    logits = unet_apply_fn(model)(params, x)
    assert logits.shape == (16, 16, 3)
    np.testing.assert_array_equal(logits, model.apply({"params": params}, x[None])[0])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"num_classes": 1}, "num_classes"),
        ({"widths": (8,)}, "widths"),
        ({"blocks_per_stage": (1, 2)}, "blocks_per_stage"),
        ({"kernel_size": 2}, "kernel_size"),
        ({"activation": "gelu"}, "activation"),
        ({"softplus_beta": 0.0}, "softplus_beta"),
        ({"norm": "batch"}, "norm"),
        ({"input_norm": "batch"}, "input_norm"),
        ({"widths": (4, 6), "norm": "group"}, "widths"),
    ],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        UNetConfig(**kwargs)


def test_bad_input_shape_is_a_clear_error(tiny):
    model, params = tiny
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 4"):
        model.apply({"params": params}, jnp.zeros((1, 18, 16, 3)))
    with pytest.raises(ValueError, match="expected images"):
        model.apply({"params": params}, jnp.zeros((16, 16, 3)))


def test_bottleneck_head_adds_upsampled_coarse_scores():
    config = UNetConfig(num_classes=3, widths=(4, 8), bottleneck_head=True)
    model, params = init_unet(jax.random.key(3), config, image_size=8)
    x = jax.random.uniform(jax.random.key(4), (1, 8, 8, 3))
    with_head = model.apply({"params": params}, x)
    zeroed = jax.tree_util.tree_map_with_path(
        lambda path, v: v * 0 if "bottleneck_head" in jax.tree_util.keystr(path) else v,
        params,
    )
    without = model.apply({"params": zeroed}, x)
    difference = np.asarray(with_head - without)[0]  # constant on 2x2 blocks
    np.testing.assert_allclose(
        difference[0::2, 0::2], difference[1::2, 1::2], atol=1e-6
    )
    assert np.abs(difference).max() > 0


def test_per_image_input_norm_is_finite_for_flat_channels_and_equals_std_formula():
    config = UNetConfig(num_classes=3, widths=(4, 8), input_norm="per_image")
    model, params = init_unet(jax.random.key(5), config, image_size=8)

    def input_gradient(x):
        return jax.grad(lambda x: model.apply({"params": params}, x).sum())(x)

    black = jnp.zeros((1, 8, 8, 3))
    one_colour = jnp.zeros((1, 8, 8, 3)).at[..., 0].set(jnp.linspace(0, 1, 8))
    for x in (black, one_colour):  # constant channels: d std = 0 / 0 without care
        assert np.all(np.isfinite(input_gradient(x)))
    x = jax.random.uniform(jax.random.key(6), (2, 8, 8, 3))
    mean = x.mean(axis=(1, 2), keepdims=True)
    expected = (x - mean) / (x.std(axis=(1, 2), keepdims=True) + 0.05)
    np.testing.assert_array_equal(standardize_per_image(x), expected)


def test_per_image_input_norm_is_invariant_to_brightness_offset():
    config = UNetConfig(num_classes=3, widths=(4, 8), input_norm="per_image")
    model, params = init_unet(jax.random.key(5), config, image_size=8)
    x = jax.random.uniform(jax.random.key(6), (1, 8, 8, 3)) * 0.5
    np.testing.assert_allclose(
        model.apply({"params": params}, x),
        model.apply({"params": params}, x + 0.3),
        rtol=1e-4,
        atol=1e-4,
    )
