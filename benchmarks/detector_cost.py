"""Cost of the attack detectors of ``experiments/attack_three_term``.

Each detector re-explains an image and compares the map with the deployed
explanation (``experiments/attack_three_term/detection.py``): the softplus
re-explanation (one more pass of the same explainer), SmoothGrad of the base
gradient (16 samples) and Seg-Ablation-CAM at the bottleneck (one forward plus
an ablated pass per channel). This script times, for every attacked
explainer, the deployed explanation and each detector's re-explanation of a
batch of test images with the committed quickstart teacher: jitted, warm,
medians of ``--repeats`` interleaved calls (one round calls every program
once), and writes ms per image and the ratio to the explanation itself.

Run::

    python benchmarks/detector_cost.py        # ~2 minutes on 2 cores
    # -> benchmarks/results/detector_cost.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from experiments.attack_three_term import run as study  # noqa: E402
from experiments.attack_three_term.config import EXPLAINERS, Config  # noqa: E402
from experiments.attack_three_term.detection import re_explainers  # noqa: E402
from experiments.shared.attacks import AttackPlan, explainer_factories  # noqa: E402
from experiments.shared.results import Timer, environment  # noqa: E402
from experiments.shared.targets import largest_digit_targets  # noqa: E402
from segxai_jax import attacks  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "detector_cost.json"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    settings = Config()
    context = study.prepare(settings, "runs/detector_cost", Timer())
    data, params, model = context["data"], context["params"], context["model"]
    index = study._select_images(data["test"], args.images, 0)
    x = jax.numpy.asarray(data["test"]["image"][index])
    targets = largest_digit_targets(
        np.asarray(context["predict"](params, x).argmax(-1)),
        np.asarray(data["test"]["mask"][index]),
        data["spec"].num_classes,
    )
    key = jax.random.key(0)
    programs = {}
    for name in EXPLAINERS:
        plan = AttackPlan(
            cam_layer=settings.cam_layer,
            smoothgrad=settings.smoothgrad,
            target="square",
            shift=settings.shift,
            square_size=settings.square_size,
            attack=settings.attack,
            defence=settings.defence,
        )
        deployed = explainer_factories(
            model,
            name,
            x.shape[1:],
            cam_layer=settings.cam_layer,
            smoothgrad=settings.smoothgrad,
        )[0](None)
        explainers = {
            "explanation": deployed,
            **re_explainers(model, name, x.shape[1:], plan, settings.ablation_layer),
        }
        for what, explain in explainers.items():
            fn = jax.jit(
                lambda p, e=explain: attacks.explain_images(e, key, p, x, targets)
            )
            jax.block_until_ready(fn(params))  # compile and warm
            programs[(name, what)] = fn
    times = {k: [] for k in programs}
    for _ in range(args.repeats):
        for k, fn in programs.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(params))
            times[k].append(time.perf_counter() - start)
    rows = {}
    for (name, what), values in times.items():
        ms = 1000 * statistics.median(values) / args.images
        rows.setdefault(name, {})[what] = {"ms_per_image": ms}
    for name, entry in rows.items():
        base = entry["explanation"]["ms_per_image"]
        for what in entry:
            entry[what]["ratio_to_explanation"] = entry[what]["ms_per_image"] / base
        print(name, json.dumps(entry), flush=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "command": "python benchmarks/detector_cost.py",
                "images": args.images,
                "repeats": args.repeats,
                "rows": rows,
                "environment": environment(),
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
