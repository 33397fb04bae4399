"""Evolutionary strategy: init/ask/tell, budget rejection, elitism, NaN, seeds."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.models import count_params
from segxai_jax.nas import (
    Budget,
    EvolutionarySearch,
    EvolutionHyperparams,
    EvolutionState,
    genome_cost,
)


def _search(space, **kwargs):
    budget = Budget(max_params=1500, image_size=8)
    options = {"population_size": 8, "archive_size": 4, "tournament_size": 2}
    return EvolutionarySearch(space, budget, **{**options, **kwargs})


def _toy_fitness(space, genomes):
    """Analytic fitness: more parameters is better (the optimum hits the budget)."""
    params, _ = jax.vmap(lambda g: genome_cost(space, g))(genomes)
    return params.astype(jnp.float32)


@functools.cache
def _loop(search):
    """The whole search as one ``jax.lax.scan`` (compiled once per strategy)."""

    def generation(carry, key):
        state, hyper = carry
        genomes, state = search.ask(key, state, hyper)
        state = search.tell(genomes, _toy_fitness(search.space, genomes), state, hyper)
        return (state, hyper), state.best_fitness

    @jax.jit
    def loop(key, keys, hyper):
        state = search.init(key, hyper)
        (state, _), best = jax.lax.scan(generation, (state, hyper), keys)
        return state, best

    return loop


def _run(search, seed, generations, hyper=None):
    hyper = search.default_hyperparams if hyper is None else hyper
    key = jax.random.key(seed)
    keys = jax.random.split(key, generations)
    return _loop(search)(jax.random.fold_in(key, -1 % 2**31), keys, hyper)


def test_whole_loop_under_scan_is_deterministic_and_improves(space):
    search = _search(space)
    state, best = _run(search, seed=0, generations=6)
    again, best_again = _run(search, seed=0, generations=6)
    chex.assert_trees_all_equal(state, again)
    np.testing.assert_array_equal(best, best_again)
    assert np.all(np.diff(np.asarray(best)) >= 0)  # elitism: never worse
    other, _ = _run(search, seed=1, generations=6)
    assert not np.array_equal(state.archive, other.archive)
    assert int(state.num_evaluated) == 48 and int(state.generation) == 6
    # The best genome respects the budget; the toy optimum is close to it.
    params = count_params(space.to_config(np.asarray(state.best_genome)))
    assert params == float(state.best_fitness) <= 1500
    assert params > 1500 * 0.8


def test_children_are_within_budget_and_mutations_change_one_gene(space):
    search = _search(space)
    hyper = search.default_hyperparams
    state = jax.jit(search.init)(jax.random.key(0), hyper)
    genomes, state = jax.jit(search.ask)(jax.random.key(1), state, hyper)  # random
    state = search.tell(genomes, _toy_fitness(space, genomes), state, hyper)
    children, _ = jax.jit(search.ask)(jax.random.key(2), state, hyper)
    params, _ = jax.vmap(lambda g: genome_cost(space, g))(children)
    assert np.all(np.asarray(params) <= 1500)
    space.check_genome(np.asarray(children))
    parent = state.archive[0]
    mutated = jax.jit(search.mutate)(jax.random.key(3), parent)
    assert int((mutated != parent).sum()) == 1


def test_nan_fitness_is_the_worst_and_duplicates_are_dropped(space):
    search = _search(space)
    hyper = search.default_hyperparams
    state = jax.jit(search.init)(jax.random.key(0), hyper)
    genomes, state = jax.jit(search.ask)(jax.random.key(1), state, hyper)
    genomes = genomes.at[1].set(genomes[0])  # a duplicate of child 0
    fitness = jnp.asarray([1.0, 5.0, jnp.nan, 2.0, 0.5, 0.1, 0.2, 0.3])
    state = search.tell(genomes, fitness, state, hyper)
    np.testing.assert_allclose(state.archive_fitness, [2.0, 1.0, 0.5, 0.3])
    np.testing.assert_array_equal(state.archive[0], genomes[3])
    assert float(state.best_fitness) == 2.0
    all_nan = search.tell(genomes, jnp.full(8, jnp.nan), state, hyper)
    np.testing.assert_array_equal(all_nan.archive_fitness, state.archive_fitness)


def test_random_sampling_and_crossover_options(space):
    random = _search(space, sampling="random")
    state, _ = _run(random, seed=0, generations=3)
    assert int(state.num_evaluated) == 24
    evolution = _search(space)  # another instance: the cache is per instance
    hyper = EvolutionHyperparams(crossover_rate=1.0, immigrant_rate=0.5)
    state, best = _run(evolution, seed=0, generations=3, hyper=hyper)
    assert isinstance(state, EvolutionState) and np.isfinite(best[-1])


def test_jit_equals_no_jit(space):
    search = _search(space)
    hyper = search.default_hyperparams
    state = jax.jit(search.init)(jax.random.key(0), hyper)
    genomes, state = jax.jit(search.ask)(jax.random.key(4), state, hyper)
    fitness = jnp.arange(8.0).at[3].set(jnp.nan)
    eager = search.tell(genomes, fitness, state, hyper)
    jitted = jax.jit(search.tell)(genomes, fitness, state, hyper)
    chex.assert_trees_all_equal(eager, jitted)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"population_size": 0}, "population_size"),
        ({"archive_size": 1.5}, "archive_size"),
        ({"sampling": "grid"}, "sampling"),
    ],
)
def test_bad_options_are_clear_errors(space, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _search(space, **kwargs)


def test_infeasible_budget_is_refused(space):
    with pytest.raises(ValueError, match="no genome of the space satisfies"):
        EvolutionarySearch(
            space, Budget(max_params=10), population_size=2, archive_size=2
        )


def test_tell_checks_the_fitness_shape(space):
    search = _search(space)
    hyper = search.default_hyperparams
    state = jax.jit(search.init)(jax.random.key(0), hyper)
    genomes, state = jax.jit(search.ask)(jax.random.key(1), state, hyper)
    with pytest.raises(ValueError, match="fitness: expected shape"):
        search.tell(genomes, jnp.zeros(3), state, hyper)
