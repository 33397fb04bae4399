"""First-call latency of every explainer: trace + compile + run, cold and warm.

A user's notebook pays the first call of an explainer on every new input
shape. This script measures it for every method of
``experiments/shared/methods.py`` at the quickstart's size (the quickstart
U-Net, 64x64 RGB inputs, 11 classes, the quickstart's method settings), each
in a fresh process so that no in-memory cache of JAX helps:

* ``cold``: an empty persistent compilation cache (a new machine, or a shape
  never seen);
* ``warm``: the persistent cache of ``segxai_jax.runtime.configure()`` filled
  by the cold process (the same shape in a new session); tracing and lowering
  are paid again, XLA compilation is a cache read.

Each worker splits the first call into trace, lower, compile and run (JAX's
ahead-of-time stages of ``jax.jit``), then times 3 more calls of the compiled
program (steady state). Weights are random (latency does not depend on them).

Run::

    python benchmarks/first_call.py                      # ~5 minutes on 2 cores
    python benchmarks/first_call.py --methods gradient SmoothGrad --batches 1
    python benchmarks/first_call.py --out /tmp/first_call.json
    # with extra XLA flags in the workers:
    python benchmarks/first_call.py --xla-flags=--xla_backend_optimization_level=1 \
        --out /tmp/first_call_level1.json

Writes ``benchmarks/results/first_call.json`` (rows, CPU model, ISA level,
versions, the command) and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

NUM_CLASSES = 11  # TextureDigits: background + 10 digits
IMAGE_SIZE = 64


def _worker(method: str, batch: int) -> dict:
    """Runs in a fresh process: the first call of ``method`` on ``batch`` images."""
    import jax
    import jax.numpy as jnp

    from experiments.quickstart.config import ExplainSettings
    from experiments.shared.methods import build_methods
    from experiments.shared.options import config_to_dict
    from experiments.shared.recipe import ModelSettings
    from segxai_jax import runtime
    from segxai_jax.explainers import explain_batch
    from segxai_jax.models import UNet, UNetConfig
    from segxai_jax.targets import Target, box_roi

    runtime.configure()
    config = UNetConfig(
        num_classes=NUM_CLASSES, in_channels=3, **config_to_dict(ModelSettings())
    )
    model = UNet(config)
    shape = (batch, IMAGE_SIZE, IMAGE_SIZE, 3)
    images = jax.random.uniform(jax.random.key(1), shape)
    params = model.init(jax.random.key(0), images[:1])["params"]
    region = box_roi((IMAGE_SIZE, IMAGE_SIZE), 16, 16, 24, 24)
    targets = Target(
        class_id=jnp.ones((batch,), jnp.int32),
        mask=jnp.broadcast_to(region, (batch, IMAGE_SIZE, IMAGE_SIZE)),
    )
    jax.block_until_ready((params, targets))
    methods = build_methods(model, image_size=IMAGE_SIZE, options=ExplainSettings())
    if method not in methods:
        raise SystemExit(f"method: expected one of {sorted(methods)}, got {method!r}")
    jitted = jax.jit(explain_batch(methods[method].explain, num_classes=NUM_CLASSES))
    key = jax.random.key(2)
    args = (key, params, images, targets)
    stages = {}
    start = time.perf_counter()
    traced = jitted.trace(*args)
    stages["trace_s"] = time.perf_counter() - start
    lowered = traced.lower()
    stages["lower_s"] = time.perf_counter() - start - stages["trace_s"]
    compiled = lowered.compile()
    stages["compile_s"] = time.perf_counter() - start - sum(stages.values())
    jax.block_until_ready(compiled(*args))
    stages["run_s"] = time.perf_counter() - start - sum(stages.values())
    stages["first_call_s"] = time.perf_counter() - start
    steady = []
    for _ in range(3):
        tick = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        steady.append(time.perf_counter() - tick)
    stages["steady_s"] = statistics.median(steady)
    return {"method": method, "batch": batch, **stages}


def _run_worker(method: str, batch: int, cache: Path, xla_flags: str) -> dict:
    env = dict(os.environ, SEGXAI_JAX_CACHE_DIR=str(cache))
    if xla_flags:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {xla_flags}".strip()
    command = [sys.executable, __file__, "--worker", method, "--batches", str(batch)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker for {method!r} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def method_names() -> list[str]:
    from experiments.quickstart.config import ExplainSettings
    from experiments.shared.methods import build_methods
    from experiments.shared.options import config_to_dict
    from experiments.shared.recipe import ModelSettings
    from segxai_jax.models import UNet, UNetConfig

    config = UNetConfig(
        num_classes=NUM_CLASSES, in_channels=3, **config_to_dict(ModelSettings())
    )
    built = build_methods(
        UNet(config), image_size=IMAGE_SIZE, options=ExplainSettings()
    )
    return list(built)


def measure(methods: list[str], batches: list[int], xla_flags: str = "") -> list[dict]:
    """Cold then warm first call of each (method, batch), each in a new process."""
    rows = []
    for batch in batches:
        for method in methods:
            with tempfile.TemporaryDirectory() as cache:
                cold = _run_worker(method, batch, Path(cache), xla_flags)
                warm = _run_worker(method, batch, Path(cache), xla_flags)
            row = {"method": method, "batch": batch, "cold": cold, "warm": warm}
            rows.append(row)
            print(
                f"{method:22s} batch {batch}: cold {cold['first_call_s']:.2f} s, "
                f"warm {warm['first_call_s']:.2f} s, steady {cold['steady_s']:.3f} s",
                flush=True,
            )
    return rows


def table(rows: list[dict]) -> str:
    from experiments.shared.tables import markdown_table

    def stage(record, name):
        return f"{record[name]:.2f}"

    return markdown_table(
        [
            "method",
            "images",
            "cold first call s",
            "trace / lower / compile / run s (cold)",
            "warm first call s",
            "compile s (warm)",
            "steady call s",
        ],
        [
            (
                r["method"],
                r["batch"],
                stage(r["cold"], "first_call_s"),
                " / ".join(
                    stage(r["cold"], s)
                    for s in ("trace_s", "lower_s", "compile_s", "run_s")
                ),
                stage(r["warm"], "first_call_s"),
                stage(r["warm"], "compile_s"),
                f"{r['cold']['steady_s']:.3f}",
            )
            for r in rows
        ],
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=None, help="default: all")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 4])
    parser.add_argument(
        "--out", default=str(REPOSITORY / "benchmarks" / "results" / "first_call.json")
    )
    parser.add_argument(
        "--xla-flags",
        default="",
        help="extra XLA_FLAGS for the workers, e.g. "
        "--xla-flags=--xla_backend_optimization_level=1",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(b < 1 for b in args.batches):
        parser.error(f"--batches: expected integers >= 1, got {args.batches}")
    if args.worker:
        print(json.dumps(_worker(args.worker, args.batches[0])))
        return 0
    known = method_names()
    methods = args.methods or known
    unknown = [m for m in methods if m not in known]
    if unknown:
        parser.error(f"--methods: unknown {unknown}; available: {known}")

    from experiments.shared.results import environment, write_json

    rows = measure(methods, args.batches, args.xla_flags)
    text = table(rows)
    command = "python benchmarks/first_call.py" + (
        ""
        if argv is None and len(sys.argv) == 1
        else " " + " ".join(argv or sys.argv[1:])
    )
    write_json(
        args.out,
        {
            "rows": rows,
            "image_size": IMAGE_SIZE,
            "num_classes": NUM_CLASSES,
            "command": command,
            "xla_flags": args.xla_flags,
            "environment": environment(),
        },
    )
    Path(os.path.splitext(args.out)[0] + ".md").write_text(text + "\n")
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
