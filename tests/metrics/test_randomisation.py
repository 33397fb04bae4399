"""Model parameter randomisation: tree structure, determinism, similarities."""

import doctest
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.explainers.gradients import vanilla_gradient
from segxai_jax.metrics import randomisation
from segxai_jax.metrics.randomisation import (
    parameter_randomisation,
    randomise_params,
    unet_layer_groups,
)
from segxai_jax.metrics.similarity import pearson, spearman
from segxai_jax.models.unet import UNet, UNetConfig, unet_apply_fn
from segxai_jax.targets import make_target

SIZE = 8
KEY = jax.random.key(0)
GROUPS = ("out", ("hidden", "hidden_bias"), "inp")  # top-down


def pixel_mlp_params(seed):
    rng = np.random.default_rng(seed)

    def draw(*shape):
        return jnp.asarray(rng.normal(size=shape) / np.sqrt(shape[0]), jnp.float32)

    return {
        "inp": {"kernel": draw(3, 6), "bias": draw(6)},
        "hidden": {"kernel": draw(6, 6)},
        "hidden_bias": {"bias": draw(6)},
        "out": {"kernel": draw(6, 3)},
    }


def pixel_mlp(params, x):  # [H, W, 3] -> [H, W, 3], a per-pixel MLP
    h = jnp.tanh(x @ params["inp"]["kernel"] + params["inp"]["bias"])
    h = jnp.tanh(h @ params["hidden"]["kernel"] + params["hidden_bias"]["bias"])
    return h @ params["out"]["kernel"]


EXPLAIN = vanilla_gradient(pixel_mlp, channel_reduction="sum")
IMAGE = jnp.asarray(np.random.default_rng(1).random((SIZE, SIZE, 3)), jnp.float32)
# The whole image: a per-pixel model's gradient is zero outside the ROI, and
# that shared zero pattern would correlate any two explanations.
TARGET = make_target(1, jnp.ones((SIZE, SIZE)))


def changed_layers(tree, params):
    return {
        name
        for name in params
        if not all(
            np.array_equal(a, b)
            for a, b in zip(
                jax.tree.leaves(tree[name]), jax.tree.leaves(params[name]), strict=True
            )
        )
    }


def test_cascading_and_independent_trees():
    params = pixel_mlp_params(0)
    cascading = randomise_params(KEY, params, GROUPS)
    independent = randomise_params(KEY, params, GROUPS, mode="independent")
    assert len(cascading) == len(independent) == 3
    assert [changed_layers(t, params) for t in cascading] == [
        {"out"},
        {"out", "hidden", "hidden_bias"},
        {"out", "hidden", "hidden_bias", "inp"},
    ]
    assert [changed_layers(t, params) for t in independent] == [
        {"out"},
        {"hidden", "hidden_bias"},
        {"inp"},
    ]
    for i, group in enumerate([("out",), GROUPS[1], ("inp",)]):
        for name in group:  # a group's draw is the same in both modes
            chex_equal = jax.tree.map(
                np.array_equal, independent[i][name], cascading[i][name]
            )
            assert all(jax.tree.leaves(chex_equal))
    for tree in cascading:
        assert jax.tree.structure(tree) == jax.tree.structure(params)


def test_same_key_same_trees_and_identity_init():
    params = pixel_mlp_params(0)
    first = randomise_params(KEY, params, GROUPS)
    again = randomise_params(KEY, params, GROUPS)
    other = randomise_params(jax.random.key(1), params, GROUPS)
    assert all(jax.tree.leaves(jax.tree.map(np.array_equal, first, again)))
    assert not np.array_equal(first[0]["out"]["kernel"], other[0]["out"]["kernel"])
    identity = randomise_params(KEY, params, GROUPS, init_fn=lambda key, leaf: leaf)
    assert all(changed_layers(t, params) == set() for t in identity)


def test_default_redraw_keeps_the_scale_and_removes_the_mean():
    leaf = 0.3 * jax.random.normal(jax.random.key(2), (64, 64)) + 0.1
    params = {"big": {"kernel": leaf}, "zero": {"bias": jnp.zeros(5)}}
    (tree,) = randomise_params(KEY, params, [("big", "zero")])
    drawn = tree["big"]["kernel"]
    rms = float(jnp.sqrt(jnp.mean(leaf**2)))
    assert drawn.shape == leaf.shape and drawn.dtype == leaf.dtype
    assert float(jnp.sqrt(jnp.mean(drawn**2))) == pytest.approx(rms, rel=0.05)
    assert abs(float(jnp.mean(drawn))) < 0.02  # the learned mean is gone
    assert abs(float(jnp.corrcoef(drawn.ravel(), leaf.ravel())[0, 1])) < 0.05
    np.testing.assert_array_equal(tree["zero"]["bias"], 0.0)


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_similarity_is_one_for_identical_params_and_drops_after(mode):
    params = pixel_mlp_params(0)
    run = functools.partial(
        parameter_randomisation,
        EXPLAIN,
        pearson,
        layer_names_top_down=GROUPS,
        mode=mode,
    )
    same = run(KEY, params, IMAGE, TARGET, init_fn=lambda key, leaf: leaf)
    np.testing.assert_allclose(same, 1.0, atol=1e-6)
    randomised = run(KEY, params, IMAGE, TARGET)
    assert randomised.shape == (3,)
    assert np.all(np.asarray(randomised) < 0.9), randomised
    jitted = jax.jit(run)(KEY, params, IMAGE, TARGET)
    np.testing.assert_allclose(jitted, randomised, rtol=1e-5, atol=1e-6)
    chunked = run(KEY, params, IMAGE, TARGET, chunk_size=2)
    np.testing.assert_allclose(chunked, randomised, rtol=1e-5, atol=1e-6)


def test_unet_layer_groups_cover_every_parameter_top_down():
    config = UNetConfig(
        num_classes=3,
        widths=(4, 8, 8),
        blocks_per_stage=(1, 2, 1, 2, 1),
        norm="group",
        bottleneck_head=True,
    )
    spec = jax.ShapeDtypeStruct((1, SIZE, SIZE, 3), jnp.float32)
    names = set(jax.eval_shape(UNet(config).init, KEY, spec)["params"])
    by_conv = unet_layer_groups(config, granularity="conv")
    by_stage = unet_layer_groups(config)
    for groups in (by_conv, by_stage):
        flat = [name for group in groups for name in group]
        assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))
    assert by_stage[:2] == (("head",), ("bottleneck_head",))
    assert by_stage[2] == ("dec0_conv0", "dec0_norm0", "dec0_up")
    assert by_stage[3] == (
        "dec1_conv1",
        "dec1_norm1",
        "dec1_conv0",
        "dec1_norm0",
        "dec1_up",
    )
    assert by_stage[-1] == ("enc0_conv0", "enc0_norm0")
    assert [g[0] for g in by_stage[2:]] == [
        "dec0_conv0",
        "dec1_conv1",
        "bottleneck_conv0",
        "enc1_conv1",
        "enc0_conv0",
    ]
    assert by_conv[2:5] == (
        ("dec0_conv0", "dec0_norm0"),
        ("dec0_up",),
        ("dec1_conv1", "dec1_norm1"),
    )


def test_unet_explanations_change_when_randomised():
    config = UNetConfig(num_classes=3, widths=(4, 8))
    model = UNet(config)
    params = numpy_init(model, (SIZE, SIZE, 3), 5)
    explain = vanilla_gradient(unet_apply_fn(model), channel_reduction="abs_sum")
    groups = unet_layer_groups(config)
    assert [g[0] for g in groups] == [
        "head",
        "dec0_conv1",
        "bottleneck_conv1",
        "enc0_conv1",
    ]
    similarities = parameter_randomisation(
        explain,
        spearman,
        KEY,
        params,
        IMAGE,
        TARGET,
        layer_names_top_down=groups,
    )
    assert similarities.shape == (4,) and np.all(np.isfinite(similarities))
    assert np.all(np.asarray(similarities) < 0.99), similarities


def test_bad_arguments_name_the_argument():
    params = pixel_mlp_params(0)
    with pytest.raises(ValueError, match="layer_names_top_down: 'conv9' is not"):
        randomise_params(KEY, params, ["out", "conv9"])
    with pytest.raises(ValueError, match="layer_names_top_down: 'out' appears"):
        randomise_params(KEY, params, ["out", ("inp", "out")])
    with pytest.raises(ValueError, match="layer_names_top_down"):
        randomise_params(KEY, params, [])
    with pytest.raises(ValueError, match="layer_names_top_down"):
        randomise_params(KEY, params, "out")
    with pytest.raises(ValueError, match="mode"):
        randomise_params(KEY, params, GROUPS, mode="successive")
    with pytest.raises(ValueError, match="init_fn"):
        randomise_params(KEY, params, GROUPS, init_fn=lambda key, leaf: leaf[:1])
    with pytest.raises(ValueError, match="granularity"):
        unet_layer_groups(UNetConfig(), granularity="block")
    with pytest.raises(ValueError, match="chunk_size"):
        parameter_randomisation(
            EXPLAIN,
            pearson,
            KEY,
            params,
            IMAGE,
            TARGET,
            layer_names_top_down=GROUPS,
            chunk_size=0,
        )
    with pytest.raises(ValueError, match="target.mask"):
        parameter_randomisation(
            EXPLAIN,
            pearson,
            KEY,
            params,
            IMAGE,
            make_target(0, jnp.zeros((SIZE, SIZE))),
            layer_names_top_down=GROUPS,
        )


def test_docstring_examples():
    assert doctest.testmod(randomisation, raise_on_error=False).failed == 0
