"""Measures chunk sizes and sweep strategies for Seg-Ablation-CAM and occlusion.

A U-Net ``UNetConfig(widths=(16, 32, 64, 128), num_classes=11)`` on 64x64x3
images (``--batch`` images, ``vmap``-ped over outside the explainer):

* ``ablation``: ``seg_ablation_cam`` over the 64 channels of ``--probe``
  (default ``enc2``, the last encoder stage: 16x16x64, the paper's reference
  setting); each ablation runs only the network downstream of the probe;
* ``occlusion``: ``occlusion(patch_size=8, stride=4)``, 225 windows, each a
  full forward pass.

For each chunk size (``all`` = one ``vmap`` over every item) and strategy
(``unroll``: one traced ``vmap`` per chunk; ``lax_map``: ``jax.lax.map`` with
``batch_size``), it reports the median run time after compilation over
``--repeats`` interleaved calls and the compile time (``lower + compile``).
Each XLA flag setting (``default``; ``ynn_off`` =
``--xla_cpu_experimental_ynn_fusion_type=``) runs in its own process, because
flags are read when jax is imported. The persistent compilation cache is not
enabled, so compile times are real. Maps of every variant are compared with the
single-vmap one.

Usage:
  python benchmarks/ablation_occlusion_chunks.py --out /tmp/chunks.json
  python benchmarks/ablation_occlusion_chunks.py --methods ablation \
      --flag-settings ynn_off --chunk-sizes 2,4,8 --repeats 3 --out /tmp/quick.json

Expect about 15-25 minutes for the full sweep on a 2-core CPU (the occlusion
``unroll`` variants with small chunks dominate: 225 traced forward passes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _flag_runs import main_with_flag_runs

METHODS = ("ablation", "occlusion")
STRATEGIES = ("unroll", "lax_map")


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="path of the JSON results")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--chunk-sizes", default="1,2,4,8,16,all")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--flag-settings", default="default,ynn_off")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--widths", default="16,32,64,128")
    parser.add_argument("--num-classes", type=int, default=11)
    parser.add_argument("--probe", default="enc2")
    parser.add_argument("--patch-size", type=int, default=8)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument(
        "--max-unrolled-chunks",
        type=int,
        default=400,
        help="skip unroll variants with more traced chunks than this",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _chunks(text: str) -> list[int | None]:
    return [None if v == "all" else int(v) for v in text.split(",") if v]


def _worker(args) -> list[dict]:
    """Runs every variant for the flag setting already in the environment."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import jax
    import jax.numpy as jnp
    import numpy as np

    from segxai_jax.explainers.ablation import seg_ablation_cam
    from segxai_jax.explainers.occlusion import occlusion, occlusion_num_windows
    from segxai_jax.models.unet import UNetConfig, init_unet, unet_apply_fn
    from segxai_jax.probes import make_probe
    from segxai_jax.targets import box_roi, make_target

    size, batch = args.image_size, args.batch
    config = UNetConfig(
        widths=tuple(int(w) for w in args.widths.split(",")),
        num_classes=args.num_classes,
    )
    model, params = init_unet(jax.random.key(0), config, image_size=size)
    apply_fn = unet_apply_fn(model)
    xs = jnp.asarray(np.random.default_rng(1).random((batch, size, size, 3)), "float32")
    roi = box_roi((size, size), size // 4, size // 4, size // 2, size // 2)
    targets = make_target(
        jnp.ones(batch, jnp.int32), jnp.broadcast_to(roi, (batch, size, size))
    )
    key = jax.random.key(2)
    probe = make_probe(model, args.probe, input_shape=(size, size, 3))
    counts = {
        "ablation": probe.activation_shape[-1],
        "occlusion": occlusion_num_windows(size, args.patch_size, args.stride),
    }

    def build(method, chunk, strategy):
        if method == "ablation":
            explain = seg_ablation_cam(probe, chunk_size=chunk, strategy=strategy)
        else:
            explain = occlusion(
                apply_fn,
                patch_size=args.patch_size,
                stride=args.stride,
                chunk_size=chunk,
                strategy=strategy,
            )
        keys = jax.random.split(key, batch)
        batched = jax.vmap(explain, in_axes=(0, None, 0, 0))
        return lambda params, xs, targets: batched(keys, params, xs, targets)

    rows, runners = [], []
    for method in [m for m in args.methods.split(",") if m]:
        items = counts[method]
        for chunk in _chunks(args.chunk_sizes):
            chunk = None if chunk is not None and chunk >= items else chunk
            for strategy in [s for s in args.strategies.split(",") if s]:
                if chunk is None and strategy == "lax_map":
                    continue  # one vmap of everything: identical to unroll
                n_chunks = 1 if chunk is None else -(-items // chunk)
                if strategy == "unroll" and n_chunks > args.max_unrolled_chunks:
                    continue
                if chunk is None and any(
                    r["method"] == method and r["chunk_size"] == "all" for r in rows
                ):
                    continue
                start = time.perf_counter()
                runner = jax.jit(build(method, chunk, strategy))
                runner = runner.lower(params, xs, targets).compile()
                compile_s = time.perf_counter() - start
                jax.block_until_ready(runner(params, xs, targets))  # warm-up
                runners.append(runner)
                rows.append(
                    {
                        "method": method,
                        "items": items,
                        "strategy": "vmap_all" if chunk is None else strategy,
                        "chunk_size": "all" if chunk is None else chunk,
                        "compile_s": compile_s,
                    }
                )
                print(
                    f"compiled {method} {strategy} chunk={chunk}: {compile_s:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )

    times, outputs = [[] for _ in runners], []
    for repeat in range(args.repeats):
        for i, runner in enumerate(runners):
            start = time.perf_counter()
            out = jax.block_until_ready(runner(params, xs, targets))
            times[i].append(time.perf_counter() - start)
            if repeat == 0:
                outputs.append(np.asarray(out))
    for method in METHODS:
        indices = [i for i, r in enumerate(rows) if r["method"] == method]
        if not indices:
            continue
        ref_index = next(
            (i for i in indices if rows[i]["chunk_size"] == "all"), indices[0]
        )
        reference = outputs[ref_index]
        for i in indices:
            error = np.linalg.norm(outputs[i] - reference) / np.linalg.norm(reference)
            rows[i]["relative_l2_vs_vmap_all"] = float(error)
    meta = {
        "jax": jax.__version__,
        "devices": str(jax.devices()),
        "cpu_count": os.cpu_count(),
        "batch": batch,
        "probe": args.probe,
        "patch_size": args.patch_size,
        "stride": args.stride,
    }
    for row, samples in zip(rows, times, strict=True):
        row["run_s_median"] = statistics.median(samples)
        row["run_s_all"] = samples
        row["ms_per_item"] = 1e3 * row["run_s_median"] / (row["items"] * batch)
        row.update(meta)
    return rows


def _markdown(rows) -> str:
    lines = [
        "| flags | method | strategy | chunk | run (s, median) | ms / item | "
        "compile (s) | rel. L2 vs vmap_all |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['flags']} | {r['method']} ({r['items']}) | {r['strategy']} | "
            f"{r['chunk_size']} | {r['run_s_median']:.3f} | {r['ms_per_item']:.2f} | "
            f"{r['compile_s']:.1f} | {r['relative_l2_vs_vmap_all']:.1e} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    main_with_flag_runs(__file__, argv, _parse_args, _worker, _markdown)


if __name__ == "__main__":
    main()
