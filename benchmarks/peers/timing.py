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
* Seg-Ablation-CAM at the bottleneck vs pytorch-grad-cam ``AblationCAM``.

Rules: torch uses 2 threads and the ``channels_last`` layout (its fastest on
CPU; plain NCHW is tried too for the one-pass methods); ours is jitted once and
its first call (compile + run) is reported separately; one warm-up call per
configuration is excluded; then the repeats are interleaved (ours, peer config
1, peer config 2, ...) and the median per configuration is reported. The table
shows the fastest peer configuration. Ratio = ours / peer (< 1: we are faster).

Run (needs the ``peers`` extra)::

    python benchmarks/peers/timing.py                # full, ~minutes
    python benchmarks/peers/timing.py --quick        # tiny smoke run
    python benchmarks/peers/timing.py --methods gradient,smoothgrad
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

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
)
LABELS = {
    "gradient": ("vanilla gradient", "Captum Saliency"),
    "seg_grad_cam": ("Seg-Grad-CAM (bottleneck)", "pytorch-grad-cam GradCAM"),
    "hires_cam": ("HiRes-CAM (bottleneck)", "pytorch-grad-cam HiResCAM"),
    "xgrad_cam": ("XGrad-CAM (bottleneck)", "pytorch-grad-cam XGradCAM"),
    "smoothgrad": ("SmoothGrad", "Captum NoiseTunnel(Saliency)"),
    "integrated_gradients": ("integrated gradients", "Captum IntegratedGradients"),
    "occlusion": ("occlusion", "Captum Occlusion"),
    "seg_ablation_cam": (
        "Seg-Ablation-CAM (bottleneck)",
        "pytorch-grad-cam AblationCAM",
    ),
}


def missing_peers() -> str | None:
    """The name of the first missing peer package, or ``None``."""
    import importlib.util

    for name in ("torch", "captum", "pytorch_grad_cam"):
        if importlib.util.find_spec(name) is None:
            return name
    return None


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _median_ms(times: list[float]) -> float:
    return 1000.0 * statistics.median(times)


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Setup:
    """Model pair, inputs and targets shared by every comparison."""

    def __init__(self, config, *, batch: int, size: int, seed: int = 0):
        import jax
        import jax.numpy as jnp
        import torch
        from agreement import make_targets
        from parity import build_pair

        from segxai_jax.models.unet import unet_apply_fn
        from segxai_jax.targets import make_target

        self.config, self.batch, self.size = config, batch, size
        self.model, self.params, twin = build_pair(config, size, seed)
        self.apply_fn = unet_apply_fn(self.model)
        self.x = np.random.default_rng(seed + 1).random(
            (batch, size, size, config.in_channels), dtype=np.float32
        )
        logits = np.asarray(
            jax.jit(lambda v: self.model.apply({"params": self.params}, v))(self.x)
        )
        self.classes, self.masks = make_targets(logits, seed + 2)
        self.xj = jnp.asarray(self.x)
        self.targets = make_target(jnp.asarray(self.classes), jnp.asarray(self.masks))
        self.key = jax.random.key(seed + 3)
        # Torch side: one twin per layout (the weights are the same tensors' copies).
        nchw = torch.from_numpy(np.ascontiguousarray(self.x.transpose(0, 3, 1, 2)))
        self.twins = {
            "channels_last": _copy(twin).to(memory_format=torch.channels_last),
            "nchw": twin,
        }
        self.inputs = {
            "channels_last": nchw.contiguous(memory_format=torch.channels_last),
            "nchw": nchw,
        }
        self.cls_t = torch.from_numpy(self.classes.astype(np.int64))
        self.mask_t = torch.from_numpy(self.masks)
        self.sigma = float(self.x.max() - self.x.min())

    def score_fn(self, layout: str):
        """Captum forward: ``[N] = sum over the ROI of the class logits``.

        Class ids and masks come as additional forward args, so Captum expands
        them with the inputs (noise samples, integration steps, windows).
        """
        import torch

        twin = self.twins[layout]

        def score(inp, cls, mask):
            logits = twin(inp)
            chosen = logits[torch.arange(inp.shape[0]), cls]
            return (chosen * mask).sum(dim=(1, 2))

        return score

    def cam_targets(self):
        from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

        return [
            SemanticSegmentationTarget(int(c), m)
            for c, m in zip(self.classes, self.masks, strict=True)
        ]


def _copy(module):
    import copy

    return copy.deepcopy(module)


def ours_fn(setup: Setup, method: str, *, samples: int, steps: int):
    """A zero-argument callable computing our batched maps (blocked)."""
    import jax

    from segxai_jax import explainers
    from segxai_jax.probes import make_probe

    shape = (setup.size, setup.size, setup.config.in_channels)
    if method in ("seg_grad_cam", "hires_cam", "xgrad_cam", "seg_ablation_cam"):
        probe = make_probe(setup.model, "bottleneck", input_shape=shape)
    gradient = explainers.vanilla_gradient(setup.apply_fn)
    if method == "gradient":
        explain = gradient
    elif method in ("seg_grad_cam", "hires_cam", "xgrad_cam"):
        weighting = "grad_cam" if method == "seg_grad_cam" else method
        explain = explainers.seg_grad_cam(probe, weighting=weighting)
    elif method == "smoothgrad":
        explain = explainers.smoothgrad(gradient, num_samples=samples, noise_level=0.15)
    elif method == "integrated_gradients":
        explain = explainers.integrated_gradients(setup.apply_fn, num_steps=steps)
    elif method == "occlusion":
        explain = explainers.occlusion(
            setup.apply_fn, patch_size=8, stride=4, fill="grey"
        )
    elif method == "seg_ablation_cam":
        explain = explainers.seg_ablation_cam(probe)
    else:
        raise ValueError(method)
    batched = jax.jit(explainers.explain_batch(explain))

    def run():
        return jax.block_until_ready(
            batched(setup.key, setup.params, setup.xj, setup.targets)
        )

    return run


def peer_fns(setup: Setup, method: str, *, samples: int, steps: int, quick: bool):
    """``{config name: zero-argument callable}`` for the peer of ``method``."""
    import torch
    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency
    from pytorch_grad_cam import AblationCAM, GradCAM, HiResCAM, XGradCAM

    fns = {}
    one_pass = ("gradient", "seg_grad_cam", "hires_cam", "xgrad_cam")
    layouts = ("channels_last", "nchw") if method in one_pass else ("channels_last",)
    args = (setup.cls_t, setup.mask_t)  # expanded by Captum with the inputs
    c = setup.config.in_channels
    for layout in layouts:
        x = setup.inputs[layout]
        score = setup.score_fn(layout)
        twin = setup.twins[layout]
        if method == "gradient":
            sal = Saliency(score)
            fns[layout] = lambda sal=sal, x=x: sal.attribute(
                x, abs=False, additional_forward_args=args
            )
        elif method in ("seg_grad_cam", "hires_cam", "xgrad_cam", "seg_ablation_cam"):
            cls = {
                "seg_grad_cam": GradCAM,
                "hires_cam": HiResCAM,
                "xgrad_cam": XGradCAM,
                "seg_ablation_cam": AblationCAM,
            }[method]
            cam = cls(model=twin, target_layers=[twin.stages["bottleneck"]])
            targets = setup.cam_targets()

            def run_cam(cam=cam, x=x, targets=targets):
                return cam(input_tensor=x, targets=targets)

            if method == "seg_ablation_cam":
                for bs in (32,) if quick else (16, 32, 64):
                    fns[f"{layout}, batch_size={bs}"] = (
                        lambda cam=cam, bs=bs, run_cam=run_cam: (
                            setattr(cam, "batch_size", bs),
                            run_cam(),
                        )
                    )
            else:
                fns[layout] = run_cam
        elif method == "smoothgrad":
            nt = NoiseTunnel(Saliency(score))
            for bs in (None, 4, 8, 16):
                fns[f"{layout}, nt_samples_batch_size={bs or 'all'}"] = (
                    lambda nt=nt, x=x, bs=bs: nt.attribute(
                        x,
                        nt_type="smoothgrad",
                        nt_samples=samples,
                        nt_samples_batch_size=bs,
                        stdevs=0.15 * setup.sigma,
                        abs=False,
                        additional_forward_args=args,
                    )
                )
        elif method == "integrated_gradients":
            ig = IntegratedGradients(score)
            n = setup.batch * steps
            for ibs in (None, n // 4, n // 2) if not quick else (None,):
                fns[f"{layout}, internal_batch_size={ibs or 'all'}"] = (
                    lambda ig=ig, x=x, ibs=ibs: ig.attribute(
                        x,
                        n_steps=steps,
                        method="gausslegendre",
                        internal_batch_size=ibs,
                        additional_forward_args=args,
                    )
                )
        elif method == "occlusion":
            occ = Occlusion(score)
            for ppe in (4,) if quick else (1, 4, 8):

                def run_occ(occ=occ, x=x, ppe=ppe):
                    with torch.no_grad():
                        return occ.attribute(
                            x,
                            sliding_window_shapes=(c, 8, 8),
                            strides=(c, 4, 4),
                            baselines=0.5,
                            perturbations_per_eval=ppe,
                            additional_forward_args=args,
                        )

                fns[f"{layout}, perturbations_per_eval={ppe}"] = run_occ
    return fns


def cam_agreement(ours_maps, peer_maps) -> float:
    """Mean per-image Pearson of min-maxed maps (NaN-skipping)."""
    from agreement import min_max, per_image

    r = per_image(min_max(np.asarray(ours_maps)), np.asarray(peer_maps))
    return float(np.nanmean(r)) if np.any(~np.isnan(r)) else float("nan")


def agreement_of(method: str, ours_out, peer_out) -> float | None:
    """Mean per-image Pearson of ours vs the peer's maps (``None``: not compared).

    SmoothGrad is not compared (the two sides draw different noise). CAM maps
    are compared after min-max scaling (pytorch-grad-cam returns them scaled).
    """
    from agreement import per_image

    if method == "smoothgrad":
        return None
    if isinstance(peer_out, tuple):  # the AblationCAM wrapper's (None, cams)
        peer_out = peer_out[-1]
    if method.endswith("cam"):
        return cam_agreement(ours_out, peer_out)
    theirs = peer_out.detach().numpy().transpose(0, 2, 3, 1)  # NHWC
    if method == "occlusion":  # Captum repeats the map over the channels
        theirs = theirs[..., 0]
    r = per_image(np.asarray(ours_out), theirs)
    return float(np.nanmean(r)) if np.any(~np.isnan(r)) else float("nan")


def time_method(setup, method, *, repeats, samples, steps, quick):
    """One comparison: timings of ours and each peer config, plus agreement."""
    ours = ours_fn(setup, method, samples=samples, steps=steps)
    compile_s = _time(ours)  # first call: trace + compile + run
    ours_out = ours()  # warm-up
    peers = peer_fns(setup, method, samples=samples, steps=steps, quick=quick)
    peer_out = {name: fn() for name, fn in peers.items()}  # warm-up each
    times = {"ours": [], **{name: [] for name in peers}}
    for _ in range(repeats):
        times["ours"].append(_time(ours))
        for name, fn in peers.items():
            times[name].append(_time(fn))
    ms = {name: _median_ms(t) for name, t in times.items()}
    best = min(peers, key=lambda n: ms[n])
    agree = agreement_of(method, ours_out, next(iter(peer_out.values())))
    return {
        "method": method,
        "ours_label": LABELS[method][0],
        "peer_label": LABELS[method][1],
        "ours_ms": ms["ours"],
        "ours_compile_s": compile_s,
        "peer_best_config": best,
        "peer_best_ms": ms[best],
        "ratio": ms["ours"] / ms[best],
        "peer_ms": {n: ms[n] for n in peers},
        "pearson_mean": agree,
        "raw_seconds": times,
    }


def table(rows) -> str:
    lines = [
        "| method | ours ms/batch | peer (fastest config) | peer ms/batch "
        "| ratio ours/peer | our compile s | Pearson |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        pearson = "" if r["pearson_mean"] is None else f"{r['pearson_mean']:.6f}"
        lines.append(
            f"| {r['ours_label']} | {r['ours_ms']:.1f} | {r['peer_label']} "
            f"[{r['peer_best_config']}] | {r['peer_best_ms']:.1f} | {r['ratio']:.2f} "
            f"| {r['ours_compile_s']:.1f} | {pearson} |"
        )
    return "\n".join(lines)


def run_benchmark(*, quick: bool, methods, repeats: int | None, seed: int = 0):
    """All comparisons; returns the JSON-able result."""
    import jax
    import torch

    from segxai_jax.models.unet import UNetConfig

    torch.set_num_threads(2)
    if quick:
        config = UNetConfig(
            num_classes=3,
            widths=(4, 8, 8),
            input_norm="per_image",
            bottleneck_head=True,
        )
        batch, size, samples, steps = 2, 32, 4, 4
        repeats = repeats or 2
    else:
        from parity import QUICKSTART

        config = UNetConfig(**QUICKSTART)
        batch, size, samples, steps = 8, 64, 16, 16
        repeats = repeats or 7
    setup = Setup(config, batch=batch, size=size, seed=seed)
    start = time.perf_counter()
    rows = []
    for method in methods:
        row = time_method(
            setup, method, repeats=repeats, samples=samples, steps=steps, quick=quick
        )
        rows.append(row)
        print(
            f"{method}: ours {row['ours_ms']:.1f} ms, peer "
            f"{row['peer_best_ms']:.1f} ms [{row['peer_best_config']}], "
            f"compile {row['ours_compile_s']:.1f} s",
            flush=True,
        )
    import captum

    return {
        "setup": {
            "quick": quick,
            "widths": list(config.widths),
            "num_classes": config.num_classes,
            "input_norm": config.input_norm,
            "bottleneck_head": config.bottleneck_head,
            "batch": batch,
            "image_size": size,
            "smoothgrad_samples": samples,
            "ig_steps": steps,
            "repeats": repeats,
            "torch_threads": torch.get_num_threads(),
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        },
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "torch": torch.__version__,
            "captum": captum.__version__,
            "grad_cam": _dist_version("grad-cam"),
        },
        "total_seconds": time.perf_counter() - start,
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--out",
        default=os.path.join(HERE, os.pardir, "results", "peers.json"),
        help="JSON output; the markdown table goes next to it (.md)",
    )
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}"
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-configure",
        action="store_true",
        help="skip segxai_jax.runtime.configure() (compilation cache, CPU flags)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")  # AblationCAM's progress bars
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already")
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
    if not args.no_configure:
        from segxai_jax import runtime

        runtime.configure()
    result = run_benchmark(
        quick=args.quick, methods=methods, repeats=args.repeats, seed=args.seed
    )
    text = table(result["rows"])
    print(text)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.splitext(out)[0] + ".md", "w") as f:
        f.write(text + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
