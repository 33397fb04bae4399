"""Tests of Seg-Ablation-CAM, its partial deactivation and ablation effects."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.explainers.ablation import (
    ablation_region,
    ablation_weights,
    roi_share_at,
    seg_ablation_cam,
)
from segxai_jax.explainers.ablation_effects import ablation_effects, class_dice
from segxai_jax.models.unet import UNet, UNetConfig, unet_apply_fn
from segxai_jax.probes import make_probe
from segxai_jax.targets import box_roi, make_target, pixel_roi

SIZE = 16
KC = 6
KEY = jax.random.key(0)


def jit_weights(probe, params, x, target, **options):
    """``ablation_weights`` compiled as one program (faster than op-by-op)."""
    fn = lambda p, x, t: ablation_weights(probe, p, x, t, **options)  # noqa: E731
    return jax.jit(fn)(params, x, target)


def uniform_image(seed, shape=(SIZE, SIZE, 3)):
    return jnp.asarray(np.random.default_rng(seed).random(shape), jnp.float32)


class GapLinear(nn.Module):
    """Logits at every pixel: ``y = sum_k W[k, c] mean_uv(A^k) + b[c]``.

    ``A = relu(conv3x3(x))`` at half resolution is the probe "feat".
    """

    bias: float = -3.0

    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(KC, (3, 3), strides=(2, 2))(x))
        a = self.perturb("feat", a)
        y = nn.Dense(3, name="head", use_bias=False)(a.mean(axis=(1, 2))) + self.bias
        return jnp.broadcast_to(y[:, None, None, :], (*x.shape[:3], 3))


@pytest.fixture(scope="module")
def gap():
    model = GapLinear()
    x = uniform_image(1)
    params = numpy_init(model, x.shape, 2)
    probe = make_probe(model, "feat", input_shape=x.shape)
    a = np.asarray(probe.activations(params, x))
    head = np.asarray(params["head"]["kernel"])  # [KC, 3]
    return model, params, probe, x, a, head


@pytest.fixture(scope="module")
def unet():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), 3)
    x = uniform_image(4)
    target = make_target(1, box_roi((SIZE, SIZE), 4, 5, 6, 7))
    return model, params, x, target


def test_ablation_weights_exact_oracle(gap):
    _, params, probe, x, a, head = gap
    target = make_target(1, pixel_roi((SIZE, SIZE), 3, 4))  # S = y_1
    y = a.mean((0, 1)) @ head[:, 1] - 3.0
    assert y < 0  # so the two denominators differ in sign
    contribution = head[:, 1] * a.mean((0, 1))
    weights = jit_weights(probe, params, x, target, chunk_size=None)
    np.testing.assert_allclose(weights, contribution / abs(y), rtol=1e-4, atol=1e-7)
    signed = jit_weights(probe, params, x, target, denominator="signed")
    np.testing.assert_allclose(signed, contribution / y, rtol=1e-4, atol=1e-7)
    scaled = jit_weights(probe, params, x, target, mode="scale", scale=0.25)
    np.testing.assert_allclose(
        scaled, 0.75 * contribution / abs(y), rtol=1e-4, atol=1e-7
    )
    valued = jit_weights(probe, params, x, target, ablation_value=0.5)
    expected = head[:, 1] * (a.mean((0, 1)) - 0.5) / abs(y)
    np.testing.assert_allclose(valued, expected, rtol=1e-4, atol=1e-7)
    subset = jit_weights(probe, params, x, target, channels=[4, 1])
    np.testing.assert_allclose(
        subset, contribution[[4, 1]] / abs(y), rtol=1e-4, atol=1e-7
    )


def test_partial_deactivation_oracle(gap):
    _, params, probe, x, a, head = gap
    mask = box_roi((SIZE, SIZE), 0, 0, 5, 8)  # cells rows 0-2, cols 0-3 at 8x8
    target = make_target(2, mask)
    region = np.zeros((8, 8), np.float32)
    region[:3, :4] = 1.0
    np.testing.assert_array_equal(
        ablation_region(mask, (8, 8), region="foreground"), region
    )
    majority = ablation_region(mask, (8, 8), region="foreground", region_threshold=0.5)
    np.testing.assert_array_equal(majority[:2, :4], 1.0)
    np.testing.assert_array_equal(majority[2], 0.0)  # row 2 is half covered
    y = a.mean((0, 1)) @ head[:, 2] - 3.0
    score = abs(y * float(mask.sum()))  # S sums y over the ROI's pixels
    for name, cells in [("foreground", region), ("background", 1 - region)]:
        drop = head[:, 2] * (a * cells[..., None]).sum((0, 1)) / 64 * float(mask.sum())
        weights = jit_weights(probe, params, x, target, region=name)
        np.testing.assert_allclose(weights, drop / score, rtol=1e-4, atol=1e-5)


def test_roi_share_at_resolutions():
    mask = box_roi((8, 8), 0, 0, 3, 2)
    share = roi_share_at(mask, (4, 4))
    np.testing.assert_allclose(share[:2, 0], [1.0, 0.5])
    np.testing.assert_array_equal(roi_share_at(mask, (16, 16))[::2, ::2], mask)
    assert roi_share_at(mask, (3, 3)).shape == (3, 3)
    one_pixel = ablation_region(pixel_roi((16, 16), 9, 2), (2, 2), region="foreground")
    np.testing.assert_array_equal(one_pixel, [[0.0, 0.0], [1.0, 0.0]])


def test_map_is_relu_of_weighted_channels_jit_equals_eager(gap):
    _, params, probe, x, a, _ = gap
    target = make_target(0, pixel_roi((SIZE, SIZE), 7, 7))
    weights = np.asarray(ablation_weights(probe, params, x, target))
    coarse = seg_ablation_cam(probe, output_size=None)(KEY, params, x, target)
    np.testing.assert_allclose(coarse, np.maximum(a @ weights, 0), rtol=1e-4, atol=1e-6)
    explain = seg_ablation_cam(probe)
    full = explain(KEY, params, x, target)
    jitted = jax.jit(explain)(KEY, params, x, target)
    np.testing.assert_allclose(jitted, full, rtol=1e-5, atol=1e-7)
    resized = jax.image.resize(jnp.maximum(a @ weights, 0), (SIZE, SIZE), "bilinear")
    np.testing.assert_allclose(full, resized, rtol=1e-4, atol=1e-6)


def test_effects_foreground_plus_background_is_full(gap):
    _, params, probe, x, a, head = gap
    target = make_target(1, box_roi((SIZE, SIZE), 2, 2, 6, 6))
    effects = jax.jit(lambda p, x, t: ablation_effects(probe, p, x, t, chunk_size=4))(
        params, x, target
    )
    fg, bg = effects["foreground"], effects["background"]
    full = float(target.mask.sum()) * head[:, 1] @ a.mean((0, 1))
    # The head is linear in the mean activation, so the two drops add up.
    np.testing.assert_allclose(fg.score_drop + bg.score_drop, full, rtol=1e-4)
    np.testing.assert_allclose(
        fg.channel_score_drop.sum() + bg.channel_score_drop.sum(), full, rtol=1e-4
    )
    assert fg.channel_score_drop.shape == (KC,) and fg.channel_dice.shape == (KC,)
    np.testing.assert_allclose(fg.region_fraction + bg.region_fraction, 1.0)
    assert np.all((fg.channel_dice >= 0) & (fg.channel_dice <= 1))
    unchanged = jax.jit(
        lambda p, x, t: ablation_effects(probe, p, x, t, mode="scale", scale=1.0)
    )(params, x, target)
    np.testing.assert_allclose(unchanged["foreground"].score_drop, 0.0, atol=1e-4)
    np.testing.assert_array_equal(unchanged["background"].channel_dice, 1.0)


def test_class_dice():
    a = jnp.array([[1, 1], [0, 2]])
    b = jnp.array([[1, 0], [1, 2]])
    np.testing.assert_allclose(class_dice(a, b, 1), 2 * 1 / (2 + 2))
    np.testing.assert_allclose(class_dice(a, b, 2), 1.0)
    np.testing.assert_allclose(class_dice(a, b, 5), 1.0)  # absent from both


def test_prefix_runs_once_cost_analysis(unet):
    model, params, x, target = unet
    probe = make_probe(model, "dec0", input_shape=x.shape)
    num_channels = probe.activation_shape[-1]

    def flops(fn):
        cost = jax.jit(fn).lower(params, x, target).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return float(cost["flops"])

    forward = flops(lambda p, x, t: unet_apply_fn(model)(p, x))
    # "unroll": XLA's cost analysis counts a loop body once, so lax_map would
    # pass trivially; unrolled chunks show that the prefix is shared (CSE).
    for chunk_size in (None, 2):
        sweep = flops(
            lambda p, x, t, c=chunk_size: ablation_weights(
                probe, p, x, t, chunk_size=c, strategy="unroll"
            )
        )
        assert sweep < 0.5 * num_channels * forward, (sweep, forward)


def test_jit_vmap_chunks_and_traces(unet):
    model, params, x, target = unet
    probe = make_probe(model, "bottleneck", input_shape=x.shape)
    explain = seg_ablation_cam(probe, chunk_size=3)
    traced = jax.jit(chex.assert_max_traces(explain, n=1))
    reference = traced(KEY, params, x, target)
    assert reference.shape == (SIZE, SIZE) and float(reference.max()) > 0
    traced(KEY, params, x[:, ::-1], target)  # new values, no new trace
    for chunk_size, strategy in [(None, "unroll"), (2, "lax_map")]:
        other = seg_ablation_cam(probe, chunk_size=chunk_size, strategy=strategy)
        np.testing.assert_allclose(
            jax.jit(other)(KEY, params, x, target), reference, rtol=1e-4, atol=1e-6
        )
    targets = make_target(jnp.array([1, 2]), jnp.stack([target.mask, 1 - target.mask]))
    batched = jax.jit(jax.vmap(explain, in_axes=(None, None, None, 0)))(
        KEY, params, x, targets
    )
    for i in range(2):
        t = make_target(targets.class_id[i], targets.mask[i])
        np.testing.assert_allclose(
            batched[i], traced(KEY, params, x, t), rtol=1e-4, atol=1e-6
        )


def test_bad_inputs(gap, unet):
    _, params, probe, x, _, _ = gap
    target = make_target(1, pixel_roi((SIZE, SIZE), 3, 4))
    for kwargs, name in [
        ({"region": "edges"}, "region"),
        ({"mode": "noise"}, "mode"),
        ({"denominator": "max"}, "denominator"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"strategy": "scan"}, "strategy"),
        ({"region_threshold": 1.0}, "region_threshold"),
        ({"score_reduction": "max"}, "score_reduction"),
        ({"order": "x"}, "order"),
        ({"output_size": "small"}, "output_size"),
    ]:
        with pytest.raises(ValueError, match=name):
            seg_ablation_cam(probe, **kwargs)
    with pytest.raises(ValueError, match="channels"):
        seg_ablation_cam(probe, channels=[KC])(KEY, params, x, target)
    explain = seg_ablation_cam(probe)
    with pytest.raises(ValueError, match="x"):
        explain(KEY, params, x.at[1, 2, 0].set(jnp.inf), target)
    with pytest.raises(ValueError, match="mask"):
        explain(KEY, params, x, make_target(1, jnp.zeros((SIZE, SIZE))))
    with pytest.raises(ValueError, match="class_id"):
        explain(KEY, params, x, make_target(-1, target.mask))
    # A one-pixel ROI covers no probe cell by majority: an empty region.
    majority = seg_ablation_cam(probe, region="foreground", region_threshold=0.5)
    with pytest.raises(ValueError, match="region"):
        majority(KEY, params, x, target)
    whole = make_target(1, jnp.ones((SIZE, SIZE)))
    with pytest.raises(ValueError, match="region"):
        seg_ablation_cam(probe, region="background")(KEY, params, x, whole)
    with pytest.raises(ValueError, match="regions"):
        ablation_effects(probe, params, x, target, regions="foreground")
    model = unet[0]
    with pytest.raises(ValueError, match="enc9"):
        make_probe(model, "enc9", input_shape=(SIZE, SIZE, 3))
