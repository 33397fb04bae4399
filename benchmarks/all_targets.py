"""All targets of one image in one call: targets per second, ours vs loops vs Captum.

For one image, every class present (11: background and ten digits, drawn as
stripes so that all are present) and every instance (16 squares of one
class) are explained with the vanilla gradient and with Seg-Grad-CAM at the
bottleneck of the quickstart U-Net (random weights, drawn with NumPy; the
PyTorch twin ``benchmarks/peers/torch_unet.py`` gets the same weights).
Configurations:

* ``ours_one_call``: ``jax.jit(explain_targets(explain))``, the T targets
  vmapped in one call (the forward pass is shared);
* ``ours_loop``: the jitted single-target explainer called T times;
* ``captum_loop`` / ``gradcam_loop``: Captum's ``Saliency`` and
  pytorch-grad-cam's ``GradCAM``, one call per target (what their issue
  trackers recommend for many targets);
* ``captum_batched`` / ``gradcam_batched``: the image repeated T times as a
  batch, one target per copy (the best either library offers for this).

Each framework runs in a process of its own (their thread pools interfere in
one process, see ``benchmarks/peers/timing_workers.py``); the driver runs the
two sides alternately ``--rounds`` times and reports, per configuration, the
median over rounds of each round's median call time, as targets per second.
Maps of ``ours_one_call`` and the peers are compared (Pearson, per target).

Run (needs the ``peers`` extra)::

    python benchmarks/all_targets.py [--sizes 64 256] [--rounds 3] [--out r.json]
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

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))

CONFIG = dict(
    num_classes=11, widths=(8, 16, 32, 64), input_norm="per_image", bottleneck_head=True
)
LAYER = "bottleneck"


def scene(size: int, seed: int = 0):
    """``(image, label stripes with every class, instance map of 16 squares)``."""
    rng = np.random.default_rng(seed)
    image = rng.random((size, size, 3), dtype=np.float32)
    stripes = (np.arange(size) * 11 // size)[None, :].repeat(size, 0)
    instances = np.zeros((size, size), np.int64)
    cell = size // 4
    for i in range(4):
        for j in range(4):
            top, left = i * cell + cell // 4, j * cell + cell // 4
            instances[top : top + cell // 2, left : left + cell // 2] = 4 * i + j + 1
    return image, stripes, instances


def target_sets(size: int):
    import segxai_jax as sx

    _, stripes, instances = scene(size)
    classes = sx.class_targets(stripes, 11, skip_background=False)
    per_instance = sx.instance_targets(instances, 3)
    return {
        "every_class": (np.asarray(classes.class_id), np.asarray(classes.mask)),
        "every_instance": (
            np.asarray(per_instance.class_id),
            np.asarray(per_instance.mask),
        ),
    }


def flax_params(size: int):
    from parity import random_flax_params

    from segxai_jax.models.unet import UNet, UNetConfig

    model = UNet(UNetConfig(**CONFIG))
    return model, random_flax_params(model, (size, size, 3), 0)


def _median_call(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def jax_side(size: int, repeats: int, maps_path: str) -> dict:
    import jax
    import jax.numpy as jnp

    import segxai_jax as sx
    from segxai_jax import runtime
    from segxai_jax.models.unet import unet_apply_fn

    runtime.configure()
    model, params = flax_params(size)
    image, _, _ = scene(size)
    x = jnp.asarray(image)
    probe = sx.make_probe(model, LAYER, input_shape=x.shape)
    explainers = {
        "gradient": sx.vanilla_gradient(unet_apply_fn(model)),
        "seg_grad_cam": sx.seg_grad_cam(probe),
    }
    out, maps = {}, {}
    for set_name, (classes, masks) in target_sets(size).items():
        targets = sx.make_target(jnp.asarray(classes), jnp.asarray(masks))
        count = len(classes)
        for method, explain in explainers.items():
            one_call = jax.jit(sx.explain_targets(explain))
            single = jax.jit(explain)
            singles = [
                jax.tree_util.tree_map(lambda a, i=i: a[i], targets)
                for i in range(count)
            ]
            result = jax.block_until_ready(one_call(None, params, x, targets))
            for t in singles:
                jax.block_until_ready(single(None, params, x, t))
            maps[f"{set_name}/{method}"] = np.asarray(result)

            def loop(single=single, singles=singles):
                for t in singles:
                    jax.block_until_ready(single(None, params, x, t))

            out[f"{set_name}/{method}/ours_one_call"] = (
                _median_call(
                    lambda one_call=one_call, targets=targets: jax.block_until_ready(
                        one_call(None, params, x, targets)
                    ),
                    repeats,
                ),
                count,
            )
            out[f"{set_name}/{method}/ours_loop"] = (_median_call(loop, repeats), count)
    np.savez(maps_path, **maps)
    return out


def torch_side(size: int, repeats: int, maps_path: str) -> dict:
    import torch
    from captum.attr import Saliency
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget
    from torch_unet import TorchUNet, load_flax_params

    from segxai_jax.models.unet import UNetConfig

    torch.set_num_threads(os.cpu_count() or 1)
    _, params = flax_params(size)
    twin = load_flax_params(TorchUNet(UNetConfig(**CONFIG)), params).eval()
    twin = twin.to(memory_format=torch.channels_last)
    image, _, _ = scene(size)
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))
    x = x.contiguous(memory_format=torch.channels_last)
    out, maps = {}, {}

    def score(inp, cls, mask):
        logits = twin(inp)
        return (logits[torch.arange(inp.shape[0]), cls] * mask).sum(dim=(1, 2))

    saliency = Saliency(score)
    for set_name, (classes, masks) in target_sets(size).items():
        cam = GradCAM(model=twin, target_layers=[twin.stages[LAYER]])
        calls = _peer_calls(
            saliency, cam, SemanticSegmentationTarget, x, classes, masks
        )
        batched = calls["gradient/captum_batched"]().detach().numpy()
        maps[f"{set_name}/gradient"] = batched.transpose(0, 2, 3, 1)
        maps[f"{set_name}/seg_grad_cam"] = np.asarray(
            calls["seg_grad_cam/gradcam_batched"]()
        )
        for name, fn in calls.items():
            fn()  # warm-up
            out[f"{set_name}/{name}"] = (_median_call(fn, repeats), len(classes))
    np.savez(maps_path, **maps)
    return out


def _peer_calls(saliency, cam, target_cls, x, classes, masks) -> dict:
    """The four peer configurations for the targets ``classes, masks``."""
    import torch

    count = len(classes)
    cls_t = torch.from_numpy(classes.astype(np.int64))
    mask_t = torch.from_numpy(masks)
    cam_targets = [target_cls(int(c), m) for c, m in zip(classes, masks, strict=True)]
    copies = x.repeat(count, 1, 1, 1)

    def captum_loop():
        return [
            saliency.attribute(
                x,
                abs=False,
                additional_forward_args=(cls_t[i : i + 1], mask_t[i : i + 1]),
            )
            for i in range(count)
        ]

    def captum_batched():
        return saliency.attribute(
            copies, abs=False, additional_forward_args=(cls_t, mask_t)
        )

    def gradcam_loop():
        return [cam(input_tensor=x, targets=[t]) for t in cam_targets]

    def gradcam_batched():
        return cam(input_tensor=copies, targets=cam_targets)

    return {
        "gradient/captum_loop": captum_loop,
        "gradient/captum_batched": captum_batched,
        "seg_grad_cam/gradcam_loop": gradcam_loop,
        "seg_grad_cam/gradcam_batched": gradcam_batched,
    }


def _pearson(a, b) -> float:
    """Pearson correlation; 1 when both maps are constant and equal (e.g. a CAM
    that the ReLU zeroed in both frameworks), NaN when only one is."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    if denominator > 0:
        return float((a * b).sum() / denominator)
    return 1.0 if not (a.any() or b.any()) else float("nan")


def drive(args) -> dict:
    result = {"setting": __doc__.split("\n\n")[1], "sizes": {}}
    for size in args.sizes:
        rounds: dict[str, list[float]] = {}
        counts = {}
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                for side in ("jax", "torch"):
                    path = os.path.join(tmp, f"{side}.json")
                    subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--side",
                            side,
                            "--sizes",
                            str(size),
                            "--repeats",
                            str(args.repeats),
                            "--out",
                            path,
                            "--maps",
                            os.path.join(tmp, f"{side}.npz"),
                        ],
                        check=True,
                    )
                    with open(path) as handle:
                        for name, (seconds, count) in json.load(handle).items():
                            rounds.setdefault(name, []).append(seconds)
                            counts[name] = count
            ours = np.load(os.path.join(tmp, "jax.npz"))
            peer = np.load(os.path.join(tmp, "torch.npz"))
            agreement = {
                name: min(
                    _pearson(ours[name][i], peer[name][i])
                    for i in range(len(ours[name]))
                )
                for name in ours.files
            }
        table = {}
        for name, values in rounds.items():
            seconds = statistics.median(values)
            table[name] = {
                "seconds_per_call_set": seconds,
                "targets": counts[name],
                "targets_per_second": counts[name] / seconds,
                "rounds": values,
            }
        result["sizes"][str(size)] = {
            "configs": table,
            "min_pearson_ours_vs_peer": agreement,
        }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--side", choices=("jax", "torch"), default=None)
    parser.add_argument("--maps", default="")
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    if args.side is not None:
        side = jax_side if args.side == "jax" else torch_side
        out = side(args.sizes[0], args.repeats, args.maps)
    else:
        out = drive(args)
        print(json.dumps(out, indent=1))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(out, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
