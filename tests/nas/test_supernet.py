"""Masked supernet: a genome's masks give exactly its materialised U-Net."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_genomes

from segxai_jax import make_probe, make_target, seg_grad_cam
from segxai_jax.models import UNet
from segxai_jax.nas import (
    genome_masks,
    materialise,
    student_explainer,
    supernet_apply_fn,
    supernet_forward,
    supernet_probe,
)


@functools.partial(jax.jit, static_argnums=0)
def _population_logits(space, weights, genomes, x):
    def one(genome):
        return supernet_forward(space, weights, genome_masks(space, genome), x)

    return jax.vmap(one)(genomes)


def test_supernet_equals_materialised_unet_for_a_population(space, weights, images):
    genomes = random_genomes(space, 5, seed=1)
    genomes[0] = space.min_genome(0)
    genomes[1] = space.num_choices - 1  # the largest student: nothing masked
    logits = _population_logits(space, weights, jnp.asarray(genomes), images)
    assert logits.shape == (5, 2, 8, 8, 3)
    for genome, student in zip(genomes, logits, strict=True):
        config, params = materialise(space, weights, genome)
        expected = UNet(config).apply({"params": params}, images)
        np.testing.assert_allclose(student, expected, rtol=1e-5, atol=1e-5)


def test_apply_fn_contract(space, weights, images):
    genome = jnp.asarray(random_genomes(space, 1, seed=2)[0])
    apply_fn = supernet_apply_fn(space)
    out = jax.jit(apply_fn)((weights, genome), images[0])
    expected = supernet_forward(space, weights, genome_masks(space, genome), images)
    np.testing.assert_allclose(out, expected[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("depth_index", [0, 1])
def test_seg_grad_cam_of_student_equals_that_of_materialised_unet(
    space, weights, images, depth_index
):
    genome = random_genomes(space, 1, seed=5 + depth_index)[0]
    genome[0] = depth_index
    config, params = materialise(space, weights, genome)
    target = make_target(1, jnp.zeros((8, 8)).at[2:6, 2:6].set(1.0))
    linen = seg_grad_cam(make_probe(UNet(config), "bottleneck", input_shape=(8, 8, 3)))
    expected = linen(None, params, images[0], target)
    explain = student_explainer(space, seg_grad_cam, "bottleneck")
    ours = jax.jit(explain)(None, (weights, jnp.asarray(genome)), images[0], target)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_probe_points_every_student_has(space, weights, images):
    genome = jnp.asarray(space.min_genome(1))
    probe = supernet_probe(space, "enc0")
    config, params = materialise(space, weights, np.asarray(genome))
    linen = make_probe(UNet(config), "enc0", input_shape=(8, 8, 3))
    ours = probe.activations((weights, genome), images[0])
    width = config.widths[0]
    expected = linen.activations(params, images[0])
    np.testing.assert_allclose(ours[..., :width], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours[..., width:], 0.0)  # masked channels
    with pytest.raises(ValueError, match="not a probe point every student"):
        supernet_probe(space, "enc1")  # depth 1 students have no enc1
    with pytest.raises(ValueError, match="not a probe point"):
        supernet_probe(space, "bottleneck")  # two depths: use student_explainer
