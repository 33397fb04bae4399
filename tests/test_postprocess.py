"""Optional post-processing of saliency maps."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import segxai_jax.postprocess as pp


@pytest.fixture(scope="module")
def saliency():
    return jax.random.normal(jax.random.key(0), (12, 10))


@pytest.mark.parametrize(
    "method, oracle",
    [
        ("abs_sum", lambda a: np.abs(a).sum(-1)),
        ("abs_max", lambda a: np.abs(a).max(-1)),
        ("sum", lambda a: a.sum(-1)),
        ("l2", lambda a: np.sqrt((a**2).sum(-1))),
    ],
)
def test_reduce_channels_matches_numpy(method, oracle):
    attribution = jax.random.normal(jax.random.key(1), (6, 5, 3))
    np.testing.assert_allclose(
        pp.reduce_channels(attribution, method),
        oracle(np.asarray(attribution)),
        rtol=1e-6,
    )


def test_reduce_channels_none_is_raw_and_l2_has_finite_gradient_at_zero():
    attribution = jnp.zeros((4, 4, 3))
    assert pp.reduce_channels(attribution, None) is attribution
    grad = jax.grad(lambda a: pp.reduce_channels(a, "l2").sum())(attribution)
    assert np.all(np.isfinite(grad))


def test_reduce_channels_rejects_unknown_method_and_rank():
    with pytest.raises(ValueError, match="channel_reduction"):
        pp.reduce_channels(jnp.zeros((4, 4, 3)), "mean")
    with pytest.raises(ValueError, match="attribution"):
        pp.reduce_channels(jnp.zeros((4, 4)), "abs_sum")


def test_relu_and_min_max(saliency):
    assert float(pp.relu(saliency).min()) == 0.0
    scaled = pp.min_max(saliency)
    assert float(scaled.min()) == 0.0 and float(scaled.max()) == pytest.approx(1.0)
    np.testing.assert_allclose(
        scaled,
        (saliency - saliency.min()) / (saliency.max() - saliency.min()),
        rtol=1e-6,
    )


def test_constant_map_gives_zeros_without_nan_also_in_gradients():
    constant = jnp.full((5, 5), 3.0)
    np.testing.assert_array_equal(pp.min_max(constant), np.zeros((5, 5)))
    np.testing.assert_array_equal(pp.normalize_sum(jnp.zeros((5, 5))), np.zeros((5, 5)))
    for fn, at in ((pp.min_max, constant), (pp.normalize_sum, jnp.zeros((5, 5)))):
        assert np.all(np.isfinite(jax.grad(lambda m, fn=fn: fn(m).sum())(at)))


def test_normalize_sum_sums_absolute_values_to_one(saliency):
    out = pp.normalize_sum(saliency)
    assert float(jnp.abs(out).sum()) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(out * jnp.abs(saliency).sum(), saliency, rtol=1e-5)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.25, 0.5, 1.0])
def test_top_k_mask_keeps_exactly_the_most_salient(saliency, fraction):
    mask = np.asarray(pp.top_k_mask(saliency, fraction))
    keep = int(np.ceil(fraction * saliency.size))
    assert mask.shape == saliency.shape and mask.sum() == keep
    values = np.asarray(saliency)
    if 0 < keep < saliency.size:
        assert values[mask == 1].min() > values[mask == 0].max()


def test_top_k_mask_count_ignores_ties_and_rejects_bad_fraction():
    assert float(pp.top_k_mask(jnp.ones((4, 4)), 0.25).sum()) == 4.0
    with pytest.raises(ValueError, match="fraction"):
        pp.top_k_mask(jnp.ones((4, 4)), 1.5)


def test_percentile_clip_matches_numpy(saliency):
    lo, hi = np.percentile(np.asarray(saliency), [5, 95])
    np.testing.assert_allclose(
        pp.percentile_clip(saliency, 5, 95), np.clip(saliency, lo, hi), rtol=1e-5
    )
    with pytest.raises(ValueError, match="low/high"):
        pp.percentile_clip(saliency, 50, 10)


def test_resize_bilinear_shapes_and_constant_preservation():
    small = jnp.full((4, 4), 2.5)
    np.testing.assert_allclose(pp.resize_bilinear(small, (16, 12)), 2.5, rtol=1e-6)
    ramp = jnp.arange(4.0)[None, :].repeat(4, axis=0)
    big = pp.resize_bilinear(ramp, (4, 8))
    assert big.shape == (4, 8)
    assert np.all(np.diff(np.asarray(big), axis=1) >= 0)  # monotone stays monotone
    assert pp.resize_bilinear(jnp.ones((4, 4, 3)), (8, 8)).shape == (8, 8, 3)
    with pytest.raises(ValueError, match="shape"):
        pp.resize_bilinear(small, (16,))


def test_postprocess_composes_in_order_and_jits(saliency):
    steps = ("relu", ("resize", (24, 20)), "min_max")
    manual = pp.min_max(pp.resize_bilinear(pp.relu(saliency), (24, 20)))
    np.testing.assert_allclose(pp.postprocess(saliency, steps), manual, rtol=1e-6)
    jitted = jax.jit(lambda m: pp.postprocess(m, steps))
    np.testing.assert_allclose(jitted(saliency), manual, rtol=1e-5, atol=1e-7)
    assert pp.postprocess(saliency) is saliency  # raw is the default
    channels = jax.random.normal(jax.random.key(2), (6, 6, 3))
    out = pp.postprocess(
        channels,
        (
            ("reduce_channels", "abs_sum"),
            ("percentile_clip", (1, 99)),
            ("top_k", 0.1),
            jnp.negative,
        ),
    )
    assert out.shape == (6, 6) and float(out.sum()) == -4.0


def test_postprocess_rejects_unknown_steps(saliency):
    with pytest.raises(ValueError, match="steps"):
        pp.postprocess(saliency, ("softmax",))


def test_docstring_examples_run():
    assert doctest.testmod(pp, raise_on_error=False).failed == 0


@pytest.mark.parametrize("step", [pp.min_max, pp.normalize_sum])
def test_a_map_holding_nan_stays_nan_eager_and_jitted(step):
    saliency = jnp.arange(12.0).reshape(3, 4).at[1, 2].set(jnp.nan)
    for fn in (step, jax.jit(step)):
        assert np.all(np.isnan(np.asarray(fn(saliency))))
    # Finite maps are unchanged by the NaN guard.
    finite = jnp.arange(12.0).reshape(3, 4)
    assert np.all(np.isfinite(np.asarray(step(finite))))


@pytest.mark.parametrize("shape", [(-4, 4), (0, 4), (4,), (4.5, 4)])
def test_resize_bilinear_refuses_bad_sizes(shape):
    with pytest.raises((ValueError, TypeError), match="shape"):
        pp.resize_bilinear(jnp.ones((4, 4)), shape)
