"""Which students each budget kind of the CAM-NAS study admits.

The ``five_seeds`` comparison bounds students by 25 % of the teacher's
parameters AND FLOPs, ``five_seeds_params`` by the parameters alone. This
script enumerates every genome of the study's space (2,654,208), counts its
parameters and FLOPs exactly (:func:`segxai_jax.nas.space.genome_cost`,
vmapped) and reports, per budget kind (parameters, FLOPs, both), how many
students it admits, how far the sets overlap and the hand-designed student
of each. Usage::

    python benchmarks/nas_budget_kinds.py --out benchmarks/results/nas_budget_kinds.json

Under a minute on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from experiments.cam_nas import measure  # noqa: E402
from experiments.cam_nas.config import get_config  # noqa: E402
from experiments.shared.results import environment  # noqa: E402
from segxai_jax.models import UNetConfig, count_flops, count_params  # noqa: E402
from segxai_jax.nas.budget import budget_limits  # noqa: E402
from segxai_jax.nas.space import genome_cost  # noqa: E402

KINDS = {"params": (0.25, None), "flops": (None, 0.25), "both": (0.25, 0.25)}


def teacher_config(config) -> UNetConfig:
    """The study's teacher architecture (11 TextureDigits classes, RGB)."""
    model = config.teacher.model
    return UNetConfig(
        num_classes=11,
        widths=tuple(model.widths),
        blocks_per_stage=model.blocks_per_stage,
        kernel_size=model.kernel_size,
        input_norm=model.input_norm,
        bottleneck_head=model.bottleneck_head,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="", help="results JSON path")
    args = parser.parse_args(argv)
    config = get_config("five_seeds")
    teacher = teacher_config(config)
    space = measure.search_space(config.space, teacher)
    choices = [range(int(n)) for n in space.num_choices]
    genomes = jnp.asarray(list(itertools.product(*choices)), jnp.int32)
    params, units = map(
        np.asarray, jax.jit(jax.vmap(lambda g: genome_cost(space, g)))(genomes)
    )
    admitted, results = {}, {"genomes": int(len(genomes)), "kinds": {}}
    for kind, (params_fraction, flops_fraction) in KINDS.items():
        config.budget.params_fraction = params_fraction
        config.budget.flops_fraction = flops_fraction
        budget = measure.make_budget(config.budget, teacher, space, 64)
        max_params, max_units = budget_limits(space, budget)
        admitted[kind] = (params <= max_params) & (units <= max_units)
        hand = measure.hand_designed(teacher, budget)
        results["kinds"][kind] = {
            "params_fraction": params_fraction,
            "flops_fraction": flops_fraction,
            "admitted": int(admitted[kind].sum()),
            "hand_designed": {
                "widths": list(hand.widths),
                "params": count_params(hand),
                "flops": count_flops(hand, height=64, width=64),
            },
        }
    results["flops_admitted_also_within_params"] = int(
        (admitted["flops"] & admitted["params"]).sum()
    )
    results["both_equals_flops_share"] = results["kinds"]["both"]["admitted"] / max(
        results["kinds"]["flops"]["admitted"], 1
    )
    results["teacher"] = dataclasses.asdict(teacher)
    results["command"] = "python benchmarks/nas_budget_kinds.py --out " + (
        args.out or "<stdout>"
    )
    results["environment"] = environment()
    print(json.dumps(results, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
