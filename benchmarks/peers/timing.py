"""Wall-clock timing of our explainers against the peers, same model, same targets.

The quickstart U-Net (widths (8, 16, 32, 64), per-image input norm, bottleneck
head, 11 classes) with random weights, copied into its PyTorch twin
(``torch_unet.TorchUNet``); a batch of 8 random 64x64 images; the paper's
target (class-``c`` logits summed over an ROI box), the same on both sides.
Pairs timed, ours vs peer:

* vanilla gradient vs Captum ``Saliency`` (raw gradient, ``abs=False``);
* Seg-Grad-CAM / HiRes-CAM / XGrad-CAM at the bottleneck vs pytorch-grad-cam
  ``GradCAM`` / ``HiResCAM`` / ``XGradCAM`` (``SemanticSegmentationTarget``),
  with the per-image Pearson agreement of the min-maxed maps;
* SmoothGrad (16 samples, noise 0.15) vs Captum ``NoiseTunnel(Saliency)``
  (``nt_samples=16``, ``nt_samples_batch_size`` in {all, 4, 8, 16});
* integrated gradients (16 Gauss-Legendre steps, black baseline) vs Captum
  ``IntegratedGradients`` (``n_steps=16``, ``internal_batch_size`` variants);
* occlusion (8 px patch, stride 4, grey fill) vs Captum ``Occlusion``
  (``perturbations_per_eval`` variants);
* Seg-Ablation-CAM at the bottleneck vs pytorch-grad-cam ``AblationCAM``;
* Grad-CAM++, LayerCAM, Eigen-CAM and Score-CAM at the bottleneck vs
  pytorch-grad-cam ``GradCAMPlusPlus``, ``LayerCAM``, ``EigenCAM``,
  ``ScoreCAM``;
* segment-mask ablation (a 4 x 4 grid of segments, black fill) vs Captum
  ``FeatureAblation`` with the same segments as ``feature_mask``
  (``perturbations_per_eval`` variants).

Rules: each side runs in its own process (``timing_workers.py``; in one
process the two thread pools slow each other down), with its framework's
default threading: torch with 2 threads, XLA with its CPU client's pool over
both cores. torch uses the ``channels_last`` layout (its fastest on CPU; plain
NCHW is tried too for the one-pass methods). Ours is jitted once and its first
call (trace + compile + run, with the persistent compilation cache of
``segxai_jax.runtime.configure()``) is reported as first-call latency; one
warm-up call per configuration is excluded; then single calls are interleaved
(ours, peer config 1, peer config 2, ..., repeated) while the other process
waits on a pipe, and the median per configuration is reported. The table shows
the fastest peer configuration. Ratio = ours / peer (< 1: we are faster).

``--scaling``: a grid varying one factor at a time (batch 1/8/32, side
64/128/256, samples or steps 8/32/128, the ablated layer's channels 8-64,
occlusion windows 16/49/225), written to ``peers_scaling.json`` / ``.md``.

Run (needs the ``peers`` extra)::
    python benchmarks/peers/timing.py                # batch 8, 64x64, ~6 min
    python benchmarks/peers/timing.py --scaling      # the grid, ~20 min
    python benchmarks/peers/timing.py --quick        # tiny; --methods a,b picks
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the repository

import timing_workers  # noqa: E402
from map_stats import agreement_of  # noqa: E402
from timing_support import (  # noqa: E402
    Worker,
    dist_version,
    gpu_fallbacks,
    missing_peers,
    parse_cases,
)
from timing_tables import LABELS, SCALING, scaling_table, table  # noqa: E402

from experiments.shared.results import cpu_model, isa_level  # noqa: E402

THREADS = 2  # torch threads; XLA's CPU client uses every core of this 2-core machine

INSTALL_HINT = 'pip install -e ".[test,peers]"'
METHODS = (
    "gradient",
    "seg_grad_cam",
    "hires_cam",
    "xgrad_cam",
    "smoothgrad",
    "integrated_gradients",
    "occlusion",
    "seg_ablation_cam",
    "grad_cam_plus_plus",
    "layer_cam",
    "eigen_cam",
    "score_cam",
    "mask_ablation",
)


def _median_ms(times: list[float]) -> float:
    return 1000.0 * statistics.median(times)


def compare(ours: Worker, peer: Worker, method: str, options: dict, repeats: int):
    """One comparison: interleaved timings of ours and every peer config."""
    mine = ours.request(cmd="prepare", method=method, options=options)
    theirs = peer.request(cmd="prepare", method=method, options=options)
    configs = theirs["configs"]
    times = {"ours": [], **{name: [] for name in configs}}
    for _ in range(repeats):
        times["ours"].append(ours.request(cmd="time", config="ours")["s"])
        for name in configs:
            times[name].append(peer.request(cmd="time", config=name)["s"])
    ms = {name: _median_ms(t) for name, t in times.items()}
    best = min(configs, key=lambda n: ms[n])
    # The fastest call of each side: noise on a shared machine only adds time,
    # so the ratio of minima is a second, steadier estimate next to the medians.
    fastest = {name: 1000.0 * min(t) for name, t in times.items()}
    best_min = min(configs, key=lambda n: fastest[n])
    agree = agreement_of(method, np.load(mine["output"]), np.load(theirs["output"]))
    return {
        "method": method,
        "options": options,
        "ours_label": LABELS[method][0],
        "peer_label": LABELS[method][1],
        "ours_ms": ms["ours"],
        "ours_compile_s": mine["first_call_s"]["ours"],
        "peer_first_call_s": theirs["first_call_s"],
        "peer_best_config": best,
        "peer_best_ms": ms[best],
        "ratio": ms["ours"] / ms[best],
        "ratio_of_minima": fastest["ours"] / fastest[best_min],
        "peer_ms": {n: ms[n] for n in configs},
        "pearson_mean": agree,
        "raw_seconds": times,
    }


def start_workers(
    config, *, batch, size, seed, quick, configure, workdir, device="cpu"
):
    """The two worker processes for one model/data setting."""
    fields = json.dumps(dataclasses.asdict(config))
    spec = os.path.join(workdir, f"spec_b{batch}_s{size}.npz")
    common = ["--spec", spec, "--config", fields, "--batch", str(batch)]
    common += ["--size", str(size), "--seed", str(seed)]
    common += ["--quick"] if quick else []
    common += ["--device", device]
    ours = Worker("ours", common + (["--configure"] if configure else []))
    try:
        peer = Worker("peer", common + ["--threads", str(THREADS)])
    except BaseException:
        ours.close()
        raise
    return ours, peer


def run_case(
    config, case: dict, methods, *, repeats, seed, quick, configure, workdir, device
):
    """Every method of one setting (batch, image size, method options)."""
    ours, peer = start_workers(
        config,
        batch=case["batch"],
        size=case["size"],
        seed=seed,
        quick=quick,
        configure=configure,
        workdir=workdir,
        device=device,
    )
    rows = []
    try:
        for method in methods:
            row = compare(ours, peer, method, case.get("options", {}), repeats)
            row.update(
                batch=case["batch"],
                image_size=case["size"],
                ours_xla_flags=ours.info["xla_flags"],
                ours_device=ours.info["device"],
                peer_device=peer.info["device"],
            )
            rows.append(row)
            print(
                f"[b{case['batch']} s{case['size']} {case.get('options', {})}] "
                f"{method}: ours {row['ours_ms']:.1f} ms, peer "
                f"{row['peer_best_ms']:.1f} ms [{row['peer_best_config']}], "
                f"ratio {row['ratio']:.2f}, compile {row['ours_compile_s']:.1f} s",
                flush=True,
            )
    finally:
        ours.close()
        peer.close()
    return rows


QUICK_CONFIG = dict(
    num_classes=3, widths=(4, 8, 8), input_norm="per_image", bottleneck_head=True
)
QUICK_OPTIONS = {"samples": 4, "steps": 4}


# One factor varied at a time from the default (batch 8, 64x64, 16 samples or
# steps, bottleneck layer, 8 px windows at stride 4); the methods that the
# factor scales. Sizes are chosen so that the whole grid runs in ~15 minutes.
def run_benchmark(
    *,
    quick: bool,
    methods,
    repeats: int | None,
    seed: int = 0,
    configure: bool = True,
    scaling: bool = False,
    device: str = "cpu",
    cases: list[tuple[int, int]] | None = None,
):
    """All comparisons; returns the JSON-able result.

    ``cases``: (batch, image side) settings of the main table instead of the
    default batch 8 of 64x64 (ignored by ``quick`` and ``scaling``).
    """
    import jax

    from segxai_jax.models.unet import UNetConfig

    if quick:
        config = UNetConfig(**QUICK_CONFIG)
        quick_case = {"batch": 2, "size": 32, "options": QUICK_OPTIONS}
        cases = {"default": [(quick_case, methods)]}
        repeats = repeats or 2
    else:
        from parity import QUICKSTART

        config = UNetConfig(**QUICKSTART)
        cases = {
            "default": [
                ({"batch": b, "size": size}, methods) for b, size in cases or [(8, 64)]
            ]
        }
        if scaling:
            cases = SCALING
        repeats = repeats or 7
    start = time.perf_counter()
    rows, scaling_rows = [], {}
    with tempfile.TemporaryDirectory() as workdir:
        for factor, settings in cases.items():
            for case, case_methods in settings:
                found = run_case(
                    config,
                    case,
                    case_methods,
                    repeats=repeats,
                    seed=seed,
                    quick=quick,
                    configure=configure,
                    workdir=workdir,
                    device=device,
                )
                if factor == "default":
                    rows.extend(found)
                else:
                    scaling_rows.setdefault(factor, []).extend(found)
    return {
        "setup": {
            "quick": quick,
            "widths": list(config.widths),
            "num_classes": config.num_classes,
            "input_norm": config.input_norm,
            "bottleneck_head": config.bottleneck_head,
            "default_options": dict(timing_workers.DEFAULT_OPTIONS),
            "repeats": repeats,
            "threads": THREADS,
            "cpu_count": os.cpu_count(),
            "configured": configure,
            "device": device,
            "processes": "one per side, interleaved single calls",
        },
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "torch": dist_version("torch"),
            "captum": dist_version("captum"),
            "grad_cam": dist_version("grad-cam"),
            "platform": platform.platform(),
            "processor": cpu_model(),
            "isa": isa_level(),
        },
        "total_seconds": time.perf_counter() - start,
        "rows": rows,
        "scaling": scaling_rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="the scaling grid (batch, image size, samples, channels, windows)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="JSON output (default benchmarks/results/peers.json, or "
        "peers_scaling.json with --scaling); the markdown goes next to it (.md)",
    )
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}"
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: both sides on the GPU (refused when either would fall back "
        "to the CPU)",
    )
    parser.add_argument(
        "--cases",
        default=None,
        help="BATCHxSIDE settings of the main table, comma-separated (default "
        "8x64; with --device cuda 8x64,16x256)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-configure",
        action="store_true",
        help="skip segxai_jax.runtime.configure() (compilation cache, CPU flags) "
        "in our worker",
    )
    args = parser.parse_args(argv)
    missing = missing_peers()
    if missing is not None:
        print(
            f"benchmarks/peers/timing.py needs the peer libraries ({missing!r} is "
            f"not installed). Install them with:\n    {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {METHODS}")
    if args.scaling and args.quick:
        parser.error("--scaling and --quick are exclusive")
    if args.device == "cuda" and (reasons := gpu_fallbacks()):
        print(
            "--device cuda refused, this would not be a GPU comparison:\n  "
            + "\n  ".join(reasons),
            file=sys.stderr,
        )
        return 2
    cases = parse_cases(
        args.cases or ("8x64,16x256" if args.device == "cuda" else "8x64"), parser
    )
    result = run_benchmark(
        quick=args.quick,
        methods=methods,
        repeats=args.repeats,
        seed=args.seed,
        configure=not args.no_configure,
        scaling=args.scaling,
        device=args.device,
        cases=cases,
    )
    text = scaling_table(result["scaling"]) if args.scaling else table(result["rows"])
    print(text)
    name = "peers_scaling.json" if args.scaling else "peers.json"
    out = os.path.abspath(args.out or os.path.join(HERE, os.pardir, "results", name))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.splitext(out)[0] + ".md", "w") as f:
        f.write(text + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
