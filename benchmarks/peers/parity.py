"""Logit parity of the PyTorch twin (``torch_unet.TorchUNet``) with the Flax U-Net.

Draws random weights (He-normal kernels, non-zero biases, so that every bias
and the up-sampling channel permutation are exercised), copies them into the
twin and prints the largest absolute logit difference on a random batch.

Run (needs the ``peers`` extra, e.g. ``pip install -e '.[peers]'``)::

    python benchmarks/peers/parity.py            # quickstart architecture
    python benchmarks/peers/parity.py --batch 2 --size 32
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from segxai_jax.models.unet import UNet, UNetConfig  # noqa: E402

QUICKSTART = dict(
    num_classes=11,
    widths=(8, 16, 32, 64),
    input_norm="per_image",
    bottleneck_head=True,
)


def random_flax_params(model, input_shape, seed: int):
    """Random Flax params of ``model`` drawn with NumPy (no compiled ``init``).

    Kernels He-normal; biases N(0, 0.1); normalisation scales 1 + N(0, 0.1).
    """
    spec = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    shapes = jax.eval_shape(lambda x: model.init(jax.random.key(0), x), spec)
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        shape = tuple(leaf.shape)
        if len(shape) > 1:
            fan_in = int(np.prod(shape[:-1]))
            return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
        offset = 1.0 if jax.tree_util.keystr(path).endswith("['scale']") else 0.0
        return (offset + rng.normal(0.0, 0.1, shape)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(draw, shapes["params"])


def build_pair(config: UNetConfig, image_size: int, seed: int = 0, **torch_kwargs):
    """``(flax_model, params, torch_model)`` with the same random weights."""
    from torch_unet import TorchUNet, load_flax_params  # torch only when needed

    model = UNet(config)
    params = random_flax_params(
        model, (image_size, image_size, config.in_channels), seed
    )
    twin = load_flax_params(TorchUNet(config, **torch_kwargs), params).eval()
    return model, params, twin


def parity_stats(config: UNetConfig, *, batch: int, size: int, seed: int = 0):
    """``(max abs logit difference, max abs logit)`` on a uniform [0, 1) batch."""
    from torch_unet import logit_parity

    model, params, twin = build_pair(config, size, seed)
    x = np.random.default_rng(seed + 1).random(
        (batch, size, size, config.in_channels), dtype=np.float32
    )
    apply = jax.jit(lambda p, v: model.apply({"params": p}, v))
    scale = float(jnp.max(jnp.abs(apply(params, x))))
    return logit_parity(apply, params, twin, x), scale


def parity(config: UNetConfig, *, batch: int, size: int, seed: int = 0) -> float:
    """Max abs logit difference on a uniform [0, 1) batch."""
    return parity_stats(config, batch=batch, size=size, seed=seed)[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = UNetConfig(**QUICKSTART)
    diff, scale = parity_stats(config, batch=args.batch, size=args.size, seed=args.seed)
    print(
        f"config widths={config.widths} input_norm={config.input_norm} "
        f"bottleneck_head={config.bottleneck_head} K={config.num_classes}; "
        f"batch {args.batch} x {args.size}x{args.size}"
    )
    print(f"max abs logit difference (flax vs torch): {diff:.3e}")
    print(f"max abs logit: {scale:.3e} (relative difference {diff / scale:.3e})")


if __name__ == "__main__":
    main()
