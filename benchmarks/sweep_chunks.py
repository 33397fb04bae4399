"""Steady-state time of SmoothGrad and integrated gradients per chunk size.

The quickstart U-Net with random weights; for each (batch, side) setting the
explainer is compiled once per chunk size, then single calls are interleaved
(chunk a, chunk b, ..., repeated) so that the machine's drift hits every
chunk size alike; the median per chunk size and its ratio to the first one
are reported. This is the evidence behind ``chunk_size="auto"``
(:func:`segxai_jax.sweeps.auto_chunk_size`).

Run::

    python benchmarks/sweep_chunks.py                 # ~3 minutes on 2 cores
    python benchmarks/sweep_chunks.py --chunks 4 16 --settings 8x64 --repeats 9

Writes ``benchmarks/results/sweep_chunks.json`` (and ``.md``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))


def _explainer(name: str, apply_fn, samples: int, chunk):
    from segxai_jax import explainers
    from segxai_jax.postprocess import reduce_channels

    gradient = explainers.vanilla_gradient(apply_fn)
    if name == "SmoothGrad":
        inner = explainers.smoothgrad(
            gradient, num_samples=samples, noise_level=0.15, chunk_size=chunk
        )
        return lambda k, p, x, t: reduce_channels(inner(k, p, x, t), "abs_max")
    return explainers.integrated_gradients(
        apply_fn, num_steps=samples, chunk_size=chunk, channel_reduction="sum"
    )


def measure(method, batch, side, samples, chunks, repeats) -> dict:
    import jax
    import jax.numpy as jnp

    from experiments.shared.options import config_to_dict
    from experiments.shared.recipe import ModelSettings
    from segxai_jax.explainers import explain_batch
    from segxai_jax.models import UNet, UNetConfig, unet_apply_fn
    from segxai_jax.targets import Target, box_roi

    model = UNet(
        UNetConfig(num_classes=11, in_channels=3, **config_to_dict(ModelSettings()))
    )
    x = jax.random.uniform(jax.random.key(1), (batch, side, side, 3))
    params = model.init(jax.random.key(0), x[:1])["params"]
    region = box_roi((side, side), side // 4, side // 4, side // 2, side // 2)
    targets = Target(
        class_id=jnp.ones((batch,), jnp.int32),
        mask=jnp.broadcast_to(region, (batch, side, side)),
    )
    args = (jax.random.key(2), params, x, targets)
    compiled, compile_s = {}, {}
    for chunk in chunks:
        explain = _explainer(method, unet_apply_fn(model), samples, chunk)
        start = time.perf_counter()
        jitted = jax.jit(explain_batch(explain, num_classes=11))
        compiled[chunk] = jitted.lower(*args).compile()
        compile_s[str(chunk)] = time.perf_counter() - start
        jax.block_until_ready(compiled[chunk](*args))  # warm-up
    times = {chunk: [] for chunk in chunks}
    for _ in range(repeats):
        for chunk in chunks:
            start = time.perf_counter()
            jax.block_until_ready(compiled[chunk](*args))
            times[chunk].append(time.perf_counter() - start)
    medians = {str(c): statistics.median(t) for c, t in times.items()}
    first = medians[str(chunks[0])]
    return {
        "method": method,
        "batch": batch,
        "side": side,
        "samples": samples,
        "median_s": medians,
        "ratio_to_first": {c: m / first for c, m in medians.items()},
        "compile_s": compile_s,
        "raw_s": {str(c): t for c, t in times.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", nargs="+", type=int, default=[4, 16])
    parser.add_argument("--settings", nargs="+", default=["1x64", "4x64", "8x64"])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--out", default=str(REPOSITORY / "benchmarks/results/sweep_chunks.json")
    )
    args = parser.parse_args(argv)
    settings = []
    for item in args.settings:
        parts = item.lower().split("x")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            parser.error(f"--settings: expected BATCHxSIDE such as 8x64, got {item!r}")
        settings.append((int(parts[0]), int(parts[1])))
    if any(c < 1 for c in args.chunks) or args.samples < 1 or args.repeats < 1:
        parser.error("--chunks, --samples and --repeats: expected integers >= 1")

    from experiments.shared.results import environment, write_json
    from experiments.shared.tables import markdown_table
    from segxai_jax import runtime

    runtime.configure()
    rows = []
    for method in ("SmoothGrad", "integrated gradients"):
        for batch, side in settings:
            row = measure(method, batch, side, args.samples, args.chunks, args.repeats)
            rows.append(row)
            print(method, batch, side, row["ratio_to_first"], flush=True)
    text = markdown_table(
        ["method", "images x side", *(f"chunk {c}: ms (ratio)" for c in args.chunks)],
        [
            (
                r["method"],
                f"{r['batch']} x {r['side']} px",
                *(
                    f"{1000 * r['median_s'][str(c)]:.1f} "
                    f"({r['ratio_to_first'][str(c)]:.2f})"
                    for c in args.chunks
                ),
            )
            for r in rows
        ],
    )
    command = (
        "python benchmarks/sweep_chunks.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    write_json(
        args.out,
        {
            "rows": rows,
            "repeats": args.repeats,
            "command": command,
            "environment": environment(),
        },
    )
    Path(os.path.splitext(args.out)[0] + ".md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
