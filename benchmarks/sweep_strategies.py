"""Measures how to sweep SmoothGrad samples on this machine.

SmoothGrad of the vanilla gradient for a batch of images (``vmap`` over images
outside), a U-Net ``UNetConfig(widths=(16, 32, 64, 128), num_classes=11)``
(482k parameters) and 64x64x3 inputs, comparing:

* ``unroll`` / ``lax_map``: ``smoothgrad(..., chunk_size=c, strategy=s)`` inside
  one ``jax.jit`` (``map_chunked``'s two strategies; chunk = n is one vmap);
* ``fold``: the sample axis folded into the batch: one gradient of the sum of the
  per-sample scores over ``[c, H, W, C]`` per chunk (identical maths, since the
  samples are independent), chunks unrolled inside one ``jit``;
* ``python_loop``: a Python loop over one jitted fixed-shape step of ``c``
  samples (the reference from PERFORMANCE-NOTES; it is not expressible inside
  ``jit``).

Each XLA flag setting runs in its own process (flags are read when jax is
imported). Run-time is the median of ``--repeats`` interleaved calls after
compilation; compile time is ``lower + compile``. All variants use the same
noise, and their maps are checked against the single-vmap reference.

Usage:
  python benchmarks/sweep_strategies.py --out /tmp/sweep.json
  python benchmarks/sweep_strategies.py --flag-settings default --repeats 3 \
      --chunk-sizes 4,8 --strategies unroll,fold --out /tmp/quick.json

Expect 30-60 minutes for the full sweep on a 2-core CPU (unrolled chunks of 1
and 2 compile slowest). Other processes on the machine change the numbers:
compare the "CPU (s)" column with the wall time to see how many cores a run got.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _flag_runs import main_with_flag_runs

STRATEGY_NAMES = ("unroll", "lax_map", "fold", "python_loop")


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="path of the JSON results")
    parser.add_argument("--chunk-sizes", default="1,2,4,8,32")
    parser.add_argument("--strategies", default=",".join(STRATEGY_NAMES))
    parser.add_argument("--flag-settings", default="default,ynn_off")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--widths", default="16,32,64,128")
    parser.add_argument("--num-classes", type=int, default=11)
    parser.add_argument(
        "--norm", default=None, help="UNetConfig.norm (default: the model's default)"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def _block(tree):
    import jax

    return jax.block_until_ready(tree)


def _worker(args) -> list[dict]:
    """Runs every variant for the flag setting already in the environment."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import jax
    import jax.numpy as jnp
    import numpy as np

    from segxai_jax.explainers.batching import explain_batch
    from segxai_jax.explainers.gradients import target_score_fn, vanilla_gradient
    from segxai_jax.explainers.smoothgrad import sample_noise, smoothgrad
    from segxai_jax.models.counting import count_params
    from segxai_jax.models.unet import UNetConfig, init_unet, unet_apply_fn
    from segxai_jax.targets import make_target

    n, batch, size = args.num_samples, args.batch, args.image_size
    noise_level = 0.15
    norm = {} if args.norm is None else {"norm": args.norm}
    config = UNetConfig(
        widths=tuple(_ints(args.widths)), num_classes=args.num_classes, **norm
    )
    model, params = init_unet(jax.random.key(0), config, image_size=size)
    apply_fn = unet_apply_fn(model)
    xs = jax.random.uniform(jax.random.key(1), (batch, size, size, 3))
    targets = make_target(jnp.ones(batch, jnp.int32), jnp.ones((batch, size, size)))
    key = jax.random.key(2)
    score = target_score_fn(apply_fn)

    one_gradient = jax.jit(jax.grad(score, argnums=1)).lower(
        params, xs[0], jax.tree.map(lambda a: a[0], targets)
    )
    cost = one_gradient.compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost
    flops_total = float(cost.get("flops", float("nan"))) * n * batch

    def smoothgrad_fn(chunk, strategy):
        explain = smoothgrad(
            vanilla_gradient(apply_fn),
            num_samples=n,
            noise_level=noise_level,
            chunk_size=chunk,
            strategy=strategy,
        )
        return explain_batch(explain)

    def fold_fn(chunk):
        def explain(key_i, params, x, target):
            noise, _ = sample_noise(key_i, x, num_samples=n, noise_level=noise_level)
            noisy = x + noise  # [n, H, W, C]

            def summed_score(noisy_chunk):
                return jnp.sum(
                    jax.vmap(score, in_axes=(None, 0, None))(
                        params, noisy_chunk, target
                    )
                )

            step = chunk or n
            parts = [
                jax.grad(summed_score)(noisy[s : s + step]) for s in range(0, n, step)
            ]
            return jnp.mean(jnp.concatenate(parts), axis=0)

        return explain_batch(explain)

    def python_loop_fn(chunk):
        def noisy_inputs(key, xs):
            keys = jax.random.split(key, batch)
            sample = jax.vmap(
                lambda k, x: sample_noise(k, x, num_samples=n, noise_level=noise_level)[
                    0
                ]
            )
            return xs[:, None] + sample(keys, xs)  # [B, n, H, W, C]

        def step(params, noisy_chunk, targets):  # [B, c, H, W, C]
            per_image = jax.vmap(jax.grad(score, argnums=1), in_axes=(None, 0, None))
            grads = jax.vmap(per_image, in_axes=(None, 0, 0))(
                params, noisy_chunk, targets
            )
            return jnp.sum(grads, axis=1)

        noisy_jit, step_jit = jax.jit(noisy_inputs), jax.jit(step)

        def run(key, params, xs, targets):
            noisy = noisy_jit(key, xs)
            total = 0.0
            for s in range(0, n, chunk):
                total = total + step_jit(params, noisy[:, s : s + chunk], targets)
            return total / n

        def compile_all():
            noisy = noisy_jit.lower(key, xs).compile()
            example = jax.ShapeDtypeStruct((batch, chunk, size, size, 3), xs.dtype)
            return noisy, step_jit.lower(params, example, targets).compile()

        return run, compile_all

    variants = []
    chunk_sizes = _ints(args.chunk_sizes)
    strategies = [s for s in args.strategies.split(",") if s]
    for chunk in chunk_sizes:
        chunk_arg = None if chunk >= n else chunk
        for strategy in strategies:
            if strategy in ("unroll", "lax_map"):
                if chunk_arg is None and strategy == "lax_map":
                    continue  # one vmap of all samples: identical to unroll
                name = "vmap_all" if chunk_arg is None else strategy
                variants.append((name, chunk, smoothgrad_fn(chunk_arg, strategy), None))
            elif strategy == "fold":
                variants.append(("fold", chunk, fold_fn(chunk_arg), None))
            elif strategy == "python_loop" and chunk_arg is not None:
                run, compile_all = python_loop_fn(chunk)
                variants.append(("python_loop", chunk, run, compile_all))

    rows, runners = [], []
    for name, chunk, fn, compile_all in variants:
        start = time.perf_counter()
        if compile_all is None:
            runner = jax.jit(fn).lower(key, params, xs, targets).compile()
        else:
            compile_all()
            runner = fn
        compile_s = time.perf_counter() - start
        _block(runner(key, params, xs, targets))  # warm-up
        runners.append(runner)
        rows.append({"strategy": name, "chunk_size": chunk, "compile_s": compile_s})
        print(f"compiled {name} chunk={chunk}: {compile_s:.1f} s", file=sys.stderr)

    load_before = os.getloadavg()[0]
    times, cpu_times, outputs = [[] for _ in runners], [[] for _ in runners], []
    for repeat in range(args.repeats):
        for i, runner in enumerate(runners):
            start, start_cpu = time.perf_counter(), time.process_time()
            out = _block(runner(key, params, xs, targets))
            times[i].append(time.perf_counter() - start)
            cpu_times[i].append(time.process_time() - start_cpu)
            if repeat == 0:
                outputs.append(np.asarray(out))
    names = [row["strategy"] for row in rows]
    reference = outputs[names.index("vmap_all") if "vmap_all" in names else 0]
    for row, out in zip(rows, outputs, strict=True):
        error = np.linalg.norm(out - reference) / np.linalg.norm(reference)
        row["relative_l2_vs_reference"] = float(error)
    for row, samples, cpu in zip(rows, times, cpu_times, strict=True):
        row["run_s_median"] = statistics.median(samples)
        row["run_s_min"] = min(samples)
        row["run_s_all"] = samples
        row["cpu_s_median"] = statistics.median(cpu)
        row["gflops_per_s"] = flops_total / row["run_s_median"] / 1e9
    meta = {
        "jax": jax.__version__,
        "devices": str(jax.devices()),
        "cpu_count": os.cpu_count(),
        "params": count_params(config),
        "norm": getattr(config, "norm", "none"),
        "load_average_1min": [load_before, os.getloadavg()[0]],
        "gflop_per_smoothgrad_batch": flops_total / 1e9,
    }
    for row in rows:
        row.update(meta)
    return rows


def _markdown(rows) -> str:
    lines = [
        "| flags | strategy | chunk | run (s, median) | run (s, min) | CPU (s) | "
        "compile (s) | GFLOP/s | rel. L2 vs vmap_all |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['flags']} | {r['strategy']} | {r['chunk_size']} | "
            f"{r['run_s_median']:.3f} | {r['run_s_min']:.3f} | "
            f"{r['cpu_s_median']:.2f} | {r['compile_s']:.1f} | "
            f"{r['gflops_per_s']:.0f} | {r['relative_l2_vs_reference']:.1e} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    main_with_flag_runs(__file__, argv, _parse_args, _worker, _markdown)


if __name__ == "__main__":
    main()
