"""A masked U-Net supernet: every genome of a space in one array shape.

The supernet holds the largest choice of every weight (widest channels, most
blocks, largest kernel). A genome becomes data, not shapes:

* channels: stage outputs are multiplied by a 0/1 mask over the widest width,
  so unused channels are exactly zero and feed nothing downstream;
* blocks: block ``j > 0`` of a stage is replaced by the identity
  (``jnp.where(j < blocks, block(h), h)``);
* kernels: a ``k x k`` kernel is the centre crop of the ``K x K`` weight,
  computed as a sum of convolutions with its rings (see ``_conv``), so the
  weights stay shared by the whole population;
* depth: all levels are computed; the decoder of level ``l`` reads the
  bottleneck output when ``depth == l + 1`` and the decoder above otherwise.
  Encoder stage ``l`` and the bottleneck at level ``l`` have the same input and
  output shapes, so they share the weights of the "down" stage of level ``l``.

Every weight is also multiplied by ``sqrt(fan_in_max / fan_in)``, so a student
starts He-initialised for its own fan-in, as a freshly built small U-Net
would. :func:`materialise` slices the same effective weights into the Linen
:class:`~segxai_jax.models.UNet` of :meth:`SearchSpace.to_config`; the two give
the same logits (tested). Because genomes are arrays of one shape,
``jax.vmap`` over genomes evaluates a whole population in one compiled call.

Probe points (:func:`supernet_probe`): ``"down{l}"`` (stage of level ``l`` on
the way down) and ``"up{l}"`` (decoder stage of level ``l``); the Linen names
``enc{l}`` / ``dec{l}`` are accepted for levels every depth has, and
``"bottleneck"`` when the space has one depth.

References:
  Zhang, Wang, Joe. CAM-NAS, Applied Sciences 13(17), 9686, 2023.
  Cai et al. Once-for-all: train one network and specialize it for efficient
  deployment. ICLR 2020 (elastic width/depth/kernel by masking and cropping).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.models.unet import (
    depth_to_space_2x2,
    max_pool_2x2,
    standardize_per_image,
)
from segxai_jax.nas.space import SearchSpace
from segxai_jax.probes import Probe

_DIMS = ("NHWC", "HWIO", "NHWC")


def _max_width(space: SearchSpace, level: int) -> int:
    return max(space.widths[level])


def _conv_shapes(space: SearchSpace) -> dict[str, tuple[int, ...]]:
    """Kernel shape ``[kh, kw, in, out]`` of every supernet convolution."""
    k, b, shapes = max(space.kernels), max(space.blocks), {}
    cin = space.in_channels
    for level in range(space.max_depth + 1):
        w = _max_width(space, level)
        for j in range(b):
            shapes[f"down{level}_conv{j}"] = (k, k, cin if j == 0 else w, w)
        cin = w
    for level in range(space.max_depth):
        w = _max_width(space, level)
        shapes[f"up{level}_up"] = (1, 1, _max_width(space, level + 1), 4 * w)
        for j in range(b):
            shapes[f"up{level}_conv{j}"] = (k, k, 2 * w if j == 0 else w, w)
    shapes["head"] = (1, 1, _max_width(space, 0), space.num_classes)
    if space.bottleneck_head:
        for d in space.depths:
            shapes[f"bhead{d}"] = (1, 1, _max_width(space, d), space.num_classes)
    return shapes


def init_supernet(key: jax.Array, space: SearchSpace) -> dict:
    """Supernet weights: ``{name: {"kernel", "bias"}}`` at the largest shapes.

    Kernels are truncated-normal with variance ``2 / fan_in`` (stage and
    up-projection convolutions, as the U-Net's He init) or ``1 / fan_in``
    (1x1 class heads, Flax's default LeCun init) of the largest shape; biases
    are zero. Students rescale to their own fan-in (see the module docstring).
    """
    weights = {}
    shapes = _conv_shapes(space)
    keys = jax.random.split(key, len(shapes))
    for key_conv, (name, shape) in zip(keys, shapes.items(), strict=True):
        gain = 1.0 if name == "head" or name.startswith("bhead") else 2.0
        init = jax.nn.initializers.variance_scaling(gain, "fan_in", "truncated_normal")
        weights[name] = {
            "kernel": init(key_conv, shape, jnp.float32),
            "bias": jnp.zeros(shape[-1], jnp.float32),
        }
    return weights


def genome_masks(space: SearchSpace, genome: jax.Array) -> dict:
    """Masks and scales of one genome ``[G]`` (jittable, vmappable).

    Returns:
      ``{"depth": [], "channels": {level: [W_max]}, "blocks": {stage: []},
      "kernel": {conv: []}, "gain": {conv: []}}``: kernel size of every
      convolution and its weight gain ``sqrt(fan_in_max / fan_in)``.
    """
    if validation.is_concrete(genome):
        space.check_genome(genome)
    g = space.split(genome)
    depth = jnp.asarray(space.depths, jnp.int32)[g["depth"][0]]
    widths = [
        jnp.asarray(space.widths[i], jnp.int32)[g["width"][i]]
        for i in range(space.max_depth + 1)
    ]
    blocks = jnp.asarray(space.blocks, jnp.int32)
    kernels = jnp.asarray(space.kernels, jnp.int32)
    shapes = _conv_shapes(space)
    out = {"depth": depth, "channels": {}, "blocks": {}, "kernel": {}, "gain": {}}

    def conv(name, k, cin):
        kh, kw, cin_max, _ = shapes[name]
        out["kernel"][name] = k
        fan = (k * k * cin).astype(jnp.float32)
        out["gain"][name] = jnp.sqrt(kh * kw * cin_max / fan)

    for level in range(space.max_depth + 1):
        out["channels"][level] = (
            jnp.arange(_max_width(space, level)) < widths[level]
        ).astype(jnp.float32)
    one = jnp.int32(1)
    cin = jnp.int32(space.in_channels)
    for level in range(space.max_depth + 1):
        name = f"down{level}"
        k = kernels[g["down_kernel"][level]]
        out["blocks"][name] = blocks[g["down_blocks"][level]]
        for j in range(max(space.blocks)):
            conv(f"{name}_conv{j}", k, cin if j == 0 else widths[level])
        cin = widths[level]
    for level in range(space.max_depth):
        name = f"up{level}"
        k = kernels[g["up_kernel"][level]]
        out["blocks"][name] = blocks[g["up_blocks"][level]]
        conv(f"{name}_up", one, widths[level + 1])
        for j in range(max(space.blocks)):
            conv(f"{name}_conv{j}", k, 2 * widths[level] if j == 0 else widths[level])
    conv("head", one, widths[0])
    if space.bottleneck_head:
        for d in space.depths:
            conv(f"bhead{d}", one, widths[d])
    return out


def _ring(kernel: jax.Array, inner: int, size: int) -> jax.Array:
    """The ``size x size`` centre of ``kernel`` with its ``inner`` centre zeroed."""
    k_max = kernel.shape[0]
    start = (k_max - size) // 2
    crop = kernel[start : start + size, start : start + size]
    keep = np.ones((size, size, 1, 1), np.float32)
    lo = (size - inner) // 2
    keep[lo : lo + inner, lo : lo + inner] = 0.0
    return crop * keep


def _conv(space, weights, masks, name, h):
    """A supernet convolution with the genome's kernel size and gain.

    A ``k x k`` kernel is the centre crop of the shared ``K x K`` weight. Rather
    than multiplying the weight by a per-candidate mask (which under ``vmap``
    makes one kernel per candidate: a grouped convolution, slow on CPU), the
    crop is a sum of convolutions with the shared rings between consecutive
    kernel choices, each switched on when the genome's size includes it; the
    population then folds into the batch of ordinary convolutions. Extra cost:
    ``sum(k_i ** 2) / K ** 2`` of the largest kernel's multiply-adds.
    """
    kernel = weights[name]["kernel"]
    if kernel.shape[0] == 1:
        y = jax.lax.conv_general_dilated(
            h, kernel, (1, 1), "SAME", dimension_numbers=_DIMS
        )
    else:
        y, inner = 0.0, 0
        for size in space.kernels:
            ring = jax.lax.conv_general_dilated(
                h, _ring(kernel, inner, size), (1, 1), "SAME", dimension_numbers=_DIMS
            )
            y = y + ring * (masks["kernel"][name] >= size).astype(h.dtype)
            inner = size
    return y * masks["gain"][name] + weights[name]["bias"]


def _stage(space, weights, masks, name, level, h, point):
    channels = masks["channels"][level]
    for j in range(max(space.blocks)):
        z = jax.nn.relu(_conv(space, weights, masks, f"{name}_conv{j}", h)) * channels
        h = z if j == 0 else jnp.where(j < masks["blocks"][name], z, h)
    return point(name, h)


def supernet_forward(space: SearchSpace, weights, masks, x, point=None):
    """Logits of the student ``masks`` encodes, for a batch ``x [B, H, W, C]``.

    Args:
      space: the search space.
      weights: from :func:`init_supernet`.
      masks: from :func:`genome_masks`.
      x: images ``[B, H, W, C]``, sides divisible by ``2**max_depth``.
      point: optional ``point(name, activation) -> activation`` called at
        every probe point (to read or replace activations).

    Returns:
      Logits ``[B, H, W, K]``.
    """
    point = point or (lambda name, h: h)
    d_max = space.max_depth
    if x.ndim != 4 or x.shape[-1] != space.in_channels or x.shape[1] % 2**d_max:
        raise ValueError(
            f"x: expected images [B, H, W, {space.in_channels}] with sides divisible "
            f"by {2**d_max}, got shape {x.shape}"
        )
    depth = masks["depth"]
    if space.input_norm == "per_image":
        x = standardize_per_image(x)
    down, h = [], x
    for level in range(d_max + 1):
        h = _stage(space, weights, masks, f"down{level}", level, h, point)
        down.append(h)
        if level < d_max:
            h = max_pool_2x2(h)
    logits = 0.0
    if space.bottleneck_head:
        for d in space.depths:
            coarse = _conv(space, weights, masks, f"bhead{d}", down[d])
            coarse = jnp.repeat(jnp.repeat(coarse, 2**d, axis=1), 2**d, axis=2)
            logits = logits + jnp.where(depth == d, coarse, 0.0)
    h = down[d_max]
    for level in reversed(range(d_max)):
        below = jnp.where(depth == level + 1, down[level + 1], h)
        up = depth_to_space_2x2(_conv(space, weights, masks, f"up{level}_up", below))
        up = up * masks["channels"][level]
        h = jnp.concatenate([up, down[level]], axis=-1)
        h = _stage(space, weights, masks, f"up{level}", level, h, point)
    return logits + _conv(space, weights, masks, "head", h)


def supernet_apply_fn(space: SearchSpace):
    """``apply_fn((weights, genome), x [H, W, C]) -> logits [H, W, K]``.

    The library's apply-function contract with the student's "parameters"
    being the pair ``(supernet weights, genome)``, so every gradient explainer
    of :mod:`segxai_jax.explainers` explains a student unchanged, and
    ``jax.vmap`` over the genome explains a population.
    """

    def apply_fn(params, x):
        weights, genome = params
        return supernet_forward(space, weights, genome_masks(space, genome), x[None])[0]

    return apply_fn


def _internal_point(space: SearchSpace, name: str) -> str:
    shallowest = min(space.depths)
    for prefix, internal in (("enc", "down"), ("dec", "up")):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            level = int(name[len(prefix) :])
            if level < shallowest:
                return f"{internal}{level}"
    if name == "bottleneck" and len(space.depths) == 1:
        return f"down{space.depths[0]}"
    valid = [f"down{i}" for i in range(space.max_depth + 1)]
    valid += [f"up{i}" for i in range(space.max_depth)]
    if name in valid:
        return name
    raise ValueError(
        f"name: {name!r} is not a probe point every student of the space has; "
        f"expected enc/dec levels < {shallowest}, 'bottleneck' (one depth only) "
        f"or one of {valid}"
    )


def supernet_probe(space: SearchSpace, name: str) -> Probe:
    """A :class:`~segxai_jax.probes.Probe` into the supernet student.

    ``params`` of the probe is ``(weights, genome)``, as for
    :func:`supernet_apply_fn`; so Seg-Grad-CAM, Seg-Ablation-CAM, ... work
    unchanged and vmap over genomes.

    Raises:
      ValueError: ``name`` is not a point every genome has (see module doc).
    """
    internal = _internal_point(space, name)

    def forward(params, x, edit):
        if x.ndim != 3:
            raise ValueError(f"x: expected one image [H, W, C], got shape {x.shape}")
        weights, genome = params
        captured = {}

        def point(point_name, h):
            if point_name != internal:
                return h
            captured["a"] = h[0]
            return h if edit is None else edit(h[0])[None]

        masks = genome_masks(space, genome)
        logits = supernet_forward(space, weights, masks, x[None], point)
        return logits[0], captured["a"]

    return Probe(internal, forward)


def materialise(space: SearchSpace, weights, genome):
    """``(UNetConfig, params)``: the small U-Net and its sliced effective weights.

    Args:
      space: the search space.
      weights: supernet weights.
      genome: one genome ``[G]`` (concrete).

    Returns:
      The :class:`~segxai_jax.models.UNetConfig` of the genome and Linen
      ``params`` for :class:`~segxai_jax.models.UNet` that compute the same
      logits as :func:`supernet_forward` under the genome's masks.
    """
    config = space.to_config(genome)
    masks = jax.tree.map(np.asarray, genome_masks(space, jnp.asarray(genome)))
    weights = jax.tree.map(np.asarray, weights)
    d = config.depth
    k_max = max(space.kernels)
    widths = config.widths
    params = {}

    def take(name, cin_index, cout, k):
        crop = slice((k_max - k) // 2, (k_max - k) // 2 + k)
        kernel = weights[name]["kernel"] * masks["gain"][name]
        if kernel.shape[0] == 1:
            crop = slice(0, 1)
        kernel = kernel[crop, crop][:, :, cin_index]
        return {"kernel": kernel[..., :cout], "bias": weights[name]["bias"][:cout]}

    names, kernels, blocks = (
        config.probe_names,
        config.stage_kernels,
        config.stage_blocks,
    )
    for s, stage in enumerate(names):
        level = s if s <= d else 2 * d - s
        internal = f"down{level}" if s <= d else f"up{level}"
        w = widths[level]
        if s <= d:
            cin = space.in_channels if level == 0 else widths[level - 1]
            first = np.arange(cin)
        else:
            w_max = _max_width(space, level)
            first = np.concatenate([np.arange(w), w_max + np.arange(w)])
            up = weights[f"{internal}_up"]["kernel"] * masks["gain"][f"{internal}_up"]
            up = up.reshape(1, 1, -1, 4, w_max)[:, :, : widths[level + 1], :, :w]
            bias = weights[f"{internal}_up"]["bias"].reshape(4, w_max)[:, :w]
            params[f"{stage}_up"] = {
                "kernel": up.reshape(1, 1, widths[level + 1], 4 * w),
                "bias": bias.reshape(4 * w),
            }
        for j in range(blocks[s]):
            cin_index = first if j == 0 else np.arange(w)
            params[f"{stage}_conv{j}"] = take(
                f"{internal}_conv{j}", cin_index, w, kernels[s]
            )
    params["head"] = take("head", np.arange(widths[0]), space.num_classes, 1)
    if space.bottleneck_head:
        params["bottleneck_head"] = take(
            f"bhead{d}", np.arange(widths[d]), space.num_classes, 1
        )
    return config, jax.tree.map(jnp.asarray, params)


def supernet_size(space: SearchSpace) -> int:
    """Number of supernet weights (kernels and biases)."""
    return sum(math.prod(s) + s[-1] for s in _conv_shapes(space).values())
