"""The search loop: ask, evaluate, tell, checkpoint, log; resumable.

:func:`run_search` runs an :class:`~segxai_jax.nas.EvolutionarySearch` for a
number of generations. The key of generation ``g`` is
``fold_in(key(seed), g)``, so a run depends only on the seed, the strategy and
the (deterministic) evaluator. With a ``workdir``, after every generation:

* the state (a ``flax.struct`` pytree) is saved with Orbax under
  ``workdir/checkpoints/<generation>`` together with a JSON record (the run's
  fingerprint and the history);
* ``workdir/search_log.jsonl`` is rewritten atomically from that history, one
  line per generation (best and mean fitness, budget use, throughput).

A killed run restarted with the same arguments resumes from its newest
checkpoint and ends in the same state as an uninterrupted run (tested). A
checkpoint is never overwritten by an older one: the store refuses to write a
generation it already holds, and a run asked for fewer generations than are
stored raises instead of going back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from segxai_jax import validation
from segxai_jax.nas.space import genome_cost
from segxai_jax.nas.strategy import EvolutionarySearch, EvolutionState
from segxai_jax.training.checkpointing import (
    CheckpointError,
    CheckpointStore,
    ensure_writable_dir,
)
from segxai_jax.training.resume import json_fingerprint, resume, write_history_log

LOG_FILE = "search_log.jsonl"


@dataclasses.dataclass
class SearchResult:
    """Outcome of :func:`run_search`.

    Attributes:
      state: the final :class:`EvolutionState` (``best_genome``,
        ``best_fitness``, the archive).
      history: one dict per generation (what the JSON-lines log holds).
      resumed_from: generations restored from a checkpoint (0 if none).
      seconds: wall time of the generations run in this call.
    """

    state: EvolutionState
    history: list[dict]
    resumed_from: int
    seconds: float


@functools.lru_cache(maxsize=16)
def _population_cost(space):
    return jax.jit(jax.vmap(lambda genome: genome_cost(space, genome)))


def _finite_mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _log_entry(strategy, generation, genomes, fitness, state, seconds) -> dict:
    space, budget = strategy.space, strategy.budget
    unit = space.flop_unit(budget.image_size)
    both = np.concatenate([np.asarray(state.best_genome)[None], np.asarray(genomes)])
    params, units = (np.asarray(c, np.int64) for c in _population_cost(space)(both))
    best_params, best_units = int(params[0]), int(units[0])
    params, units = params[1:], units[1:]
    fitness = np.asarray(fitness, np.float64)
    best = float(state.best_fitness)
    entry = {
        "generation": generation,
        "best_fitness": best if np.isfinite(best) else None,
        "best_genome": np.asarray(state.best_genome).tolist(),
        "best_params": best_params,
        "best_flops": best_units * unit,
        "mean_fitness": _finite_mean(fitness),
        "max_fitness": float(np.nanmax(fitness))
        if np.isfinite(fitness).any()
        else None,
        "num_nan": int(np.isnan(fitness).sum()),
        "mean_params": float(params.mean()),
        "num_evaluated": int(state.num_evaluated),
        "seconds": seconds,
        "candidates_per_second": len(fitness) / seconds if seconds > 0 else None,
    }
    if budget.max_params is not None:
        entry["best_params_use"] = best_params / budget.max_params
        entry["mean_params_use"] = float(params.mean()) / budget.max_params
    if budget.max_flops is not None:
        entry["best_flops_use"] = best_units * unit / budget.max_flops
    return entry


def run_search(
    strategy: EvolutionarySearch,
    evaluate: Callable[[np.ndarray], np.ndarray],
    *,
    seed: int,
    generations: int,
    hyperparams=None,
    workdir: str | Path | None = None,
    fingerprint: dict | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    description: str = "search",
) -> SearchResult:
    """Runs (or resumes) a search for ``generations`` generations.

    Args:
      strategy: the evolutionary strategy.
      evaluate: ``evaluate(genomes [P, G]) -> fitness [P]`` (e.g. a
        :func:`~segxai_jax.nas.make_population_evaluator` with the weights
        bound); must be deterministic for resumed runs to equal fresh ones.
      seed: the one seed of the run.
      generations: total generations of the run.
      hyperparams: an :class:`~segxai_jax.nas.EvolutionHyperparams` (default:
        the strategy's).
      workdir: checkpoint and log folder (``None``: neither).
      fingerprint: JSON-serialisable description of everything else that
        defines the run (space, budget, fitness); a workdir holding
        checkpoints of another fingerprint is refused.
      stop_after: stop after this many generations in total (to split a run).
      progress: show a progress bar.
      description: progress-bar label.

    Returns:
      A :class:`SearchResult`.

    Raises:
      CheckpointError: the workdir holds another run, or more generations than
        asked for (a resumed search never replaces newer checkpoints).
    """
    validation.check_instance(strategy, "strategy", EvolutionarySearch)
    validation.check_callable(evaluate, "evaluate", "evaluate(genomes) -> fitness", 1)
    validation.check_int(seed, "seed", minimum=0)
    validation.check_int(generations, "generations", minimum=1)
    validation.check_optional_int(stop_after, "stop_after", minimum=0)
    hyperparams = strategy.default_hyperparams if hyperparams is None else hyperparams
    key = jax.random.key(seed)
    state = jax.jit(strategy.init)(jax.random.fold_in(key, -1 % 2**31), hyperparams)
    ask, tell = jax.jit(strategy.ask), jax.jit(strategy.tell)
    record_id = json_fingerprint(
        {
            "seed": seed,
            "population_size": strategy.population_size,
            "archive_size": strategy.archive_size,
            "tournament_size": strategy.tournament_size,
            "max_tries": strategy.max_tries,
            "sampling": strategy.sampling,
            "space": dataclasses.asdict(strategy.space),
            "budget": dataclasses.asdict(strategy.budget),
            "hyperparams": jax.tree.map(float, dataclasses.asdict(hyperparams)),
            "run": fingerprint or {},
        }
    )
    history: list[dict] = []
    start = 0
    with contextlib.ExitStack() as stack:
        store = None
        if workdir is not None:
            workdir = ensure_writable_dir(workdir, name="workdir")
            store = stack.enter_context(CheckpointStore(workdir / "checkpoints"))
            resumed = resume(store, {"state": state}, record_id, what="search")
            if resumed.step > generations:
                raise CheckpointError(
                    f"generations: {workdir} already holds generation "
                    f"{resumed.step}, more than the {generations} asked for; "
                    "refusing to go back"
                )
            start, history = resumed.step, resumed.history
            if resumed.items is not None:
                state = resumed.items["state"]
                write_history_log(workdir / LOG_FILE, history)
        end = generations if stop_after is None else min(generations, stop_after)
        began = time.perf_counter()
        bar = tqdm(
            range(start, end),
            initial=start,
            total=generations,
            desc=description,
            disable=not progress,
            leave=False,
        )
        for generation in bar:
            tic = time.perf_counter()
            genomes, state = ask(
                jax.random.fold_in(key, generation), state, hyperparams
            )
            fitness = np.asarray(evaluate(np.asarray(genomes)), np.float32)
            state = tell(genomes, fitness, state, hyperparams)
            seconds = time.perf_counter() - tic
            entry = _log_entry(
                strategy, generation + 1, genomes, fitness, state, seconds
            )
            history.append(entry)
            bar.set_postfix(best=entry["best_fitness"], mean=entry["mean_fitness"])
            if store is not None:
                store.save(
                    generation + 1,
                    {"state": state},
                    {"fingerprint": record_id, "history": history},
                )
                write_history_log(workdir / LOG_FILE, history)
        bar.close()
        seconds = time.perf_counter() - began
    return SearchResult(state, history, start, seconds)
