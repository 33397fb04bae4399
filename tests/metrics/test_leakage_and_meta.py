"""Off-target leakage, class mass and the metric sanity check, against oracles."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.metrics import (
    class_mass,
    metric_sanity,
    off_target_leakage,
    relevance_mass,
)


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(0)
    saliency = rng.normal(size=(8, 9)).astype(np.float32)
    labels = rng.integers(0, 4, size=(8, 9)).astype(np.int32)
    return saliency, labels


def test_leakage_is_the_positive_mass_outside(scene):
    saliency, labels = scene
    region = labels == 2
    positive = np.maximum(saliency, 0)
    expected = positive[~region].sum() / positive.sum()
    got = float(off_target_leakage(jnp.asarray(saliency), jnp.asarray(region)))
    assert got == pytest.approx(expected, rel=1e-5)
    assert got == pytest.approx(1 - float(relevance_mass(saliency, region)), abs=1e-6)
    # All relevance inside -> 0; no positive relevance -> 0 (nothing leaks).
    inside_only = np.where(region, np.abs(saliency), -np.abs(saliency))
    assert float(off_target_leakage(inside_only, region)) == 0.0
    assert float(off_target_leakage(-np.abs(saliency), region)) == 0.0


def test_class_mass_splits_the_positive_mass_by_class(scene):
    saliency, labels = scene
    positive = np.maximum(saliency, 0)
    expected = np.array([positive[labels == k].sum() for k in range(5)])
    got = np.asarray(class_mass(saliency, labels, 5))
    np.testing.assert_allclose(got, expected / positive.sum(), rtol=1e-5)
    assert got.sum() == pytest.approx(1.0, abs=1e-6) and got[4] == 0.0
    batched = jax.vmap(class_mass, in_axes=(0, 0, None))(
        jnp.stack([saliency, -saliency]), jnp.stack([labels, labels]), 5
    )
    np.testing.assert_allclose(np.asarray(batched[0]), got, rtol=1e-6)
    jitted = jax.jit(class_mass, static_argnums=2)(saliency, labels, 5)
    np.testing.assert_allclose(np.asarray(jitted), got, rtol=1e-6)


def test_class_mass_bad_inputs(scene):
    saliency, labels = scene
    with pytest.raises(ValueError, match=r"labels: expected class ids in \[0, 3\)"):
        class_mass(saliency, labels, 3)
    with pytest.raises(ValueError, match="labels: expected integer class ids"):
        class_mass(saliency, labels.astype(np.float32), 4)
    with pytest.raises(ValueError, match="labels: expected shape"):
        class_mass(saliency, labels[:4], 4)
    with pytest.raises(TypeError, match="num_classes: expected an int"):
        class_mass(saliency, labels, 2.5)
    with pytest.raises(ValueError, match="saliency: expected finite"):
        class_mass(np.full((8, 9), np.nan), labels, 4)


def test_metric_sanity_tells_a_good_metric_from_a_blind_one():
    rng = np.random.default_rng(1)
    clean = rng.uniform(0, 1, 200)
    good = metric_sanity(clean, clean + rng.normal(0, 0.01, 200), 1 - clean)
    assert good["reactivity"] > 0.9 and good["noise_resilience"] > 0.9
    # A metric that gives the same score to every model reacts by chance only.
    blind = metric_sanity(
        clean, clean + rng.normal(0, 0.05, 200), clean + rng.normal(0, 0.05, 200)
    )
    assert 0.4 < blind["reactivity"] < 0.6
    # Oracle on 3 images: |d_disruptive| = (3, 0, 1), |d_minor| = (1, 1, 0).
    exact = metric_sanity([0.0, 1.0, 2.0], [1.0, 0.0, 2.0], [3.0, 1.0, 1.0])
    # pairs with d > m: 3>1, 3>1, 3>0, 1>0 -> 4; ties: 0=0, 1=1 twice -> 3
    assert exact["reactivity"] == pytest.approx((4 + 0.5 * 3) / 9)
    assert exact["median_minor_change"] == 1.0
    assert exact["noise_resilience"] == pytest.approx(1 - 1.0 / 1.0)


def test_metric_sanity_bad_inputs():
    with pytest.raises(ValueError, match="clean: expected per-image scores"):
        metric_sanity([1.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="minor: expected 3 scores"):
        metric_sanity([1.0, 2.0, 3.0], [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="disruptive: expected finite"):
        metric_sanity([1.0, 2.0], [1.0, 2.0], [1.0, float("nan")])
    flat = metric_sanity([1.0, 1.0], [1.0, 1.0], [2.0, 2.0])
    assert np.isnan(flat["noise_resilience"]) and flat["reactivity"] == 1.0
