"""How much a bucketed population evaluator could gain: FLOPs and warm time.

The masked supernet of :mod:`segxai_jax.nas.supernet` evaluates a population
in one ``jit(vmap)`` call, but every candidate pays for the widest channels,
both kernel rings and both depths, so on a CPU it runs at 0.37-0.44x of a loop
over the candidates' own, already-compiled U-Nets (``docs/nas.md``). Bucketing
the population (one program per bucket, sized to the bucket's largest member)
removes part of that padding. This script measures the best any such design
can reach, without building it: for each bucketing scheme every candidate is
evaluated by the U-Net of its bucket's padded architecture, jitted once per
bucket and warm, in a plain loop. Batching the candidates of a bucket gains
nothing on this CPU (the vmapped supernet and a loop over it run at the same
speed, ``benchmarks/nas_population.py``), so the loop's time is the bucketed
evaluator's time at best, and its ratio to the own-architecture loop is an
upper bound of the bucketed evaluator's speed-up against that loop.

Schemes (the bucket key; the padded architecture takes the element-wise
maximum of the members' widths, kernels and blocks):

* ``exact``: the candidate's own U-Net (the already-compiled loop itself);
* ``depth_kernels_blocks``: same depth, kernels and blocks per stage, widths
  padded;
* ``depth``: same depth, everything else padded;
* ``masked_supernet``: the supernet fitness for one candidate (every
  candidate padded to the whole space).

Same problem as ``benchmarks/nas_population.py`` (the ``cam_nas`` space,
16 genomes under 25 % of the teacher's parameters, 8 probe images of 64x64,
Seg-Grad-CAM at the bottleneck). Warm times are the median over
``--repeats`` rounds that interleave the schemes. Usage::

    python benchmarks/nas_buckets.py --out benchmarks/results/nas_buckets.json

About 2 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from benchmarks.flops import compiled_flops  # noqa: E402
from benchmarks.nas_population import fitness_for_config, setup  # noqa: E402
from experiments.shared.results import environment  # noqa: E402
from segxai_jax import runtime  # noqa: E402
from segxai_jax.models import UNetConfig, init_unet  # noqa: E402


def _as_tuple(value, stages: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * stages


def padded(configs: list[UNetConfig]) -> UNetConfig:
    """The smallest U-Net holding every member: element-wise maxima."""
    stages = 2 * len(configs[0].widths) - 1

    def most(field):
        rows = [_as_tuple(getattr(c, field), stages) for c in configs]
        return tuple(max(column) for column in zip(*rows, strict=True))

    return dataclasses.replace(
        configs[0],
        widths=most("widths"),
        kernel_size=most("kernel_size"),
        blocks_per_stage=most("blocks_per_stage"),
    )


SCHEMES = {
    "exact": lambda c: c,
    "depth_kernels_blocks": lambda c: (
        len(c.widths),
        _as_tuple(c.kernel_size, 2 * len(c.widths) - 1),
        _as_tuple(c.blocks_per_stage, 2 * len(c.widths) - 1),
    ),
    "depth": lambda c: len(c.widths),
}


def bucket_configs(configs: list[UNetConfig], scheme: str) -> list[UNetConfig]:
    """Each candidate's padded architecture under ``scheme``."""
    key = SCHEMES[scheme]
    members: dict = {}
    for config in configs:
        members.setdefault(key(config), []).append(config)
    return [padded(members[key(config)]) for config in configs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="", help="path of the JSON results")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget-fraction", type=float, default=0.25)
    args = parser.parse_args(argv)
    runtime.configure_cpu_flags()
    problem = setup(args.population, args.images, args.budget_fraction)
    space, genomes, fitness = problem["space"], problem["genomes"], problem["fitness"]
    data = (problem["images"], problem["targets"], problem["maps"])
    configs = [space.to_config(genome) for genome in genomes]

    programs = {}  # padded config -> (jitted fitness, params, FLOPs)
    calls = {}
    for scheme in SCHEMES:
        calls[scheme] = bucket_configs(configs, scheme)
        for config in calls[scheme]:
            if config not in programs:
                score = fitness_for_config(config)
                params = init_unet(jax.random.key(0), config)[1]
                flops = compiled_flops(score, params, *data)
                jax.block_until_ready(score(params, *data))  # compile + warm
                programs[config] = (score, params, flops)
    supernet = jax.jit(fitness.fn)
    supernet_flops = compiled_flops(
        supernet, problem["weights"], jnp.asarray(genomes[0]), fitness.data
    )

    def run(scheme):
        if scheme == "masked_supernet":
            return [
                supernet(problem["weights"], jnp.asarray(g), fitness.data)
                for g in genomes
            ]
        return [programs[c][0](programs[c][1], *data) for c in calls[scheme]]

    names = [*SCHEMES, "masked_supernet"]
    for name in names:
        jax.block_until_ready(run(name))
    seconds = {name: [] for name in names}
    for _ in range(args.repeats):  # interleaved rounds: drift hits every scheme
        for name in names:
            tic = time.perf_counter()
            jax.block_until_ready(run(name))
            seconds[name].append(time.perf_counter() - tic)

    exact_s = statistics.median(seconds["exact"])
    exact_flops = sum(programs[c][2] for c in calls["exact"])
    rows = {}
    for name in names:
        if name == "masked_supernet":
            flops, buckets = supernet_flops * len(genomes), 1
        else:
            flops = sum(programs[c][2] for c in calls[name])
            buckets = len(set(calls[name]))
        median = statistics.median(seconds[name])
        rows[name] = {
            "programs": buckets,
            "gflop_per_candidate": flops / len(genomes) / 1e9,
            "flops_vs_exact": flops / exact_flops,
            "warm_s_per_population": median,
            "warm_s_all_rounds": seconds[name],
            "candidates_per_s": len(genomes) / median,
            "speed_vs_exact_loop": exact_s / median,
        }
        print(
            f"{name:22s} programs {buckets:3d}  "
            f"{rows[name]['gflop_per_candidate']:.3f} GFLOP/cand  "
            f"FLOPs x{rows[name]['flops_vs_exact']:.2f}  "
            f"{rows[name]['candidates_per_s']:.1f} cand/s  "
            f"speed vs exact loop {rows[name]['speed_vs_exact_loop']:.2f}x"
        )
    results = {
        "command": "python benchmarks/nas_buckets.py " + " ".join(sys.argv[1:]),
        "population": len(genomes),
        "images": args.images,
        "repeats": args.repeats,
        "schemes": rows,
        "environment": environment(),
    }
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
