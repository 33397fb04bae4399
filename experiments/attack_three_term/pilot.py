"""Pilot that chose ``gamma_input``: input change and explanation move per weight.

Command (about 4 minutes on the 2-core CPU)::

    python -m experiments.attack_three_term.pilot

Attacks 4 test images (the first 4 drawn by seed 0) with the vanilla gradient
towards another image's map, 200 steps, for several ``gamma_input`` without an
L-inf budget and, for reference, gamma_input 0 with the 16/255 budget; writes
``experiments/attack_three_term/pilot_gamma_input.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.attack_three_term import run as study
from experiments.attack_three_term.config import Config
from experiments.shared.attacks import AttackPlan, attack_one
from experiments.shared.results import Timer, environment
from experiments.shared.targets import largest_digit_targets

OUT = Path(__file__).with_name("pilot_gamma_input.json")
SETTINGS = ((0.0, None), (1e4, None), (1e5, None), (1e6, None), (1e7, None))
REFERENCE = (0.0, 16 / 255)
REPORTED = (
    "before_to_target_pearson",
    "to_target_pearson",
    "pixel_agreement",
    "input_l2",
    "input_linf",
    "input_psnr",
)


def main() -> None:
    settings = Config()
    context = study.prepare(settings, "runs/attack_three_term_pilot", Timer())
    data, params, model = context["data"], context["params"], context["model"]
    index = study._select_images(data["test"], 4, 0)
    x = jnp.asarray(data["test"]["image"][index])
    labels = jnp.asarray(data["test"]["mask"][index])
    targets = largest_digit_targets(
        np.asarray(context["predict"](params, x).argmax(-1)),
        np.asarray(labels),
        data["spec"].num_classes,
    )
    rows = []
    for gamma, budget in (*SETTINGS, REFERENCE):
        attack = dataclasses.replace(
            settings.attack, gamma_input=gamma, linf_budget=budget
        )
        plan = AttackPlan(
            cam_layer=settings.cam_layer,
            smoothgrad=settings.smoothgrad,
            target="other_image",
            shift=settings.shift,
            square_size=settings.square_size,
            attack=attack,
            defence=settings.defence,
        )
        start = time.perf_counter()
        raw = attack_one(
            model, params, "gradient", x, labels, targets, jax.random.key(0), plan=plan
        )
        metrics = {k: float(np.mean(raw["metrics"][k])) for k in REPORTED}
        rows.append(
            {
                "gamma_input": gamma,
                "linf_budget": budget,
                "seconds": round(time.perf_counter() - start, 1),
                **metrics,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    OUT.write_text(
        json.dumps(
            {
                "command": "python -m experiments.attack_three_term.pilot",
                "images": index.tolist(),
                "rows": rows,
                "environment": environment(),
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
