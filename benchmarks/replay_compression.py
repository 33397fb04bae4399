"""Throughput of the replay compressors (images per second, jitted batches).

For each compressor of :mod:`segxai_jax.continual.compress` it times one
jitted, vmapped call on a batch of ``--batch`` images of ``--size`` pixels:

* ``compress``: uint8 quantisation + salient-window search (sum-pooling and
  argmax) + cropping, given the saliency maps;
* ``decompress``: what the training step does to replay an exemplar;
* ``saliency+compress``: Seg-Grad-CAM at the bottleneck of a U-Net
  ``(8, 16, 32, 64)`` (the continual experiment's model at 32 px) plus
  compression, i.e. the whole cost of storing a task's images. Compressors
  that ignore the saliency (full, random box, downsampling) let XLA drop the
  explainer from the compiled program, so their number is compression only.

It reports the median over ``--repeats`` calls after one warm-up call (the
compile time is reported apart) and the images per second.

Usage:
  python benchmarks/replay_compression.py --out /tmp/replay_compression.json
  python benchmarks/replay_compression.py --size 64 --batch 128 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import runtime
from segxai_jax.continual import (
    compress_batch,
    default_explainer,
    downsample_size_for_bytes,
    make_compressor,
    saliency_fn,
)
from segxai_jax.models import UNet, UNetConfig


def _compressors(size: int) -> dict:
    hw = (size, size)
    half = size // 2
    box = make_compressor("box", image_shape=hw, box_size=half, factor=4)
    box_bytes = sum(x.size for x in jax.tree.leaves(box.example)) + 4
    return {
        "full": make_compressor("full", image_shape=hw),
        "patch": make_compressor("patch", image_shape=hw, patch_size=half),
        "box": box,
        "random_box": make_compressor(
            "box", image_shape=hw, box_size=half, factor=4, placement="random"
        ),
        "downsample": make_compressor(
            "downsample", image_shape=hw, size=downsample_size_for_bytes(box_bytes, hw)
        ),
    }


def _time(fn, args, repeats):
    started = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - started)
    return first, statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    runtime.configure()
    rng = np.random.default_rng(0)
    hw = (args.size, args.size)
    images = jnp.asarray(
        rng.integers(0, 256, (args.batch, *hw, 3)) / 255.0, jnp.float32
    )
    masks = jnp.asarray(rng.integers(0, 11, (args.batch, *hw)), jnp.int32)
    maps = jnp.asarray(rng.uniform(size=(args.batch, *hw)), jnp.float32)
    key = jax.random.key(0)
    model = UNet(
        UNetConfig(
            num_classes=11,
            widths=(8, 16, 32, 64),
            blocks_per_stage=1,
            input_norm="per_image",
            bottleneck_head=True,
        )
    )
    params = model.init(key, images[:1])["params"]
    saliency = saliency_fn(
        default_explainer(model, image_shape=(*hw, 3)), num_classes=11
    )
    results = {"size": args.size, "batch": args.batch, "backend": jax.default_backend()}
    rows = {}
    for name, comp in _compressors(args.size).items():
        compress = jax.jit(compress_batch(comp))
        decompress = jax.jit(jax.vmap(comp.decompress))
        exemplars = compress(key, images, masks, maps)

        def both(params, key, images, masks, comp=comp):
            maps = saliency(params, images, masks, (1, 2))
            return compress_batch(comp)(key, images, masks, maps)

        both = jax.jit(both)
        row = {}
        for label, fn, fn_args in (
            ("compress", compress, (key, images, masks, maps)),
            ("decompress", decompress, (exemplars,)),
            ("saliency+compress", both, (params, key, images, masks)),
        ):
            first, median = _time(fn, fn_args, args.repeats)
            row[label] = {
                "first_call_s": first,
                "median_s": median,
                "images_per_s": args.batch / median,
            }
        rows[name] = row
        print(
            f"{name:11s} "
            + "  ".join(f"{k}: {v['images_per_s']:9.0f} img/s" for k, v in row.items()),
            flush=True,
        )
    results["compressors"] = rows
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
