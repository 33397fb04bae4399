"""How much work could an exact incremental occlusion save? FLOPs before and after.

Occlusion re-runs the model once per window. An exact incremental scheme
recomputes, for every convolution, only the outputs that differ from the
clean image's (the rest is read from a clean pass): a window changes the
input on ``k x k`` pixels, a ``3 x 3`` convolution widens the changed region
by one pixel per side at its resolution, pooling halves it, the decoder's
up-sampling doubles it and the skip concatenation unites it with the
encoder's. This script walks the quickstart U-Net's convolutions
(:func:`segxai_jax.models.counting.conv_specs`) with that interval arithmetic
for every occlusion window (patch 8, stride 4 at 64x64: 225 windows) and
sums each convolution's FLOPs over its changed outputs only: the FLOPs the
best exact incremental scheme needs ("after"), against the full recompute
("before"; also read from XLA's cost analysis of the real occlusion program).

Two versions of the architecture: as trained (``input_norm="per_image"``:
the image is standardised by its own mean and standard deviation, so any
window changes every standardised pixel and nothing stays local) and the
same network without the input standardisation.

Run::

    python benchmarks/occlusion_locality.py   # ~20 s
    # -> benchmarks/results/occlusion_locality.json
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments.shared.results import environment  # noqa: E402
from segxai_jax import make_target, occlusion  # noqa: E402
from segxai_jax.explainers.occlusion import occlusion_windows  # noqa: E402
from segxai_jax.models import UNetConfig, init_unet, unet_apply_fn  # noqa: E402
from segxai_jax.models.counting import conv_specs, count_flops  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "occlusion_locality.json"
TEACHER = ROOT / "experiments" / "shared" / "teachers" / "quickstart" / "teacher.json"
SIZE, PATCH, STRIDE = 64, 8, 4


def _widen(interval, radius, size):
    a, b = interval
    return max(0, a - radius), min(size, b + radius)


def changed_area_fractions(config: UNetConfig, start: int, size: int) -> dict:
    """Per convolution, the fraction of its outputs one window changes (per axis).

    Intervals per axis (windows are squares, so one axis is enough and the
    area fraction is its square).
    """
    if config.input_norm == "per_image":
        return {spec.name: 1.0 for spec in conv_specs(config)}
    depth, kernels = config.depth, config.stage_kernels
    region = (start, start + PATCH)  # changed input pixels, level 0
    skips, fractions = [], {}
    for s, name in enumerate(config.probe_names):
        level = s if s <= depth else 2 * depth - s
        n = size // 2**level
        if s > depth:  # up-sampling doubles, the skip unites
            fractions[f"{name}_up"] = ((region[1] - region[0]) / (n // 2)) ** 2
            up = (2 * region[0], 2 * region[1])
            skip = skips.pop()
            region = (min(up[0], skip[0]), max(up[1], skip[1]))
        for j in range(config.stage_blocks[s]):
            region = _widen(region, (kernels[s] - 1) // 2, n)
            fractions[f"{name}_conv{j}"] = ((region[1] - region[0]) / n) ** 2
        if s < depth:
            skips.append(region)
            region = (region[0] // 2, -(-region[1] // 2))  # 2x2 max-pool
        if s == depth:
            bottleneck = region
    fractions["head"] = ((region[1] - region[0]) / size) ** 2
    if config.bottleneck_head:
        side = size // 2**depth
        fractions["bottleneck_head"] = ((bottleneck[1] - bottleneck[0]) / side) ** 2
    return fractions


def incremental_flops(config: UNetConfig) -> dict:
    """Mean over the windows of the FLOPs an exact incremental recompute needs."""
    starts = occlusion_windows((SIZE, SIZE), PATCH, STRIDE)[0]
    specs = list(conv_specs(config))
    per_window = []
    for top in starts:
        rows = changed_area_fractions(config, int(top), SIZE)
        for left in starts:
            cols = changed_area_fractions(config, int(left), SIZE)
            # Area fraction = row fraction x column fraction (square roots).
            per_window.append(
                sum(
                    spec.flops(SIZE, SIZE)
                    * np.sqrt(rows[spec.name])
                    * np.sqrt(cols[spec.name])
                    for spec in specs
                )
            )
    full = count_flops(config, height=SIZE)
    return {
        "forward_flops": full,
        "windows": len(per_window),
        "incremental_flops_per_window_mean": float(np.mean(per_window)),
        "incremental_flops_per_window_max": float(np.max(per_window)),
        "after_over_before": float(np.mean(per_window) / full),
    }


def xla_occlusion_flops(config: UNetConfig) -> float:
    """FLOPs of the real occlusion program (one image) from XLA's cost analysis.

    All windows in one ``vmap`` (``chunk_size=None``): XLA's cost analysis
    counts a loop body once, so the default ``lax.map`` over chunks of 4
    would report one chunk.
    """
    model, params = init_unet(jax.random.key(0), config, image_size=SIZE)
    explain = occlusion(
        unet_apply_fn(model), patch_size=PATCH, stride=STRIDE, chunk_size=None
    )
    x = jnp.zeros((SIZE, SIZE, 3))
    target = make_target(1, jnp.ones((SIZE, SIZE)))
    compiled = jax.jit(explain).lower(jax.random.key(1), params, x, target).compile()
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0]
    return float(analysis["flops"])


def main() -> None:
    model = json.loads(TEACHER.read_text())["model"]
    model["widths"] = tuple(model["widths"])
    trained = UNetConfig(**model)
    rows = {}
    for label, config in (
        ("as trained (per-image input standardisation)", trained),
        (
            "same U-Net without input standardisation",
            dataclasses.replace(trained, input_norm="none"),
        ),
    ):
        row = incremental_flops(config)
        row["xla_occlusion_flops"] = xla_occlusion_flops(config)
        row["full_recompute_flops"] = row["forward_flops"] * (row["windows"] + 1)
        rows[label] = row
        print(label, json.dumps(row), flush=True)
    OUT.write_text(
        json.dumps(
            {
                "command": "python benchmarks/occlusion_locality.py",
                "image_size": SIZE,
                "patch_size": PATCH,
                "stride": STRIDE,
                "model": model,
                "rows": rows,
                "environment": environment(),
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
