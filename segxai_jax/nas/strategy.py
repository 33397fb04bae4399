"""The evolutionary search of CAM-NAS as ``init`` / ``ask`` / ``tell``.

Zen-NAS's loop (which CAM-NAS reuses) keeps a population of ``N`` models;
each iteration mutates one of them (one block's width, kernel or depth),
rejects children over the budget, evaluates the child and removes the worst
model once there are more than ``N``. Here a generation asks for
``population_size`` children at once (so that one vmapped call evaluates
them) and keeps the best ``archive_size`` of archive plus children:

* generation 0 samples children uniformly from the genomes within budget;
* later children: tournament selection of a parent from the archive
  (``tournament_size`` members, best fitness wins), optional uniform crossover
  with a second tournament winner (``crossover_rate``), then Zen-NAS's
  mutation: one active gene replaced by a different choice; a fraction
  ``immigrant_rate`` of children are fresh random genomes instead;
* budget rejection: ``max_tries`` candidates per child are drawn in parallel
  and the first within budget is kept (else the parent, which is within
  budget, and which :meth:`tell` then ignores as a duplicate);
* ``tell``: NaN fitness counts as the worst value (``-inf``), children equal to
  an archive member or an earlier child are dropped, and the best
  ``archive_size`` survive (remove-the-worst with elitism: the best genome
  so far is never lost).

``sampling="random"`` turns the strategy into random search with the same
number of evaluated candidates (the baseline Zen-NAS compares with).

The state and the hyper-parameters are ``flax.struct`` dataclasses, as in
evosax; every method is a pure function of arrays and jits; the keys of one
``ask`` are split by purpose.

References:
  Lin et al. Zen-NAS: a zero-shot NAS for high-performance image recognition.
  ICCV 2021.
  Zhang, Wang, Joe. CAM-NAS, Applied Sciences 13(17), 9686, 2023.
  Lange. evosax: JAX-based evolution strategies. GECCO 2023 Companion.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from segxai_jax import validation
from segxai_jax.nas.budget import Budget, budget_limits, within_budget
from segxai_jax.nas.space import SearchSpace, active_genes

SAMPLINGS = ("evolution", "random")


def _randint(key, shape, high):
    """Uniform ints in ``[0, high)`` as ``floor(u * high)``.

    Not ``jax.random.randint``: with its output feeding the budget check,
    XLA's CPU compiler took minutes on this program (jaxlib 0.10.2).
    """
    draws = jnp.floor(jax.random.uniform(key, shape) * high).astype(jnp.int32)
    return jnp.minimum(draws, jnp.asarray(high) - 1)


@struct.dataclass
class EvolutionHyperparams:
    """Hyper-parameters that may change between generations (arrays).

    Attributes:
      crossover_rate: probability that a child is the uniform crossover of two
        tournament winners before mutation (Zen-NAS: 0).
      immigrant_rate: probability that a child is a fresh random genome.
    """

    crossover_rate: float | jax.Array = 0.0
    immigrant_rate: float | jax.Array = 0.0

    def __post_init__(self):
        for name in ("crossover_rate", "immigrant_rate"):
            value = getattr(self, name)
            if isinstance(value, int | float) or (
                isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0
            ):
                validation.check_real(value, name, minimum=0.0, maximum=1.0)


@struct.dataclass
class EvolutionState:
    """Everything a search carries between generations (what is checkpointed).

    Attributes:
      archive: ``[archive_size, G]`` int32 genomes, best first.
      archive_fitness: ``[archive_size]``; ``-inf`` = empty slot.
      best_genome: ``[G]`` best genome evaluated so far.
      best_fitness: ``[]`` its fitness (``-inf`` before the first ``tell``).
      generation: ``[]`` int32, number of completed ``tell`` calls.
      num_evaluated: ``[]`` int32, children told so far.
    """

    archive: jax.Array
    archive_fitness: jax.Array
    best_genome: jax.Array
    best_fitness: jax.Array
    generation: jax.Array
    num_evaluated: jax.Array


class EvolutionarySearch:
    """Zen-NAS-style evolution over a :class:`SearchSpace` under a budget.

    Args:
      space: the genomes.
      budget: children over it are rejected.
      population_size: children per generation (one vmapped evaluation).
      archive_size: survivors kept between generations (Zen-NAS's ``N``).
      tournament_size: archive members per tournament.
      max_tries: parallel candidates per child for budget rejection.
      sampling: ``"evolution"`` or ``"random"`` (random search).

    Raises:
      ValueError: a size below 1, an unknown sampling, or a budget no genome
        satisfies.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> space = SearchSpace(num_classes=3, depths=(1,), widths=((2, 4), (4, 8)))
      >>> search = EvolutionarySearch(space, Budget(max_params=2000),
      ...                             population_size=4, archive_size=2)
      >>> hyper = search.default_hyperparams
      >>> state = jax.jit(search.init)(jax.random.key(0), hyper)
      >>> genomes, state = jax.jit(search.ask)(jax.random.key(1), state, hyper)
      >>> fitness = -genomes.sum(axis=1).astype(jnp.float32)  # toy fitness
      >>> state = search.tell(genomes, fitness, state, hyper)
      >>> genomes.shape, int(state.generation), int(state.num_evaluated)
      ((4, 9), 1, 4)
    """

    def __init__(
        self,
        space: SearchSpace,
        budget: Budget,
        *,
        population_size: int,
        archive_size: int,
        tournament_size: int = 3,
        max_tries: int = 16,
        sampling: str = "evolution",
    ):
        validation.check_instance(space, "space", SearchSpace)
        validation.check_instance(budget, "budget", Budget)
        for name, value in (
            ("population_size", population_size),
            ("archive_size", archive_size),
            ("tournament_size", tournament_size),
            ("max_tries", max_tries),
        ):
            validation.check_int(value, name, minimum=1)
        validation.check_choice(sampling, "sampling", SAMPLINGS)
        self.space = space
        self.budget = budget
        self.limits = budget_limits(space, budget)
        self.population_size = int(population_size)
        self.archive_size = int(archive_size)
        self.tournament_size = int(tournament_size)
        self.max_tries = int(max_tries)
        self.sampling = sampling
        # Eagerly, once: the fallback of rejection sampling.
        self._fallback = next(
            genome
            for genome in (space.min_genome(i) for i in range(len(space.depths)))
            if bool(self._fits(jnp.asarray(genome)))
        )

    @property
    def default_hyperparams(self) -> EvolutionHyperparams:
        return EvolutionHyperparams(
            crossover_rate=jnp.float32(0.0), immigrant_rate=jnp.float32(0.0)
        )

    # ------------------------------------------------------ per-genome operators
    def _fits(self, genome):
        return within_budget(self.space, self.limits, genome)

    def _first_fit(self, candidates, fits, fallback):
        """First of ``candidates [T, G]`` with ``fits [T]`` set, else ``fallback``."""
        chosen = candidates[jnp.argmax(fits)]
        return jnp.where(fits.any(), chosen, fallback)

    def _uniform(self, key):
        """``[G]``: one genome drawn gene by gene, uniformly (maybe over budget)."""
        limits = jnp.asarray(self.space.num_choices)
        return _randint(key, limits.shape, limits)

    def _draws(self, key):
        return jax.vmap(self._uniform)(jax.random.split(key, self.max_tries))

    def sample(self, key: jax.Array) -> jax.Array:
        """One random genome ``[G]`` within the budget.

        Rejection sampling with ``max_tries`` parallel draws; if none fits, the
        smallest genome of the shallowest feasible depth (always within budget).
        """
        draws = self._draws(key)
        fits = jax.vmap(self._fits)(draws)
        return self._first_fit(draws, fits, jnp.asarray(self._fallback))

    def _mutate_once(self, key, genome):
        key_gene, key_value = jax.random.split(key)
        active = active_genes(self.space, genome)
        gene = jax.random.choice(
            key_gene, genome.shape[0], p=active / jnp.maximum(active.sum(), 1)
        )
        limits = jnp.asarray(self.space.num_choices)
        shift = 1 + _randint(key_value, (), jnp.maximum(limits[gene] - 1, 1))
        value = (genome[gene] + shift) % limits[gene]
        return genome.at[gene].set(value)

    def _mutations(self, key, genome):
        keys = jax.random.split(key, self.max_tries)
        return jax.vmap(self._mutate_once, (0, None))(keys, genome)

    def mutate(self, key: jax.Array, genome: jax.Array) -> jax.Array:
        """Zen-NAS mutation: one active gene changed, within budget, else ``genome``."""
        candidates = self._mutations(key, genome)
        fits = jax.vmap(self._fits)(candidates)
        return self._first_fit(candidates, fits, genome)

    def _tournament(self, key, fitness):
        picks = _randint(key, (self.tournament_size,), self.archive_size)
        return picks[jnp.argmax(fitness[picks])]

    def _child(self, key, state, hyper):
        """One child. Every candidate it may need is drawn first and budget-checked
        in ONE vmapped :func:`genome_cost` (a small program compiles faster)."""
        keys = jax.random.split(key, 8)
        parent = state.archive[self._tournament(keys[0], state.archive_fitness)]
        other = state.archive[self._tournament(keys[1], state.archive_fitness)]
        take = jax.random.bernoulli(keys[2], 0.5, parent.shape)
        crossed = jnp.where(take, other, parent)
        groups = [
            crossed[None],
            self._draws(keys[3]),
            self._mutations(keys[4], crossed),
            self._mutations(keys[5], parent),
        ]
        fits = jax.vmap(self._fits)(jnp.concatenate(groups))
        t = self.max_tries
        fit_groups = [
            fits[:1],
            fits[1 : 1 + t],
            fits[1 + t : 1 + 2 * t],
            fits[1 + 2 * t :],
        ]
        use_random = (state.generation == 0) | jax.random.bernoulli(
            keys[6], hyper.immigrant_rate
        )
        use_cross = (
            jax.random.bernoulli(keys[7], hyper.crossover_rate) & fit_groups[0][0]
        )
        fallback = jnp.asarray(self._fallback)
        random = self._first_fit(groups[1], fit_groups[1], fallback)
        from_crossed = self._first_fit(groups[2], fit_groups[2], crossed)
        from_parent = self._first_fit(groups[3], fit_groups[3], parent)
        mutated = jnp.where(use_cross, from_crossed, from_parent)
        return jnp.where(use_random, random, mutated)

    # ----------------------------------------------------------- init/ask/tell
    def init(self, key: jax.Array, hyperparams: EvolutionHyperparams) -> EvolutionState:
        """An empty archive of random genomes within budget (fitness ``-inf``)."""
        del hyperparams
        archive = jax.vmap(self.sample)(jax.random.split(key, self.archive_size))
        return EvolutionState(
            archive=archive,
            archive_fitness=jnp.full(self.archive_size, -jnp.inf, jnp.float32),
            best_genome=archive[0],
            best_fitness=jnp.float32(-jnp.inf),
            generation=jnp.int32(0),
            num_evaluated=jnp.int32(0),
        )

    def ask(self, key: jax.Array, state: EvolutionState, hyperparams):
        """``(genomes [population_size, G], state)``: the children to evaluate."""
        keys = jax.random.split(key, self.population_size)
        if self.sampling == "random":
            return jax.vmap(self.sample)(keys), state
        children = jax.vmap(self._child, (0, None, None))(keys, state, hyperparams)
        return children, state

    def tell(
        self,
        genomes: jax.Array,
        fitness: jax.Array,
        state: EvolutionState,
        hyperparams,
    ) -> EvolutionState:
        """Merges evaluated children into the archive (remove the worst).

        Args:
          genomes: ``[population_size, G]`` from :meth:`ask`.
          fitness: ``[population_size]``, larger is better; NaN = worst.
          state: the state :meth:`ask` returned.
          hyperparams: unused (kept for the evosax signature).
        """
        del hyperparams
        fitness = jnp.asarray(fitness, jnp.float32)
        if fitness.shape != (genomes.shape[0],):
            raise ValueError(
                f"fitness: expected shape ({genomes.shape[0]},), got {fitness.shape}"
            )
        fitness = jnp.where(jnp.isnan(fitness), -jnp.inf, fitness)
        merged = jnp.concatenate([state.archive, genomes])
        merged_fitness = jnp.concatenate([state.archive_fitness, fitness])
        # A genome equal to an earlier row (archive first) is a duplicate.
        same = (merged[:, None, :] == merged[None, :, :]).all(-1)
        earlier = jnp.tril(same, k=-1).any(axis=1)
        merged_fitness = jnp.where(earlier, -jnp.inf, merged_fitness)
        order = jnp.argsort(-merged_fitness, stable=True)[: self.archive_size]
        archive, archive_fitness = merged[order], merged_fitness[order]
        improved = archive_fitness[0] > state.best_fitness
        return EvolutionState(
            archive=archive,
            archive_fitness=archive_fitness,
            best_genome=jnp.where(improved, archive[0], state.best_genome),
            best_fitness=jnp.maximum(archive_fitness[0], state.best_fitness),
            generation=state.generation + 1,
            num_evaluated=state.num_evaluated + genomes.shape[0],
        )
