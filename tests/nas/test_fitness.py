"""Fitness and population evaluation: one vmapped call equals a loop."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_genomes

from segxai_jax import make_probe, make_target, seg_grad_cam, vanilla_gradient
from segxai_jax.metrics.similarity import pearson
from segxai_jax.models import UNet
from segxai_jax.nas import (
    make_explanation_fitness,
    make_population_evaluator,
    make_warmup,
    make_zen_proxy,
    materialise,
    student_explainer,
    teacher_maps,
)


@pytest.fixture(scope="module")
def probe_data(space, weights, images):
    """A teacher that IS one of the students: its fitness must be 1."""
    teacher_genome = random_genomes(space, 1, seed=11)[0]
    config, params = materialise(space, weights, teacher_genome)
    mask = jnp.zeros((2, 8, 8)).at[:, 2:6, 2:6].set(1.0)
    targets = make_target(jnp.asarray([1, 2]), mask)
    probe = make_probe(UNet(config), "bottleneck", input_shape=(8, 8, 3))
    maps = teacher_maps(seg_grad_cam(probe), params, images, targets)
    return teacher_genome, targets, maps


def _genomes(space, teacher_genome):
    genomes = random_genomes(space, 4, seed=12)
    genomes[2] = teacher_genome
    return genomes


def test_vmapped_population_equals_loop_and_teacher_scores_one(
    space, weights, images, probe_data
):
    teacher_genome, targets, maps = probe_data
    explain = student_explainer(space, seg_grad_cam, "bottleneck")
    fitness = make_explanation_fitness(
        space, explain, images=images, targets=targets, teacher_maps=maps
    )
    evaluate = make_population_evaluator(fitness)
    genomes = _genomes(space, teacher_genome)
    chex.clear_trace_counter()
    counted = make_population_evaluator(
        type(fitness)(chex.assert_max_traces(fitness.fn, n=1), fitness.data)
    )
    population = counted(weights, genomes)
    counted(weights, genomes[::-1])  # a new population: no recompilation
    single = jax.jit(fitness.fn)
    loop = [float(single(weights, jnp.asarray(g), fitness.data)) for g in genomes]
    np.testing.assert_allclose(population, loop, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(evaluate(weights, genomes), population)
    assert population[2] == pytest.approx(1.0, abs=1e-5)
    assert np.all(population[[0, 1, 3]] < 1.0 - 1e-4)


def test_warmup_trains_the_whole_population_in_one_call(
    space, weights, images, probe_data
):
    teacher_genome, targets, maps = probe_data
    explain = student_explainer(space, seg_grad_cam, "bottleneck")
    labels = jnp.zeros((2, 2, 8, 8), jnp.int32).at[:, :, 2:6, 2:6].set(1)
    batches = jnp.broadcast_to(images, (2, 2, 8, 8, 3))
    fitness = make_explanation_fitness(
        space,
        explain,
        images=images,
        targets=targets,
        teacher_maps=maps,
        warmup=make_warmup(space, learning_rate=1e-2, unroll=1),
        warmup_images=batches,
        warmup_masks=labels,
    )
    genomes = _genomes(space, teacher_genome)
    warm = make_population_evaluator(fitness)(weights, genomes)
    single = jax.jit(fitness.fn)(weights, jnp.asarray(genomes[1]), fitness.data)
    np.testing.assert_allclose(warm[1], single, rtol=1e-4, atol=1e-5)
    assert warm[2] < 1.0 - 1e-4  # the student moved away from the teacher
    assert np.all(np.isfinite(warm))


def test_pluggable_explainer_similarity_and_zen_proxy(space, weights, images):
    genomes = random_genomes(space, 2, seed=13)
    mask = jnp.ones((2, 8, 8))
    targets = make_target(jnp.asarray([1, 1]), mask)
    explain = student_explainer(
        space,
        lambda f: lambda k, p, x, t: vanilla_gradient(f)(k, p, x, t).sum(-1),
        None,
    )
    maps = jnp.ones((2, 8, 8)).at[:, 0, 0].set(2.0)
    fitness = make_explanation_fitness(
        space,
        explain,
        images=images,
        targets=targets,
        teacher_maps=maps,
        similarity=pearson,
    )
    values = make_population_evaluator(fitness)(weights, genomes)
    assert values.shape == (2,) and np.all(np.abs(values) <= 1.0)
    proxy = make_zen_proxy(space, jax.random.key(0), image_shape=(8, 8, 3))
    scores = make_population_evaluator(proxy)(weights, genomes)
    assert np.all(np.isfinite(scores))


def test_bad_inputs_are_clear_errors(space, weights, images, probe_data):
    _, targets, maps = probe_data
    explain = student_explainer(space, seg_grad_cam, "bottleneck")
    with pytest.raises(ValueError, match="warmup"):
        make_explanation_fitness(
            space,
            explain,
            images=images,
            targets=targets,
            teacher_maps=maps,
            warmup=make_warmup(space),
        )
    fitness = make_explanation_fitness(
        space, explain, images=images, targets=targets, teacher_maps=maps
    )
    with pytest.raises(ValueError, match=r"genomes: expected \[P, G\]"):
        make_population_evaluator(fitness)(weights, np.zeros(14, np.int32))


def test_teacher_maps_of_another_size_are_refused_naming_the_shapes(
    space, images, probe_data
):
    _, targets, maps = probe_data
    explain = student_explainer(space, seg_grad_cam, "bottleneck")
    for bad in (maps[:, :4, :4], maps[:1], maps[None]):
        with pytest.raises(ValueError, match=r"teacher_maps: expected \[B, H, W\]"):
            make_explanation_fitness(
                space, explain, images=images, targets=targets, teacher_maps=bad
            )
