"""Similarities of two maps: exact values, NumPy oracles, jit/vmap, gradients."""

import doctest
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.metrics import similarity
from segxai_jax.metrics.similarity import (
    average_ranks,
    cosine,
    inverse_euclidean,
    pearson,
    spearman,
    ssim,
    top_k_iou,
)

SIZE = 16


def random_map(seed, shape=(SIZE, SIZE)):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


SIMILARITIES = {
    "inverse_euclidean": inverse_euclidean,
    "inverse_euclidean_none": functools.partial(
        inverse_euclidean, normalization="none"
    ),
    "inverse_euclidean_sum": functools.partial(inverse_euclidean, normalization="sum"),
    "pearson": pearson,
    "spearman": spearman,
    "cosine": cosine,
    "ssim": ssim,
    "ssim_uniform": functools.partial(ssim, window="uniform"),
    "ssim_range": functools.partial(ssim, data_range=8.0),
    "top_k_iou": functools.partial(top_k_iou, k_fraction=0.1),
}
DIFFERENTIABLE = ("inverse_euclidean", "pearson", "cosine", "ssim", "ssim_range")


@pytest.mark.parametrize("name", SIMILARITIES)
def test_identical_maps_give_one(name):
    a = random_map(0)
    np.testing.assert_allclose(SIMILARITIES[name](a, a), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", SIMILARITIES)
def test_jit_and_vmap_match_eager_loop(name):
    fn = SIMILARITIES[name]
    a = jnp.stack([random_map(1), random_map(2), random_map(3)])
    b = jnp.stack([random_map(4), a[1] + 0.1 * random_map(5), random_map(6)])
    eager = [float(fn(a[i], b[i])) for i in range(3)]
    assert all(np.isfinite(eager)) and max(eager) <= 1.0 + 1e-6
    chex.clear_trace_counter()  # the wrapper below is keyed by its source line
    traced = jax.jit(chex.assert_max_traces(lambda a, b: fn(a, b), n=1))
    np.testing.assert_allclose(traced(a[0], b[0]), eager[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(traced(a[2], b[2]), eager[2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax.vmap(fn)(a, b), eager, rtol=1e-5, atol=1e-6)


def test_pearson_and_cosine_match_numpy():
    a, b = random_map(7), random_map(8) + 0.5 * random_map(7)
    av, bv = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    np.testing.assert_allclose(pearson(a, b), np.corrcoef(av, bv)[0, 1], rtol=1e-5)
    expected_cos = av @ bv / (np.linalg.norm(av) * np.linalg.norm(bv))
    np.testing.assert_allclose(cosine(a, b), expected_cos, rtol=1e-5)
    np.testing.assert_allclose(pearson(a, 3.0 * a + 2.0), 1.0, atol=1e-6)
    np.testing.assert_allclose(pearson(a, -a), -1.0, atol=1e-6)
    np.testing.assert_allclose(cosine(a, 2.0 * a), 1.0, atol=1e-6)


def numpy_average_ranks(values):
    values = np.asarray(values).ravel()
    ranks = np.empty(values.size)
    ranks[np.argsort(values, kind="stable")] = np.arange(values.size)
    for v in np.unique(values):  # ties share the mean of their positions
        ranks[values == v] = ranks[values == v].mean()
    return ranks


def test_spearman_matches_numpy_ranks_with_and_without_ties():
    a, b = random_map(9), random_map(10) + random_map(9)
    ranks_a = np.argsort(np.argsort(np.asarray(a).ravel()))
    ranks_b = np.argsort(np.argsort(np.asarray(b).ravel()))
    np.testing.assert_allclose(
        spearman(a, b), np.corrcoef(ranks_a, ranks_b)[0, 1], rtol=1e-5
    )
    tied_a, tied_b = jnp.round(a * 2), jnp.maximum(b, 0.0)  # many ties
    np.testing.assert_allclose(
        average_ranks(tied_a), numpy_average_ranks(tied_a).reshape(a.shape)
    )
    expected = np.corrcoef(numpy_average_ranks(tied_a), numpy_average_ranks(tied_b))
    np.testing.assert_allclose(spearman(tied_a, tied_b), expected[0, 1], rtol=1e-5)
    np.testing.assert_allclose(spearman(a, jnp.exp(a)), 1.0, atol=1e-6)


def test_inverse_euclidean_formula():
    a, b = random_map(11), random_map(12)
    raw = 1.0 / (1.0 + np.linalg.norm(np.asarray(a) - np.asarray(b)))
    np.testing.assert_allclose(
        inverse_euclidean(a, b, normalization="none"), raw, rtol=1e-5
    )

    def min_max(m):
        m = np.asarray(m)
        return (m - m.min()) / (m.max() - m.min())

    scaled = 1.0 / (1.0 + np.linalg.norm(min_max(a) - min_max(b)))
    np.testing.assert_allclose(inverse_euclidean(a, b), scaled, rtol=1e-5)
    # Min-max normalisation makes the scale of either map irrelevant.
    np.testing.assert_allclose(inverse_euclidean(a, 10 * a + 3), 1.0, atol=1e-6)


def numpy_ssim(a, b, window, data_range):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    size = window.shape[0]

    def filt(m):
        patches = np.lib.stride_tricks.sliding_window_view(m, (size, size))
        return np.einsum("ijkl,kl->ij", patches, window)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = filt(a), filt(b)
    var_a, var_b = filt(a * a) - mu_a**2, filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return ssim_map.mean()


def test_ssim_matches_numpy_reference():
    a, b = random_map(13, (20, 18)), random_map(14, (20, 18)) + random_map(13, (20, 18))
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    gaussian = np.outer(g, g) / g.sum() ** 2
    np.testing.assert_allclose(
        ssim(a, b, data_range=4.0), numpy_ssim(a, b, gaussian, 4.0), rtol=1e-4
    )
    uniform = np.full((7, 7), 1 / 49)
    np.testing.assert_allclose(
        ssim(a, b, data_range=4.0, window="uniform"),
        numpy_ssim(a, b, uniform, 4.0),
        rtol=1e-4,
    )

    def min_max(m):
        m = np.asarray(m)
        return (m - m.min()) / (m.max() - m.min())

    np.testing.assert_allclose(
        ssim(a, b), numpy_ssim(min_max(a), min_max(b), gaussian, 1.0), rtol=1e-4
    )


def test_top_k_iou_values():
    a = jnp.zeros((4, 5)).at[0, 0].set(3.0).at[1, 1].set(2.0).at[2, 2].set(1.0)
    b = jnp.zeros((4, 5)).at[0, 0].set(1.0).at[3, 3].set(5.0).at[2, 2].set(0.5)
    # k = ceil(0.15 * 20) = 3: {00, 11, 22} vs {33, 00, 22}: |I| = 2, |U| = 4.
    np.testing.assert_allclose(top_k_iou(a, b, 0.15), 0.5)
    # k = 1: {00} vs {33}.
    np.testing.assert_allclose(top_k_iou(a, b, 0.05), 0.0)
    np.testing.assert_allclose(top_k_iou(a, b, 1.0), 1.0)


def test_constant_maps_give_defined_values():
    zero, one, a = jnp.zeros((12, 12)), jnp.ones((12, 12)), random_map(15, (12, 12))
    assert float(pearson(one, a)) == 0.0 and float(pearson(one, 2 * one)) == 0.0
    assert float(spearman(zero, a)) == 0.0
    assert float(cosine(zero, a)) == 0.0 and float(cosine(zero, zero)) == 0.0
    np.testing.assert_allclose(ssim(zero, zero), 1.0)
    np.testing.assert_allclose(ssim(one, one, data_range=1.0), 1.0, atol=1e-6)
    assert np.isfinite(float(ssim(one, a)))
    np.testing.assert_allclose(inverse_euclidean(one, 5 * one), 1.0)
    np.testing.assert_allclose(inverse_euclidean(zero, zero, normalization="sum"), 1.0)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_are_finite(name):
    fn = SIMILARITIES[name]
    a, b, zero = random_map(16), random_map(17), jnp.zeros((SIZE, SIZE))
    for x, y in [(a, b), (a, a), (zero, b), (zero, zero), (jnp.ones_like(a), a)]:
        grad = jax.grad(fn)(x, y)
        assert np.all(np.isfinite(grad)), (name, grad)
    assert float(jnp.abs(jax.grad(fn)(a, b)).max()) > 0.0


def test_rank_based_similarities_have_zero_gradient():
    a, b = random_map(18), random_map(19)
    np.testing.assert_array_equal(jax.grad(spearman)(a, b), 0.0)


@pytest.mark.parametrize("name", SIMILARITIES)
def test_bad_inputs_name_the_argument(name):
    fn, a = SIMILARITIES[name], random_map(20)
    with pytest.raises(ValueError, match="b: expected the shape"):
        fn(a, a[:-1])
    with pytest.raises(ValueError, match="a: expected one map"):
        fn(a[None], a[None])
    with pytest.raises(ValueError, match="b: expected finite"):
        fn(a, a.at[3, 3].set(jnp.nan))


@pytest.mark.parametrize("k_fraction", [0.0, -0.5, 1.5, float("nan"), True])
def test_top_k_iou_rejects_bad_fraction(k_fraction):
    with pytest.raises(ValueError, match="k_fraction"):
        top_k_iou(random_map(21), random_map(22), k_fraction)


def test_bad_options():
    a = random_map(23)
    with pytest.raises(ValueError, match="a: expected maps of at least 11"):
        ssim(a[:10], a[:10])
    with pytest.raises(ValueError, match="data_range"):
        ssim(a, a, data_range=0.0)
    with pytest.raises(ValueError, match="window"):
        ssim(a, a, window="box")
    with pytest.raises(ValueError, match="normalization"):
        inverse_euclidean(a, a, normalization="l2")


def test_docstring_examples():
    assert doctest.testmod(similarity, raise_on_error=False).failed == 0
