"""How integrated gradients' error falls with the step count, on a trained U-Net.

The committed quickstart teacher, ``--images`` validation images, each
explained for its largest predicted digit (logits summed over the predicted
region, from a black baseline), the map summed over RGB. For each rule and
step count it reports, over the images (median and maximum):

* the completeness error ``|sum IG - (S(x) - S(x0))| / |S(x) - S(x0)|``
  (what an integrated-gradients map promises, checkable without a reference);
* the relative L2 distance to a converged reference map (Gauss-Legendre with
  ``--reference-steps`` steps).

and the fewest steps of each rule whose maximum completeness error is below
``--tolerance``.

Run::

    python benchmarks/ig_steps.py                 # ~2 minutes on 2 cores
    python benchmarks/ig_steps.py --images 4 --steps 4 16 --reference-steps 64
    python benchmarks/ig_steps.py --baseline 0.5 --rules gauss_legendre \
        --out benchmarks/results/ig_steps_grey.json

Writes ``benchmarks/results/ig_steps.json`` (and ``.md``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))


def _teacher_and_targets(num_images: int, workdir: Path):
    from benchmarks.method_costs import committed_teacher
    from experiments.quickstart.config import Config, get_config
    from experiments.shared.options import settings_from
    from experiments.shared.targets import largest_digit_targets

    settings = settings_from(Config, get_config())
    model, params, data, info = committed_teacher(settings, workdir)
    images = data["validation"]["image"][:num_images]
    predicted = np.asarray(model.apply({"params": params}, images).argmax(-1))
    truth = data["validation"]["mask"][:num_images]
    targets = largest_digit_targets(predicted, truth, data["spec"].num_classes)
    return model, params, images, targets, info["dir"]


def measure(args) -> dict:
    import jax
    import jax.numpy as jnp

    from segxai_jax import explainers
    from segxai_jax.explainers import explain_batch
    from segxai_jax.models import unet_apply_fn
    from segxai_jax.targets import target_score

    with tempfile.TemporaryDirectory() as tmp:
        model, params, images, targets, teacher = _teacher_and_targets(
            args.images, Path(tmp)
        )
    apply_fn = unet_apply_fn(model)
    baseline = (
        args.baseline if args.baseline in ("black", "white") else float(args.baseline)
    )

    def maps(steps, rule):
        explain = explainers.integrated_gradients(
            apply_fn,
            num_steps=steps,
            rule=rule,
            baseline=baseline,
            channel_reduction="sum",
        )
        batched = jax.jit(explain_batch(explain))
        return np.asarray(batched(None, params, images, targets), np.float64)

    def score(x, target):
        return target_score(apply_fn(params, x), target)

    scores = jax.vmap(score)(images, targets)
    starts = {"black": 0.0, "white": 1.0}.get(args.baseline, baseline)
    baselines = jax.vmap(score)(jnp.full_like(images, starts), targets)
    difference = np.asarray(scores - baselines, np.float64)  # [B]
    reference = maps(args.reference_steps, "gauss_legendre")
    rows = []
    for rule in args.rules:
        for steps in args.steps:
            if rule == "riemann_trapezoid" and steps < 2:
                continue
            found = maps(steps, rule)
            completeness = np.abs(found.sum((1, 2)) - difference) / np.abs(difference)
            l2 = np.linalg.norm((found - reference).reshape(len(found), -1), axis=1)
            l2 /= np.linalg.norm(reference.reshape(len(found), -1), axis=1)
            rows.append(
                {
                    "rule": rule,
                    "steps": steps,
                    "completeness_error_median": float(np.median(completeness)),
                    "completeness_error_max": float(completeness.max()),
                    "relative_l2_to_reference_median": float(np.median(l2)),
                    "relative_l2_to_reference_max": float(l2.max()),
                }
            )
            print(rule, steps, rows[-1], flush=True)
    fewest = {}
    for rule in args.rules:
        ok = [
            r["steps"]
            for r in rows
            if r["rule"] == rule and r["completeness_error_max"] <= args.tolerance
        ]
        fewest[rule] = min(ok) if ok else None
    reference_completeness = np.abs(reference.sum((1, 2)) - difference) / np.abs(
        difference
    )
    return {
        "teacher": teacher,
        "baseline": args.baseline,
        "images": args.images,
        "reference_steps": args.reference_steps,
        "reference_completeness_error_max": float(reference_completeness.max()),
        "tolerance": args.tolerance,
        "fewest_steps_within_tolerance": fewest,
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument(
        "--steps", nargs="+", type=int, default=[2, 4, 8, 16, 32, 64, 128]
    )
    parser.add_argument(
        "--rules",
        nargs="+",
        default=["gauss_legendre", "riemann_middle", "riemann_trapezoid"],
    )
    parser.add_argument("--reference-steps", type=int, default=512)
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument(
        "--baseline", default="black", help="black, white or a constant grey level"
    )
    parser.add_argument(
        "--out", default=str(REPOSITORY / "benchmarks/results/ig_steps.json")
    )
    args = parser.parse_args(argv)
    from segxai_jax.explainers.gradients import IG_RULES

    if args.images < 1 or args.reference_steps < 2 or min(args.steps) < 1:
        parser.error("--images, --steps: expected >= 1; --reference-steps: >= 2")
    if args.baseline not in ("black", "white"):
        try:
            float(args.baseline)
        except ValueError:
            parser.error(
                f"--baseline: expected black, white or a number, got {args.baseline!r}"
            )
    unknown = sorted(set(args.rules) - set(IG_RULES))
    if unknown:
        parser.error(f"--rules: unknown {unknown}; available: {list(IG_RULES)}")

    from experiments.shared.results import environment, write_json
    from experiments.shared.tables import markdown_table
    from segxai_jax import runtime

    runtime.configure()
    result = measure(args)
    result["command"] = (
        "python benchmarks/ig_steps.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    result["environment"] = environment()
    write_json(args.out, result)
    text = markdown_table(
        ["rule", "steps", "completeness error (median / max)", "rel. L2 to reference"],
        [
            (
                r["rule"],
                r["steps"],
                f"{r['completeness_error_median']:.2e} / "
                f"{r['completeness_error_max']:.2e}",
                f"{r['relative_l2_to_reference_median']:.2e} / "
                f"{r['relative_l2_to_reference_max']:.2e}",
            )
            for r in result["rows"]
        ],
    )
    Path(os.path.splitext(args.out)[0] + ".md").write_text(text + "\n")
    print(text)
    print("fewest steps within tolerance:", result["fewest_steps_within_tolerance"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
