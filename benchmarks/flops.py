"""Achieved FLOP/s of the gradient explainers against this machine's matmul peak.

How close to the hardware limit are the gradient explainers? For each of
vanilla gradient, SmoothGrad and integrated gradients (batch 8 of 64x64, the
quickstart U-Net with random weights, 16 samples / steps) this script reads the
FLOP count of the compiled program from XLA's cost analysis, times the program
(median of ``--repeats`` warm calls) and divides. The reference is the measured
FLOP/s of a large float32 matmul (``2048 x 2048``, jitted), the best case for
this CPU's vector units; convolutions with 3-64 channels, as in this U-Net, are
far more memory-bound than that.

Run::

    python benchmarks/flops.py            # ~1 minute on 2 cores
    python benchmarks/flops.py --json benchmarks/results/flops.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
sys.path.insert(0, os.path.dirname(HERE))  # the repository root: experiments.shared


def _median_seconds(fn, repeats: int) -> float:
    import jax

    jax.block_until_ready(fn())  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compiled_flops(jitted, *args) -> float:
    """FLOPs of ``jitted(*args)`` from XLA's cost analysis of the compiled program."""
    analysis = jitted.lower(*args).compile().cost_analysis()
    if isinstance(analysis, list | tuple):  # older jax: one dict per program
        analysis = analysis[0]
    return float(analysis["flops"])


def matmul_peak(size: int, repeats: int) -> float:
    """FLOP/s of a jitted float32 ``[size, size] @ [size, size]``."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
    matmul = jax.jit(jnp.dot)
    return 2.0 * size**3 / _median_seconds(lambda: matmul(a, a), repeats)


def explainer_rows(*, batch: int, size: int, samples: int, repeats: int):
    import jax
    import jax.numpy as jnp
    import numpy as np
    from map_stats import make_targets
    from parity import QUICKSTART, random_flax_params

    from segxai_jax import explainers
    from segxai_jax.models.unet import UNet, UNetConfig, unet_apply_fn
    from segxai_jax.targets import make_target

    model = UNet(UNetConfig(**QUICKSTART))
    params = random_flax_params(model, (size, size, 3), 0)
    x = np.random.default_rng(1).random((batch, size, size, 3), dtype=np.float32)
    forward = jax.jit(lambda p, v: model.apply({"params": p}, v))
    classes, masks = make_targets(np.asarray(forward(params, x)), 2)
    x = jnp.asarray(x)
    targets = make_target(jnp.asarray(classes), jnp.asarray(masks))
    key = jax.random.key(3)
    apply_fn = unet_apply_fn(model)
    gradient = explainers.vanilla_gradient(apply_fn)
    methods = {
        "forward pass": None,
        "vanilla gradient": gradient,
        f"SmoothGrad ({samples} samples)": explainers.smoothgrad(
            gradient, num_samples=samples
        ),
        f"integrated gradients ({samples} steps)": explainers.integrated_gradients(
            apply_fn, num_steps=samples
        ),
    }
    rows = []
    for name, explain in methods.items():
        if explain is None:
            jitted, args = forward, (params, x)
        else:
            jitted = jax.jit(explainers.explain_batch(explain))
            args = (key, params, x, targets)
        flops = compiled_flops(jitted, *args)
        seconds = _median_seconds(lambda j=jitted, a=args: j(*a), repeats)
        rows.append({"method": name, "flops": flops, "seconds": seconds})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument("--no-configure", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_configure:
        from segxai_jax import runtime

        runtime.configure()
    peak = matmul_peak(args.matmul_size, args.repeats)
    rows = explainer_rows(
        batch=args.batch, size=args.size, samples=args.samples, repeats=args.repeats
    )
    print(f"float32 matmul {args.matmul_size}^2: {peak / 1e9:.1f} GFLOP/s")
    print("| program | GFLOP | ms | GFLOP/s | fraction of matmul peak |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        rate = r["flops"] / r["seconds"]
        r.update(gflops_per_s=rate / 1e9, fraction_of_peak=rate / peak)
        print(
            f"| {r['method']} | {r['flops'] / 1e9:.2f} | {1000 * r['seconds']:.1f} "
            f"| {rate / 1e9:.1f} | {rate / peak:.2f} |"
        )
    if args.json:
        import jax

        from experiments.shared.results import environment

        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": " ".join(["python benchmarks/flops.py", *sys.argv[1:]]),
                    "environment": environment(),  # CPU model, ISA level, versions
                    "matmul_gflops_per_s": peak / 1e9,
                    "batch": args.batch,
                    "image_size": args.size,
                    "jax": jax.__version__,
                    "xla_flags": os.environ.get("XLA_FLAGS", ""),
                    "rows": rows,
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
