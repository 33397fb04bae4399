"""Search loop: checkpoints, resume equality, JSON-lines log, no going back."""

import json
import sys
import textwrap
from pathlib import Path

import chex
import jax
import numpy as np
import pytest
from _testing import committed_steps, kill_at_random_point

from segxai_jax.nas import Budget, EvolutionarySearch, genome_cost, run_search
from segxai_jax.training import CheckpointError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def search(space):
    return EvolutionarySearch(
        space,
        Budget(max_params=1500, image_size=8),
        population_size=4,
        archive_size=3,
        tournament_size=2,
    )


@pytest.fixture(scope="module")
def evaluate(space):
    cost = jax.jit(jax.vmap(lambda g: genome_cost(space, g)))

    def evaluate(genomes):  # deterministic toy fitness; one NaN per population
        params = np.asarray(cost(genomes)[0], np.float32)
        params[-1] = np.nan
        return params

    return evaluate


def test_killed_search_resumes_to_the_same_result(search, evaluate, tmp_path):
    full = run_search(
        search, evaluate, seed=3, generations=4, workdir=tmp_path / "a", progress=False
    )
    part = run_search(
        search,
        evaluate,
        seed=3,
        generations=4,
        workdir=tmp_path / "b",
        stop_after=2,
        progress=False,
    )
    assert len(part.history) == 2
    resumed = run_search(
        search, evaluate, seed=3, generations=4, workdir=tmp_path / "b", progress=False
    )
    assert resumed.resumed_from == 2
    chex.assert_trees_all_equal(resumed.state, full.state)
    drop = ("seconds", "candidates_per_second")
    strip = [{k: v for k, v in h.items() if k not in drop} for h in resumed.history]
    assert strip == [
        {k: v for k, v in h.items() if k not in drop} for h in full.history
    ]
    lines = (tmp_path / "b" / "search_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["generation"] for line in lines] == [1, 2, 3, 4]
    entry = json.loads(lines[-1])
    assert entry["num_evaluated"] == 16 and entry["num_nan"] == 1
    assert 0 < entry["best_params_use"] <= 1
    # Same seed without a workdir: the same search.
    again = run_search(search, evaluate, seed=3, generations=4, progress=False)
    chex.assert_trees_all_equal(again.state, full.state)


def test_never_goes_back_and_refuses_another_run(search, evaluate, tmp_path):
    run_search(
        search, evaluate, seed=0, generations=3, workdir=tmp_path, progress=False
    )
    with pytest.raises(CheckpointError, match="already holds generation 3"):
        run_search(
            search, evaluate, seed=0, generations=2, workdir=tmp_path, progress=False
        )
    with pytest.raises(CheckpointError, match="different search"):
        run_search(
            search, evaluate, seed=1, generations=3, workdir=tmp_path, progress=False
        )
    done = run_search(
        search, evaluate, seed=0, generations=3, workdir=tmp_path, progress=False
    )
    assert done.resumed_from == 3 and len(done.history) == 3
    with pytest.raises(ValueError, match="generations"):
        run_search(search, evaluate, seed=0, generations=0)


_KILLABLE_SEARCH = textwrap.dedent(
    """
    import sys, time
    import jax
    import numpy as np
    from segxai_jax import runtime
    runtime.configure()
    from segxai_jax.nas import (
        Budget, EvolutionarySearch, SearchSpace, genome_cost, run_search)

    space = SearchSpace(num_classes=3, depths=(1, 2),
                        widths=((2, 4), (4, 6), (6, 8)), blocks=(1, 2),
                        kernels=(1, 3, 5))
    search = EvolutionarySearch(space, Budget(max_params=1500, image_size=8),
                                population_size=4, archive_size=3,
                                tournament_size=2)
    cost = jax.jit(jax.vmap(lambda g: genome_cost(space, g)))

    def evaluate(genomes):
        time.sleep(0.3)  # a generation lasts long enough to be killed inside
        params = np.asarray(cost(genomes)[0], np.float32)
        params[-1] = np.nan
        return params

    run_search(search, evaluate, seed=5, generations=8, workdir=sys.argv[1],
               progress=False)
    """
)


@pytest.mark.parametrize("kill_seed", [0, 1])
def test_sigkilled_search_resumes_to_the_same_state(
    search, evaluate, tmp_path, kill_seed
):
    workdir = tmp_path / "killed"
    kill_at_random_point(
        [sys.executable, "-c", _KILLABLE_SEARCH, str(workdir)],
        ready=lambda: len(committed_steps(workdir / "checkpoints")) >= 1,
        seed=kill_seed,
        max_delay=1.5,
        env={"PYTHONPATH": str(REPO)},
    )
    full = run_search(search, evaluate, seed=5, generations=8, progress=False)
    resumed = run_search(
        search, evaluate, seed=5, generations=8, workdir=workdir, progress=False
    )
    assert resumed.resumed_from > 0
    chex.assert_trees_all_equal(resumed.state, full.state)
    lines = (workdir / "search_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["generation"] for line in lines] == list(range(1, 9))
