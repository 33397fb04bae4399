"""What the NaN guard of invalid targets costs: SmoothGrad with and without it.

Under ``jit`` an invalid target (class id outside ``[0, K)``, an empty ROI)
cannot raise, so :func:`segxai_jax.targets.target_score` multiplies the score
by :func:`segxai_jax.targets.target_validity` (1 or NaN) and clips the class
index of its gather. This script times the same SmoothGrad program with that
guard and with ``target_validity`` replaced by the constant 1 (the
pre-guard program), interleaved call by call, and reports the ratio.

Setting: the quickstart U-Net (widths 8-64, 11 classes, random weights), a
batch of 8 images of 64x64, SmoothGrad of the vanilla gradient with 16 samples
through ``explain_batch``, jitted; median of ``--repeats`` interleaved calls
after one warm-up call each.

Run::

    python benchmarks/validity_overhead.py [--repeats 15] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp

import segxai_jax as sx
from segxai_jax import runtime, targets
from segxai_jax.models import UNetConfig, init_unet, unet_apply_fn


def build(guarded: bool):
    """The jitted batched SmoothGrad, traced with or without the guard."""
    model, params = init_unet(
        jax.random.key(0),
        UNetConfig(
            num_classes=11,
            widths=(8, 16, 32, 64),
            input_norm="per_image",
            bottleneck_head=True,
        ),
    )
    explain = sx.explain_batch(
        sx.smoothgrad(sx.vanilla_gradient(unet_apply_fn(model)), num_samples=16)
    )
    original = targets.target_validity
    if not guarded:
        targets.target_validity = lambda target, num_classes: jnp.float32(1.0)
    try:
        xs = jax.random.uniform(jax.random.key(1), (8, 64, 64, 3))
        batch = sx.make_target(
            jnp.arange(8) % 10 + 1, jnp.ones((8, 64, 64)).at[:, :16].set(0.0)
        )
        compiled = jax.jit(explain).lower(jax.random.key(2), params, xs, batch)
        compiled = compiled.compile()
    finally:
        targets.target_validity = original
    return lambda: compiled(jax.random.key(2), params, xs, batch)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    runtime.configure()
    calls = {"guarded": build(True), "unguarded": build(False)}
    out = {name: jax.block_until_ready(fn()) for name, fn in calls.items()}
    same = bool(jnp.allclose(out["guarded"], out["unguarded"], rtol=0, atol=0))
    times = {name: [] for name in calls}
    for _ in range(args.repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    result = {
        "setting": "SmoothGrad-16 of the vanilla gradient, quickstart U-Net, "
        "batch 8 of 64x64, jitted, median of interleaved calls",
        "repeats": args.repeats,
        "median_seconds": medians,
        "min_seconds": {name: min(t) for name, t in times.items()},
        "ratio_guarded_over_unguarded": medians["guarded"] / medians["unguarded"],
        "maps_bit_identical": same,
        "devices": [str(d) for d in jax.devices()],
        "jax": jax.__version__,
    }
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
