"""RISE: the weighted mask sum against a loop, masks, determinism, bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.explainers import rise, rise_mask, rise_masks
from segxai_jax.explainers.rise import _draw_patterns, _masks_from_patterns
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


@pytest.mark.parametrize(("hw", "grid"), [((12, 12), 4), ((33, 70), 7), ((64, 48), 5)])
def test_masks_are_resized_patterns_cropped_at_their_offsets(hw, grid):
    """Oracle: each mask is jax.image.resize (bilinear) of its binary pattern
    to (grid + 1) * cell pixels, sliced at its offset (Petsiuk et al.)."""
    cells, offsets = _draw_patterns(KEY, 6, hw, grid, 0.5)
    cell_h, cell_w = -(-hw[0] // grid), -(-hw[1] // grid)
    masks = _masks_from_patterns(cells, offsets, hw)
    assert masks.shape == (6, *hw)
    np.testing.assert_array_equal(
        masks, rise_masks(KEY, 6, hw, grid=grid, keep_probability=0.5)
    )
    assert set(np.unique(np.asarray(cells))) <= {0.0, 1.0}
    for pattern, (dy, dx), mask in zip(cells, np.asarray(offsets), masks, strict=True):
        assert 0 <= dy < cell_h and 0 <= dx < cell_w
        up = jax.image.resize(
            pattern, ((grid + 1) * cell_h, (grid + 1) * cell_w), method="bilinear"
        )
        np.testing.assert_allclose(
            mask, up[dy : dy + hw[0], dx : dx + hw[1]], rtol=0, atol=2e-6
        )


def test_one_mask_is_the_first_of_the_batch():
    np.testing.assert_array_equal(
        rise_mask(KEY, (SIZE, SIZE), grid=4, keep_probability=0.5),
        rise_masks(KEY, 1, (SIZE, SIZE), grid=4, keep_probability=0.5)[0],
    )


def test_equals_the_weighted_mask_sum_of_a_loop(linear):
    weights, x, target = linear
    n, p = 20, 0.4
    explain = rise(linear_apply, num_masks=n, grid=3, keep_probability=p, chunk_size=5)
    got = explain(KEY, weights, x, target)
    masks = np.asarray(rise_masks(KEY, n, (SIZE, SIZE), grid=3, keep_probability=p))
    expected = np.zeros((SIZE, SIZE))
    for m in masks:
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
    for m in np.asarray(rise_masks(KEY, n, (SIZE, SIZE), grid=3, keep_probability=p)):
        masked = np.asarray(linear_apply(weights, x * m[..., None])).argmax(-1)
        region = masked == int(target.class_id)
        both = clean.sum() + region.sum()
        dice = 1.0 if both == 0 else 2 * (clean & region).sum() / both
        expected += dice * m
    expected /= n * p
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="score"):
        rise(linear_apply, score="accuracy")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_masks": 0}, "num_masks"),
        ({"grid": 0}, "grid"),
        ({"keep_probability": 0.0}, "keep_probability"),
        ({"hw": (0, 8)}, "hw"),
    ],
)
def test_rise_masks_bad_arguments_name_the_argument(kwargs, match):
    args = {"num_masks": 4, "hw": (8, 8), "grid": 2, "keep_probability": 0.5}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        rise_masks(
            KEY,
            args["num_masks"],
            args["hw"],
            grid=args["grid"],
            keep_probability=args["keep_probability"],
        )
