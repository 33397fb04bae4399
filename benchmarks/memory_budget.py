"""SmoothGrad-50 on a batch of eight 256x256 images inside a 2 GiB budget.

The explainer and the batch are both budgeted (``memory_budget=``, see
:mod:`segxai_jax.memory`): SmoothGrad picks its noise-sample chunk for one
image, ``explain_batch`` its image chunk for the whole program, each the
largest whose compiled program XLA's memory analysis puts within the budget.
Reported: the chunks chosen, XLA's peak for the final program (arguments +
outputs + temporaries), the same for the unbudgeted program (all 50 samples of
all 8 images at once; compiled, not run), the process's peak resident memory
(``ru_maxrss``, which also holds the Python runtime, XLA's compiler and the
compiled programs), and the wall time of one call.

Setting: the quickstart U-Net (widths 8-64, 11 classes, random weights),
vanilla gradient, ``strategy="lax_map"``.

Run::

    python benchmarks/memory_budget.py [--budget-gib 2] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax
import jax.numpy as jnp

import segxai_jax as sx
from segxai_jax import memory, runtime
from segxai_jax.models import UNetConfig, init_unet, unet_apply_fn


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-gib", type=float, default=2.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    runtime.configure()
    budget = int(args.budget_gib * 2**30)
    model, params = init_unet(
        jax.random.key(0),
        UNetConfig(
            num_classes=11,
            widths=(8, 16, 32, 64),
            input_norm="per_image",
            bottleneck_head=True,
        ),
    )
    gradient = sx.vanilla_gradient(unet_apply_fn(model))
    size, n = args.size, args.images
    xs = jax.random.uniform(jax.random.key(1), (n, size, size, 3))
    targets = sx.make_target(jnp.arange(n) % 10 + 1, jnp.ones((n, size, size)))
    key = jax.random.key(2)

    def batched(sample_chunk, image_chunk, budgeted):
        smooth = sx.smoothgrad(
            gradient,
            num_samples=args.samples,
            chunk_size=sample_chunk,
            strategy="lax_map",
            memory_budget=budget if budgeted else None,
        )
        return sx.explain_batch(
            smooth,
            chunk_size=image_chunk,
            strategy="lax_map",
            memory_budget=budget if budgeted else None,
        )

    unbudgeted_peak = memory.program_peak_bytes(
        batched(None, None, False), key, params, xs, targets
    )
    rss_before = max_rss_bytes()
    explain = jax.jit(batched(None, None, True))
    start = time.perf_counter()
    compiled = explain.lower(key, params, xs, targets).compile()
    compile_seconds = time.perf_counter() - start
    chosen = memory.last_choices()
    budgeted_peak = memory.peak_bytes(compiled)
    start = time.perf_counter()
    maps = jax.block_until_ready(compiled(key, params, xs, targets))
    run_seconds = time.perf_counter() - start
    result = {
        "setting": (
            f"SmoothGrad-{args.samples} of the vanilla gradient, quickstart U-Net "
            f"(random weights), batch of {n} images {size}x{size}, lax_map"
        ),
        "budget_bytes": budget,
        "chunks_chosen": chosen,
        "xla_peak_bytes_budgeted": budgeted_peak,
        "xla_peak_bytes_unbudgeted": unbudgeted_peak,
        "within_budget": budgeted_peak is not None and budgeted_peak <= budget,
        "process_max_rss_bytes_before": rss_before,
        "process_max_rss_bytes_after": max_rss_bytes(),
        "compile_seconds_with_chunk_search": compile_seconds,
        "run_seconds": run_seconds,
        "maps_finite": bool(jnp.all(jnp.isfinite(maps))),
        "maps_shape": list(maps.shape),
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
