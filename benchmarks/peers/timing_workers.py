"""The two sides of the timing benchmark, each served from its own process.

Why separate processes: in one process the two frameworks' thread pools get in
each other's way. Measured on a 2-core CPU (jaxlib 0.10.2, torch 2.14.1): after
``torch.set_num_threads(2)`` our batched input gradient went from 19.1 to
23.2 ms with no torch work running at all, and ``OMP_WAIT_POLICY=PASSIVE``
(which removes that) made Captum's ``Saliency`` 1.5x slower (20 -> 30 ms).
So each side runs in a process of its own with its framework's default
threading, and the driver (``timing.py``) interleaves single timed calls:
while one side runs, the other blocks on a pipe.

Protocol (one JSON object per line; replies are prefixed with ``@@`` so that
library output on stdout is ignored):

* ``{"cmd": "prepare", "method": m, "options": {...}}`` builds the callables
  of ``m``, calls each once (our first call = trace + compile + run, reported
  as first-call latency), calls each again as warm-up, saves the first
  configuration's maps to an ``.npy`` file; reply ``{"configs": [...],
  "first_call_s": {...}, "output": path}``.
* ``{"cmd": "time", "config": name}``: one timed call; reply ``{"s": t}``.
* ``{"cmd": "quit"}``.

The JAX side also writes the shared inputs (weights drawn with NumPy, images,
targets) to ``spec.npz``, which the PyTorch side loads: both explain the same
model on the same data.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from timing_common import (  # noqa: E402
    CAM_METHODS,
    DEFAULT_OPTIONS,
    SEGMENT_CELLS,
    config_from_dict,
    flatten,
)
from timing_peer_side import PeerSide  # noqa: E402

__all__ = ["OursSide", "PeerSide", "serve"]


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class OursSide:
    """Our explainers (jitted, batched) on the spec's model and data."""

    def __init__(self, spec_path: str, config_fields: dict, *, batch, size, seed):
        import jax
        import jax.numpy as jnp
        from map_stats import make_targets
        from parity import random_flax_params

        from segxai_jax.models.unet import UNet, unet_apply_fn
        from segxai_jax.targets import make_target

        self.config = config_from_dict(config_fields)
        self.size = size
        self.model = UNet(self.config)
        shape = (size, size, self.config.in_channels)
        self.params = random_flax_params(self.model, shape, seed)
        self.apply_fn = unet_apply_fn(self.model)
        x = np.random.default_rng(seed + 1).random((batch, *shape), dtype=np.float32)
        logits = np.asarray(
            jax.jit(lambda p, v: self.model.apply({"params": p}, v))(self.params, x)
        )
        classes, masks = make_targets(logits, seed + 2)
        np.savez(spec_path, x=x, classes=classes, masks=masks, **flatten(self.params))
        self.x = jnp.asarray(x)
        self.targets = make_target(jnp.asarray(classes), jnp.asarray(masks))
        self.key = jax.random.key(seed + 3)

    def device_name(self) -> str:
        import jax

        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"

    def build(self, method: str, options: dict) -> dict:
        """``{"ours": zero-argument callable}`` (blocks until the maps are ready)."""
        import jax

        from segxai_jax import explainers
        from segxai_jax.probes import make_probe

        o = {**DEFAULT_OPTIONS, **options}
        if method in CAM_METHODS:
            shape = (self.size, self.size, self.config.in_channels)
            probe = make_probe(self.model, o["layer"], input_shape=shape)
        gradient = explainers.vanilla_gradient(self.apply_fn)
        if method == "gradient":
            explain = gradient
        elif method in ("seg_grad_cam", "hires_cam", "xgrad_cam"):
            weighting = "grad_cam" if method == "seg_grad_cam" else method
            explain = explainers.seg_grad_cam(probe, weighting=weighting)
        elif method == "smoothgrad":
            explain = explainers.smoothgrad(
                gradient, num_samples=o["samples"], noise_level=o["noise_level"]
            )
        elif method == "integrated_gradients":
            explain = explainers.integrated_gradients(
                self.apply_fn, num_steps=o["steps"]
            )
        elif method == "occlusion":
            explain = explainers.occlusion(
                self.apply_fn, patch_size=o["patch"], stride=o["stride"], fill="grey"
            )
        elif method == "seg_ablation_cam":
            explain = explainers.seg_ablation_cam(probe)
        elif method == "grad_cam_plus_plus":
            explain = explainers.grad_cam_plus_plus(probe)
        elif method == "layer_cam":
            explain = explainers.layer_cam(probe)
        elif method == "eigen_cam":
            explain = explainers.eigen_cam(probe)
        elif method == "score_cam":  # upsampled as pytorch-grad-cam does
            explain = explainers.score_cam(probe, align_corners=True)
        elif method == "mask_ablation":
            hw = (self.size, self.size)
            explain = explainers.mask_ablation(
                self.apply_fn, explainers.grid_masks(hw, SEGMENT_CELLS), fill="black"
            )
        else:
            raise ValueError(f"method: unknown {method!r}")
        batched = jax.jit(explainers.explain_batch(explain))

        def run():
            return jax.block_until_ready(
                batched(self.key, self.params, self.x, self.targets)
            )

        return {"ours": run}


def check_jax_device(device: str) -> None:
    """Refuses ``--device cuda`` when JAX would run on the CPU."""
    import jax

    if device == "cuda" and jax.default_backend() != "gpu":
        raise SystemExit(
            f"--device cuda: jax {jax.__version__} runs on "
            f"{jax.default_backend()!r} (no CUDA backend), so our side would run "
            "on the CPU; not a GPU comparison"
        )


def to_numpy_nhwc(method: str, out) -> np.ndarray:
    """A peer's output as a NumPy array in our layout (maps ``[B, H, W(, C)]``)."""
    if isinstance(out, np.ndarray):  # pytorch-grad-cam: [B, H, W] already
        return out
    theirs = out.detach().cpu().numpy().transpose(0, 2, 3, 1)  # NCHW -> NHWC
    if method in ("occlusion", "mask_ablation"):  # repeated over the channels
        theirs = theirs[..., 0]
    return theirs


def serve(side, out_dir: str, *, quick: bool) -> None:
    """Answers the driver's commands on stdin until ``quit``."""

    def reply(obj) -> None:
        sys.stdout.write("@@" + json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply(
        {
            "ready": True,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "device": side.device_name(),
        }
    )
    fns: dict = {}
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        if msg["cmd"] == "prepare":
            method = msg["method"]
            if isinstance(side, PeerSide):
                fns = side.build(method, msg.get("options", {}), quick=quick)
            else:
                fns = side.build(method, msg.get("options", {}))
            first = {name: _time(fn) for name, fn in fns.items()}
            outputs = {name: fn() for name, fn in fns.items()}  # warm-up
            name0 = next(iter(fns))
            out = outputs[name0]
            array = (
                np.asarray(out)
                if isinstance(side, OursSide)
                else to_numpy_nhwc(method, out)
            )
            path = os.path.join(out_dir, f"{type(side).__name__}_{method}.npy")
            np.save(path, array)
            reply({"configs": list(fns), "first_call_s": first, "output": path})
        elif msg["cmd"] == "time":
            reply({"s": _time(fns[msg["config"]])})
        else:
            raise ValueError(f"unknown command {msg!r}")


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="timing worker (see timing.py)")
    parser.add_argument("side", choices=("ours", "peer"))
    parser.add_argument("--spec", required=True)
    parser.add_argument("--config", required=True, help="UNetConfig fields (JSON)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--configure", action="store_true")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args(argv)
    fields = json.loads(args.config)
    if args.side == "ours":
        if args.configure:
            from segxai_jax import runtime

            runtime.configure()
        check_jax_device(args.device)
        side = OursSide(
            args.spec, fields, batch=args.batch, size=args.size, seed=args.seed
        )
    else:
        import warnings

        os.environ.setdefault("TQDM_DISABLE", "1")  # AblationCAM's progress bars
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already")
        side = PeerSide(args.spec, fields, threads=args.threads, device=args.device)
    serve(side, os.path.dirname(os.path.abspath(args.spec)), quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
