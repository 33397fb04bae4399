"""Candidates per second: one vmapped population call vs a loop of jitted calls.

The CAM-NAS fitness (Seg-Grad-CAM at the bottleneck of teacher and student,
inverse Euclidean distance, ``--images`` probe images of 64x64) of a
population of ``--population`` random genomes of the experiment's search space
(``experiments/cam_nas/config.py``), three ways:

* ``vmapped``: :func:`segxai_jax.nas.make_population_evaluator`, ONE
  ``jax.jit(jax.vmap(...))`` call on the masked supernet for the whole
  population (compiled once; the median of ``--repeats`` calls);
* ``loop_supernet``: a Python loop calling the same supernet fitness jitted for
  one candidate (compiled once, reused for every genome): isolates what the
  batching itself gains;
* ``loop_materialised``: a Python loop over the materialised small U-Nets,
  each explained by its own jitted function (what a search without the
  supernet does: every new architecture compiles), compile time included;
  its run time without compilation is reported too.

and, with ``--search-generations G > 0``, end to end: the same seeded
evolutionary search (the experiment's strategy settings) run twice for ``G``
generations, once with the vmapped evaluator and once with a loop over
materialised U-Nets that compiles each new architecture once and reuses the
compiled function when an architecture comes back (a cache keyed by the
U-Net config). This is the comparison that matters for a search: its
candidates are new architectures, so a per-candidate loop pays their
compilation, while the warm loop above is an optimistic bound it never sees.

The teacher is an untrained U-Net of the quickstart's architecture (the
throughput does not depend on its weights). Usage::

    python benchmarks/nas_population.py --out /tmp/nas_population.json
    python benchmarks/nas_population.py --population 8 --loop-candidates 4
    python benchmarks/nas_population.py --search-generations 3

Takes about 3-6 minutes on a 2-core CPU with the defaults.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments.shared.results import environment  # noqa: E402
from segxai_jax import make_probe, make_target, runtime, seg_grad_cam  # noqa: E402
from segxai_jax.metrics.similarity import inverse_euclidean  # noqa: E402
from segxai_jax.models import UNet, UNetConfig, init_unet  # noqa: E402
from segxai_jax.nas import (  # noqa: E402
    Budget,
    EvolutionarySearch,
    EvolutionHyperparams,
    SearchSpace,
    init_supernet,
    make_explanation_fitness,
    make_population_evaluator,
    materialise,
    run_search,
    student_explainer,
    teacher_maps,
)


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="", help="path of the JSON results")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--loop-candidates", type=int, default=6)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget-fraction", type=float, default=0.25)
    parser.add_argument(
        "--search-generations",
        type=int,
        default=0,
        help="also time a whole search both ways (0: skip)",
    )
    return parser.parse_args(argv)


def _space():
    from experiments.cam_nas import config as cam_nas

    cfg = cam_nas.get_config().space
    return SearchSpace(
        num_classes=11,
        depths=tuple(cfg.depths),
        widths=tuple(tuple(w) for w in cfg.widths),
        blocks=tuple(cfg.blocks),
        kernels=tuple(cfg.kernels),
    )


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def fitness_for_config(config):
    """The CAM-NAS fitness of one U-Net architecture, jitted for it.

    ``score(params, images, targets, teacher_maps) -> mean similarity``; the
    data are arguments, not closure constants (XLA would constant-fold them at
    every compile).
    """
    student = make_probe(UNet(config), "bottleneck", input_shape=(64, 64, 3))
    explain_one = seg_grad_cam(student)

    @jax.jit
    def score(params, images, targets, maps):
        student_maps = jax.vmap(explain_one, (None, None, 0, 0))(
            None, params, images, targets
        )
        return jax.vmap(inverse_euclidean)(maps, student_maps).mean()

    return score


def _materialised_scorer(space, weights, images, targets, maps):
    """``score(genome) -> (fitness, compiled, first_s, warm_s)`` on small U-Nets.

    Each genome is materialised as its own U-Net and explained by a function
    jitted for that architecture; the jitted function is cached by U-Net config,
    so an architecture that comes back is not compiled again (``compiled`` says
    whether this call compiled).
    """
    cache = {}

    def score_genome(genome, time_warm_call=False):
        config, params = materialise(space, weights, np.asarray(genome))
        compiled = config not in cache
        if compiled:
            cache[config] = fitness_for_config(config)
        tic = time.perf_counter()
        value = float(cache[config](params, images, targets, maps))
        first = time.perf_counter() - tic
        warm = None
        if time_warm_call:
            tic = time.perf_counter()
            cache[config](params, images, targets, maps).block_until_ready()
            warm = time.perf_counter() - tic
        return value, compiled, first, warm

    return score_genome


def _compare_searches(args, space, budget, weights, fitness, data):
    """The same seeded search with the vmapped evaluator and with the loop."""
    from experiments.cam_nas import config as cam_nas

    settings = cam_nas.get_config().search
    strategy = EvolutionarySearch(
        space,
        budget,
        population_size=args.population,
        archive_size=settings.archive_size,
        tournament_size=settings.tournament_size,
    )
    hyper = EvolutionHyperparams(
        crossover_rate=jnp.float32(settings.crossover_rate),
        immigrant_rate=jnp.float32(settings.immigrant_rate),
    )
    vmapped = make_population_evaluator(fitness)  # a new jit: compiles again
    score_genome = _materialised_scorer(space, weights, *data)
    compiles = []

    def loop(genomes):
        values = []
        for genome in genomes:
            value, compiled, _, _ = score_genome(genome)
            values.append(value)
            compiles.append(compiled)
        return np.asarray(values, np.float32)

    out = {"generations": args.search_generations, "population": args.population}
    for name, evaluate in (
        ("vmapped", lambda genomes: vmapped(weights, genomes)),
        ("loop_materialised", loop),
    ):
        tic = time.perf_counter()
        result = run_search(
            strategy,
            evaluate,
            seed=0,
            generations=args.search_generations,
            hyperparams=hyper,
            progress=False,
        )
        seconds = time.perf_counter() - tic
        evaluated = int(result.state.num_evaluated)
        out[name] = {
            "seconds": seconds,
            "candidates_evaluated": evaluated,
            "candidates_per_second": evaluated / seconds,
            "best_genome": np.asarray(result.state.best_genome).tolist(),
            "best_fitness": float(result.state.best_fitness),
        }
        print(f"search with {name} evaluation: {evaluated / seconds:.2f} cand/s")
    out["loop_compiles"] = int(sum(compiles))
    out["loop_calls"] = len(compiles)
    out["speedup"] = (
        out["vmapped"]["candidates_per_second"]
        / out["loop_materialised"]["candidates_per_second"]
    )
    out["same_best_genome"] = (
        out["vmapped"]["best_genome"] == out["loop_materialised"]["best_genome"]
    )
    return out


def setup(population: int, images: int, budget_fraction: float) -> dict:
    """The benchmark's problem: space, probe data, fitness and a population.

    Returns a dict with ``space``, ``budget``, ``weights`` (supernet),
    ``fitness``, ``genomes [P, G]``, ``images``, ``targets``, ``maps`` and
    ``teacher_config``; everything seeded, so every script that imports it
    measures the same population.
    """
    num_images = images
    space = _space()
    teacher_config = UNetConfig(
        num_classes=11,
        widths=(8, 16, 32, 64),
        input_norm="per_image",
        bottleneck_head=True,
    )
    teacher, teacher_params = init_unet(jax.random.key(0), teacher_config)
    images = jax.random.uniform(jax.random.key(1), (num_images, 64, 64, 3))
    masks = jnp.zeros((num_images, 64, 64)).at[:, 16:48, 16:48].set(1.0)
    targets = make_target(jnp.arange(num_images) % 10 + 1, masks)
    probe = make_probe(teacher, "bottleneck", input_shape=(64, 64, 3))
    maps = teacher_maps(seg_grad_cam(probe), teacher_params, images, targets)
    budget = Budget.fraction_of(teacher_config, params=budget_fraction)
    search = EvolutionarySearch(
        space, budget, population_size=population, archive_size=1
    )
    genomes = np.asarray(
        jax.jit(jax.vmap(search.sample))(
            jax.random.split(jax.random.key(2), population)
        )
    )
    weights = init_supernet(jax.random.key(3), space)
    explain = student_explainer(space, seg_grad_cam, "bottleneck")
    fitness = make_explanation_fitness(
        space, explain, images=images, targets=targets, teacher_maps=maps
    )
    return dict(
        space=space,
        budget=budget,
        weights=weights,
        fitness=fitness,
        genomes=genomes,
        images=images,
        targets=targets,
        maps=maps,
        teacher_config=teacher_config,
    )


def main(argv=None):
    args = _parse_args(argv)
    runtime.configure_cpu_flags()  # no persistent cache: compile times are real
    problem = setup(args.population, args.images, args.budget_fraction)
    space, budget, weights, fitness, genomes = (
        problem[k] for k in ("space", "budget", "weights", "fitness", "genomes")
    )
    images, targets, maps = (problem[k] for k in ("images", "targets", "maps"))
    results = {"population": args.population, "images": args.images}

    evaluate = make_population_evaluator(fitness)
    tic = time.perf_counter()
    vmapped_values = evaluate(weights, genomes)
    results["vmapped_first_call_s"] = time.perf_counter() - tic
    seconds = _median_time(lambda: evaluate(weights, genomes), args.repeats)
    results["vmapped_s"] = seconds
    results["vmapped_cps"] = args.population / seconds
    cps = args.population / seconds
    print(f"vmapped: {seconds:.2f} s per population, {cps:.2f} cand/s")

    count = min(args.loop_candidates, args.population)
    single = jax.jit(fitness.fn)
    tic = time.perf_counter()
    single(weights, jnp.asarray(genomes[0]), fitness.data).block_until_ready()
    results["loop_supernet_compile_s"] = time.perf_counter() - tic

    def loop():
        return [single(weights, jnp.asarray(g), fitness.data) for g in genomes[:count]]

    seconds = _median_time(loop, args.repeats)
    loop_values = np.asarray([float(v) for v in loop()])
    results["loop_supernet_cps"] = count / seconds
    print(f"loop over supernet: {count / seconds:.2f} cand/s")

    score_genome = _materialised_scorer(space, weights, images, targets, maps)
    tic = time.perf_counter()
    runs = [score_genome(g, time_warm_call=True) for g in genomes[:count]]
    total = time.perf_counter() - tic
    results["loop_materialised_cps"] = count / total
    results["loop_materialised_no_compile_cps"] = count / sum(r[3] for r in runs)
    mat_values = np.asarray([r[0] for r in runs])
    print(
        f"loop over materialised U-Nets: {count / total:.2f} cand/s with compiles, "
        f"{results['loop_materialised_no_compile_cps']:.2f} cand/s without"
    )
    results["max_abs_diff_vmapped_vs_loop"] = float(
        np.abs(vmapped_values[:count] - loop_values).max()
    )
    results["max_abs_diff_vmapped_vs_materialised"] = float(
        np.abs(vmapped_values[:count] - mat_values).max()
    )
    results["speedup_vs_loop_supernet"] = (
        results["vmapped_cps"] / results["loop_supernet_cps"]
    )
    results["speedup_vs_loop_materialised"] = (
        results["vmapped_cps"] / results["loop_materialised_cps"]
    )
    results["speedup_vs_loop_materialised_no_compile"] = (
        results["vmapped_cps"] / results["loop_materialised_no_compile_cps"]
    )
    if args.search_generations > 0:
        results["search"] = _compare_searches(
            args, space, budget, weights, fitness, (images, targets, maps)
        )
    results["devices"] = [str(d) for d in jax.devices()]
    results["jax"] = jax.__version__
    results["environment"] = environment()  # CPU model, ISA level, versions
    results["command"] = " ".join(
        ["python benchmarks/nas_population.py", *sys.argv[1:]]
    )
    print(json.dumps(results, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
