"""Localisation metrics: exact values, NumPy oracles, ties, jit/vmap, errors."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.metrics import localisation
from segxai_jax.metrics.localisation import (
    dilate,
    pointing_game,
    relevance_mass,
    relevance_rank,
    top_k_iou_with_mask,
)
from segxai_jax.targets import box_roi

SIZE = 12
MASK = box_roi((SIZE, SIZE), 2, 3, 4, 5)  # 20 pixels


def random_map(seed):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(SIZE, SIZE)))


def test_pointing_game_inside_and_outside():
    peak_inside = jnp.zeros((SIZE, SIZE)).at[3, 4].set(1.0)
    peak_outside = jnp.zeros((SIZE, SIZE)).at[10, 10].set(1.0)
    assert float(pointing_game(peak_inside, MASK)) == 1.0
    assert float(pointing_game(peak_outside, MASK)) == 0.0
    assert float(pointing_game(peak_inside, MASK > 0)) == 1.0  # bool masks


def test_pointing_game_tolerance():
    # The mask's bottom row is 5; the peak lies 2 pixels below, column 4.
    peak = jnp.zeros((SIZE, SIZE)).at[7, 4].set(1.0)
    assert float(pointing_game(peak, MASK, tolerance=1)) == 0.0
    assert float(pointing_game(peak, MASK, tolerance=2)) == 1.0
    # Diagonal distance sqrt(2^2 + 2^2) = 2.83 from the corner (5, 7).
    corner = jnp.zeros((SIZE, SIZE)).at[7, 9].set(1.0)
    assert float(pointing_game(corner, MASK, tolerance=2)) == 0.0
    assert float(pointing_game(corner, MASK, tolerance=3)) == 1.0


def test_dilate_is_a_euclidean_disk():
    point = jnp.zeros((9, 9), bool).at[4, 4].set(True)
    rows, cols = np.mgrid[:9, :9]
    expected = (rows - 4) ** 2 + (cols - 4) ** 2 <= 9
    np.testing.assert_array_equal(dilate(point, 3), expected)


def test_pointing_game_ties():
    two_peaks = jnp.zeros((SIZE, SIZE)).at[3, 4].set(1.0).at[10, 10].set(1.0)
    assert float(pointing_game(two_peaks, MASK)) == 0.0  # "all" by default
    assert float(pointing_game(two_peaks, MASK, ties="any")) == 1.0
    assert float(pointing_game(two_peaks, MASK, ties="first")) == 1.0  # (3, 4) first
    flat = jnp.zeros((SIZE, SIZE))
    assert float(pointing_game(flat, MASK)) == 0.0
    assert float(pointing_game(flat, jnp.ones((SIZE, SIZE)))) == 1.0


def test_relevance_mass_values():
    s = random_map(1)
    np.testing.assert_allclose(relevance_mass(jnp.abs(s) * MASK, MASK), 1.0)
    np.testing.assert_allclose(relevance_mass(jnp.abs(s) * (1 - MASK), MASK), 0.0)
    positive = np.maximum(np.asarray(s), 0.0)
    expected = positive[np.asarray(MASK) > 0].sum() / positive.sum()
    np.testing.assert_allclose(relevance_mass(s, MASK), expected, rtol=1e-6)
    assert float(relevance_mass(-jnp.abs(s), MASK)) == 0.0  # no positive relevance


def numpy_relevance_rank(s, mask):
    s, inside = np.asarray(s).ravel(), np.asarray(mask).ravel() > 0
    top = np.argsort(-s, kind="stable")[: inside.sum()]
    return inside[top].mean()


def test_relevance_rank_values():
    s = random_map(2)
    np.testing.assert_allclose(
        relevance_rank(s, MASK), numpy_relevance_rank(s, MASK), rtol=1e-6
    )
    np.testing.assert_allclose(relevance_rank(jnp.abs(s) * MASK + 0.1 * MASK, MASK), 1)
    # Ties go against the explanation: a flat map finds nothing while it can.
    assert float(relevance_rank(jnp.zeros((SIZE, SIZE)), MASK)) == 0.0
    big = box_roi((SIZE, SIZE), 0, 0, 10, SIZE)  # 120 of 144 pixels
    np.testing.assert_allclose(
        relevance_rank(jnp.zeros((SIZE, SIZE)), big), (120 - 24) / 120
    )


def test_top_k_iou_with_mask_values():
    s = random_map(3)
    perfect = jnp.where(MASK > 0, 1.0 + jnp.abs(s), -jnp.abs(s))
    np.testing.assert_allclose(top_k_iou_with_mask(perfect, MASK), 1.0)
    # k = ceil(0.25 * 144) = 36 pixels against the mask's 20.
    top = np.zeros(SIZE * SIZE, bool)
    top[np.argsort(-np.asarray(s).ravel(), kind="stable")[:36]] = True
    inside = np.asarray(MASK).ravel() > 0
    expected = (top & inside).sum() / (top | inside).sum()
    np.testing.assert_allclose(
        top_k_iou_with_mask(s, MASK, k_fraction=0.25), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        top_k_iou_with_mask(perfect, MASK, k_fraction=0.25), 20 / 36, rtol=1e-6
    )


METRICS = {
    "pointing_game": pointing_game,
    "pointing_game_tolerance": lambda s, m: pointing_game(s, m, tolerance=2),
    "relevance_mass": relevance_mass,
    "relevance_rank": relevance_rank,
    "top_k_iou_with_mask": top_k_iou_with_mask,
    "top_k_iou_fraction": lambda s, m: top_k_iou_with_mask(s, m, k_fraction=0.1),
}


@pytest.mark.parametrize("name", METRICS)
def test_jit_and_vmap_match_eager_loop(name):
    fn = METRICS[name]
    maps = jnp.stack([random_map(4), random_map(5) + 2 * MASK, random_map(6)])
    masks = jnp.stack([MASK, MASK, box_roi((SIZE, SIZE), 6, 6, 6, 6)])
    eager = [float(fn(maps[i], masks[i])) for i in range(3)]
    assert all(0.0 <= v <= 1.0 for v in eager)
    np.testing.assert_allclose(jax.jit(fn)(maps[2], masks[2]), eager[2], rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(fn)(maps, masks), eager, rtol=1e-6)


@pytest.mark.parametrize("name", METRICS)
def test_bad_inputs_name_the_argument(name):
    fn, s = METRICS[name], random_map(7)
    with pytest.raises(ValueError, match="mask: expected at least one positive"):
        fn(s, jnp.zeros((SIZE, SIZE)))
    with pytest.raises(ValueError, match="mask: expected shape"):
        fn(s, MASK[:-1])
    with pytest.raises(ValueError, match="saliency: expected finite"):
        fn(s.at[0, 0].set(jnp.nan), MASK)
    with pytest.raises(ValueError, match="saliency: expected one map"):
        fn(s[None], MASK)


@pytest.mark.parametrize("name", METRICS)
def test_under_jit_an_empty_mask_or_nan_saliency_gives_nan(name):
    fn, s = jax.jit(METRICS[name]), random_map(8)
    assert np.isnan(float(fn(s, jnp.zeros((SIZE, SIZE)))))
    assert np.isnan(float(fn(s.at[3, 3].set(jnp.nan), MASK)))
    assert np.isnan(float(fn(jnp.full((SIZE, SIZE), jnp.nan), MASK)))
    assert np.isfinite(float(fn(s, MASK)))


def test_bad_options():
    s = random_map(8)
    with pytest.raises(ValueError, match="ties"):
        pointing_game(s, MASK, ties="random")
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(s, MASK, tolerance=-1)
    with pytest.raises(ValueError, match="tolerance"):
        pointing_game(s, MASK, tolerance=1.5)
    for k_fraction in (0.0, 1.01):
        with pytest.raises(ValueError, match="k_fraction"):
            top_k_iou_with_mask(s, MASK, k_fraction=k_fraction)


def test_docstring_examples():
    assert doctest.testmod(localisation, raise_on_error=False).failed == 0
