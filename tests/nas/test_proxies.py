"""The DisWOT-style relation proxy: oracle, invariances, vmap == loop, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_genomes

from segxai_jax.models import UNet
from segxai_jax.nas import materialise
from segxai_jax.nas.proxies import make_relation_proxy, relation_matrix
from segxai_jax.probes import make_probe


def test_relation_matrix_is_the_row_normalised_gram_matrix():
    features = jax.random.normal(jax.random.key(0), (3, 4, 4, 5))
    flat = np.asarray(features).reshape(3, -1).astype(np.float64)
    gram = flat @ flat.T
    expected = gram / np.linalg.norm(gram, axis=1, keepdims=True)
    np.testing.assert_allclose(relation_matrix(features), expected, rtol=1e-5)
    # Scale-free: a network whose features are 7x larger relates samples alike.
    np.testing.assert_allclose(
        relation_matrix(7.0 * features), relation_matrix(features), rtol=1e-5
    )
    zero = relation_matrix(jnp.zeros((2, 3)))
    assert np.all(np.isfinite(zero)) and np.all(zero == 0)


@pytest.fixture(scope="module")
def teacher(space, weights, images):
    """A teacher that IS one of the students (depth index 1 = the deepest)."""
    genome = random_genomes(space, 1, seed=21)[0]
    genome[0] = 1
    config, params = materialise(space, weights, genome)
    probe = make_probe(UNet(config), "bottleneck", input_shape=images.shape[1:])
    features = jax.vmap(lambda x: probe.forward(params, x, None)[1])(images)
    return genome, features


def test_the_teacher_itself_scores_the_maximum_zero(space, weights, images, teacher):
    genome, features = teacher
    proxy = make_relation_proxy(space, images=images, teacher_features=features)
    own = float(proxy.fn(weights, jnp.asarray(genome), proxy.data))
    assert abs(own) < 1e-10
    others = random_genomes(space, 6, seed=22)
    scores = [float(proxy.fn(weights, jnp.asarray(g), proxy.data)) for g in others]
    assert max(scores) <= 0.0 and min(scores) < -1e-6


def test_vmap_over_genomes_equals_a_loop(space, weights, images, teacher):
    proxy = make_relation_proxy(space, images=images, teacher_features=teacher[1])
    genomes = jnp.asarray(random_genomes(space, 5, seed=23))
    batched = jax.jit(jax.vmap(proxy.fn, (None, 0, None)))(weights, genomes, proxy.data)
    looped = [proxy.fn(weights, g, proxy.data) for g in genomes]
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-7)


def test_bad_batches_are_named(space, images, teacher):
    with pytest.raises(ValueError, match="images: expected at least 2"):
        make_relation_proxy(space, images=images[:1], teacher_features=teacher[1][:1])
    with pytest.raises(ValueError, match="teacher_features: expected 2 rows"):
        make_relation_proxy(space, images=images, teacher_features=teacher[1][:1])
