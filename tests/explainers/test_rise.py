"""RISE: the weighted mask sum against a loop, masks, determinism, bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.explainers import rise, rise_mask
from segxai_jax.targets import box_roi, make_target, target_score

SIZE, CHANNELS, CLASSES = 12, 3, 4
KEY = jax.random.key(0)


def linear_apply(weights, x):
    return x @ weights  # [H, W, K]


@pytest.fixture(scope="module")
def linear():
    weights = jax.random.normal(jax.random.key(1), (CHANNELS, CLASSES))
    x = jax.random.uniform(jax.random.key(2), (SIZE, SIZE, CHANNELS))
    target = make_target(2, box_roi((SIZE, SIZE), 2, 3, 5, 4))
    return weights, x, target


def test_masks_are_smooth_in_range_and_seeded():
    a = rise_mask(KEY, (SIZE, SIZE), grid=4, keep_probability=0.5)
    assert a.shape == (SIZE, SIZE)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    np.testing.assert_array_equal(
        a, rise_mask(KEY, (SIZE, SIZE), grid=4, keep_probability=0.5)
    )
    assert not np.array_equal(
        a, rise_mask(jax.random.key(9), (SIZE, SIZE), grid=4, keep_probability=0.5)
    )


def test_equals_the_weighted_mask_sum_of_a_loop(linear):
    weights, x, target = linear
    n, p = 20, 0.4
    explain = rise(linear_apply, num_masks=n, grid=3, keep_probability=p, chunk_size=5)
    got = explain(KEY, weights, x, target)
    keys = jax.random.split(KEY, n)
    expected = np.zeros((SIZE, SIZE))
    for k in keys:
        m = np.asarray(rise_mask(k, (SIZE, SIZE), grid=3, keep_probability=p))
        s = float(target_score(linear_apply(weights, x * m[..., None]), target))
        expected += s * m
    expected /= n * p
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-5)
    # The chunk size changes the schedule, not the result.
    other = rise(linear_apply, num_masks=n, grid=3, keep_probability=p, chunk_size=10)
    np.testing.assert_allclose(
        np.asarray(other(KEY, weights, x, target)), np.asarray(got), rtol=1e-5
    )


def test_jit_vmap_and_nan(linear):
    weights, x, target = linear
    explain = rise(linear_apply, num_masks=8, grid=3, chunk_size=4)
    eager = explain(KEY, weights, x, target)
    np.testing.assert_allclose(
        jax.jit(explain)(KEY, weights, x, target), eager, rtol=1e-5, atol=1e-6
    )
    xs = jnp.stack([x, x[::-1]])
    batched = jax.vmap(explain, in_axes=(None, None, 0, None))(KEY, weights, xs, target)
    np.testing.assert_allclose(batched[0], eager, rtol=1e-5, atol=1e-6)
    nan = jax.jit(explain)(KEY, weights, x.at[1, 1, 0].set(jnp.nan), target)
    assert np.all(np.isnan(np.asarray(nan)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_masks": 10, "chunk_size": 4}, "multiple of chunk_size"),
        ({"keep_probability": 1.0}, "keep_probability"),
        ({"grid": 0}, "grid"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rise(linear_apply, **kwargs)


def test_a_key_is_required(linear):
    weights, x, target = linear
    with pytest.raises(TypeError, match="key"):
        rise(linear_apply, num_masks=4, chunk_size=4)(None, weights, x, target)


def test_dice_score_equals_a_loop_over_the_masks(linear):
    """score="dice": each mask weighted by the Dice of the masked prediction's
    class-c region with the clean prediction's."""
    weights, x, target = linear
    n, p = 10, 0.5
    explain = rise(
        linear_apply,
        num_masks=n,
        grid=3,
        keep_probability=p,
        chunk_size=5,
        score="dice",
    )
    got = np.asarray(explain(KEY, weights, x, target))
    clean = np.asarray(linear_apply(weights, x)).argmax(-1) == int(target.class_id)
    expected = np.zeros((SIZE, SIZE))
    for k in jax.random.split(KEY, n):
        m = np.asarray(rise_mask(k, (SIZE, SIZE), grid=3, keep_probability=p))
        masked = np.asarray(linear_apply(weights, x * m[..., None])).argmax(-1)
        region = masked == int(target.class_id)
        both = clean.sum() + region.sum()
        dice = 1.0 if both == 0 else 2 * (clean & region).sum() / both
        expected += dice * m
    expected /= n * p
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="score"):
        rise(linear_apply, score="accuracy")
