"""Seg-Ablation-CAM: channel weights from deactivating channels, no gradients.

For each channel ``k`` of the probe's activations ``A [u, v, Kc]``, the channel
is deactivated (in a region ``R`` of the feature map) and the target score
``S_c(x; M)`` is recomputed with the ROI ``M`` frozen:

    w_k = (S - S^(k)) / |S|,        L = ReLU(sum_k w_k A^k)

then ``L`` is resized bilinearly to the image. The original Ablation-CAM
divides by ``S`` (``denominator="signed"``); with summed logits ``S`` can be
negative, which flips every weight, so ``|S|`` is the default. ``S = 0`` is
guarded: ``|S| < 1e-12`` is replaced by ``1e-12`` (keeping its sign for
``"signed"``), so weights stay finite; only the map's overall scale is then
arbitrary.

Deactivation (``mode``): ``"value"`` sets ``A^k`` to ``ablation_value`` inside
``R`` (0 = the original ablation), ``"scale"`` multiplies it by ``scale``.

Region (``region``), a choice of ours (the Seg-Ablation-CAM paper's exact
recipe was not available): ``"full"`` is the whole channel; ``"foreground"``
is the ROI brought to the probe's ``u x v`` grid: the share of each cell
covered by the ROI is computed (area average), and a cell is foreground when
that share exceeds ``region_threshold`` (default 0: any overlap, so a non-empty
ROI always gives a non-empty foreground, even a single pixel at the
bottleneck); ``"background"`` is its complement. An empty region would give a
silent all-zero map and raises ``ValueError`` when the inputs are concrete.

Cost: one forward pass plus one pass of the part of the network downstream of
the probe per channel. The channel sweep runs under ``jax.vmap`` (in chunks,
see :func:`segxai_jax.sweeps.map_chunked`), where nothing upstream
of the probe depends on the channel index, so XLA computes it once.

References:
  Desai, Ramaswamy. Ablation-CAM: Visual explanations for deep convolutional
  network via gradient-free localization. WACV 2020.
  Gipiskis, Chiaro, Annunziata, Piccialli. Ablation studies in activation maps
  for explainable semantic segmentation in Industry 4.0. IEEE EUROCON 2023.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.cams import (
    ORDERS,
    check_probe,
    finish_cam,
    resolve_output_size,
)
from segxai_jax.memory import budgeted, check_memory_budget
from segxai_jax.probes import Probe
from segxai_jax.sweeps import (
    check_chunk_size,
    check_strategy,
    map_chunked,
)
from segxai_jax.targets import Target, check_score_options, target_score

REGIONS = ("full", "foreground", "background")
MODES = ("value", "scale")
DENOMINATORS = ("abs", "signed")
# Measured with benchmarks/ablation_occlusion_chunks.py (64 channels of a
# 16-128-wide U-Net at 64x64, 2-core CPU): chunks of 2-8 channels were within
# ~5 % of the best for one image and for a vmapped batch of 8 (where 2-4 won);
# "lax_map" ran as fast as "unroll" and compiled in ~2 s instead of 3-35 s.
# XLA hoists the probe's prefix out of the lax.map loop, so it still runs once.
DEFAULT_CHUNK_SIZE = 4
DEFAULT_STRATEGY = "lax_map"
_EPS = 1e-12


def roi_share_at(mask: jax.Array, grid_hw: Sequence[int]) -> jax.Array:
    """Share of each cell of a ``u x v`` grid covered by the ROI ``[H, W]``.

    Exact area average when ``H, W`` are multiples of ``u, v`` (strided
    encoders); nearest-neighbour repetition when ``u, v`` are multiples of
    ``H, W``; otherwise antialiased linear resizing (an approximation).

    Any rank: a volume ROI ``[D, H, W]`` on a ``d x u x v`` grid.

    Returns:
      ``[u, v]`` with values in ``[0, 1]`` for a binary ROI.
    """
    sizes, grid = tuple(mask.shape), tuple(grid_hw)
    if len(sizes) != len(grid):
        raise ValueError(
            f"mask/grid: an ROI of shape {sizes} on a grid of rank {len(grid)} "
            f"{grid}; the probe's layer must have the output's spatial rank"
        )
    if all(n % g == 0 for n, g in zip(sizes, grid, strict=True)):
        blocks = [d for n, g in zip(sizes, grid, strict=True) for d in (g, n // g)]
        return mask.reshape(blocks).mean(axis=tuple(range(1, 2 * len(grid), 2)))
    if all(g % n == 0 for n, g in zip(sizes, grid, strict=True)):
        for axis, (n, g) in enumerate(zip(sizes, grid, strict=True)):
            mask = jnp.repeat(mask, g // n, axis=axis)
        return mask
    return jax.image.resize(mask, grid, method="linear", antialias=True)


def ablation_region(
    mask: jax.Array,
    grid_hw: Sequence[int],
    *,
    region: str = "full",
    region_threshold: float = 0.0,
) -> jax.Array:
    """The cells ``R [u, v]`` (0/1) that are deactivated.

    Args:
      mask: the target's ROI ``[H, W]``.
      grid_hw: the probe's ``(u, v)``.
      region: ``"full"``, ``"foreground"`` (cells whose ROI share exceeds
        ``region_threshold``) or ``"background"`` (the others).
      region_threshold: in ``[0, 1)``; 0 = any overlap, 0.5 = majority.
    """
    validation.check_choice(region, "region", REGIONS)
    if region == "full":
        return jnp.ones(tuple(grid_hw), jnp.float32)
    foreground = (roi_share_at(mask, grid_hw) > region_threshold).astype(jnp.float32)
    return foreground if region == "foreground" else 1.0 - foreground


def ablate(
    activations: jax.Array,
    region: jax.Array,
    channel_mask: jax.Array,
    *,
    mode: str = "value",
    ablation_value: float = 0.0,
    scale: float = 0.0,
) -> jax.Array:
    """Deactivates the channels in ``channel_mask [Kc]`` inside ``region [u, v]``.

    Returns:
      ``A' [u, v, Kc]``: ``A (1 - r) + value r`` (``"value"``) or
      ``A (1 + r (scale - 1))`` (``"scale"``), with ``r = region x channel_mask``
      (arithmetic, not a scatter, so it batches and fuses well under ``vmap``;
      exact for 0/1 masks).
    """
    r = region[..., None] * channel_mask
    if mode == "value":
        return activations * (1.0 - r) + ablation_value * r
    if mode == "scale":
        return activations * (1.0 + r * (scale - 1.0))
    raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")


def _check_options(options: dict) -> dict:
    """Checks every option of the sweep; returns them."""
    validation.check_choice(options["region"], "region", REGIONS)
    validation.check_choice(options["mode"], "mode", MODES)
    validation.check_choice(options["denominator"], "denominator", DENOMINATORS)
    validation.check_real(options["ablation_value"], "ablation_value")
    validation.check_real(options["scale"], "scale")
    check_chunk_size(options["chunk_size"])
    check_strategy(options["strategy"])
    validation.check_real(
        options["region_threshold"],
        "region_threshold",
        minimum=0.0,
        maximum=1.0,
        exclusive_maximum=True,
    )
    if options["channels"] is not None:
        validation.check_int_sequence(options["channels"], "channels", minimum=0)
    check_score_options(options["score_reduction"], options["score_space"])
    return options


def _check_region_not_empty(region_mask, region):
    if validation.is_concrete(region_mask) and float(np.sum(region_mask)) <= 0:
        raise ValueError(
            f"region: the {region!r} region is empty at the probe's resolution "
            f"{tuple(region_mask.shape)}; ablating it would give an all-zero map"
        )


def _channel_indices(channels, num_channels):
    if channels is None:
        return np.arange(num_channels)
    indices = np.asarray(channels, np.int64).reshape(-1)
    if indices.size == 0 or indices.min() < 0 or indices.max() >= num_channels:
        raise ValueError(
            f"channels: expected a non-empty sequence of indices in "
            f"[0, {num_channels}), got {channels!r}"
        )
    return indices


def _clean_pass(probe, params, x, target):
    validation.check_input(x, target, allow_tree=True)
    logits, activations = probe.forward(params, x, None)
    validation.check_class_id(target, logits.shape[-1])
    return logits, activations


def _ablation_sweep(probe, params, x, target, *, options):
    """``(w [n], A [u, v, Kc], S [])`` for the channels in ``options``."""
    logits, activations = _clean_pass(probe, params, x, target)

    def score_of(logits):
        return target_score(
            logits,
            target,
            reduction=options["score_reduction"],
            space=options["score_space"],
        )

    score = score_of(logits)
    region_mask = ablation_region(
        target.mask,
        activations.shape[:-1],
        region=options["region"],
        region_threshold=options["region_threshold"],
    )
    _check_region_not_empty(region_mask, options["region"])
    num_channels = activations.shape[-1]
    indices = _channel_indices(options["channels"], num_channels)

    def ablated_score(k):
        channel_mask = (jnp.arange(num_channels) == k).astype(activations.dtype)

        def edit(a):
            return ablate(
                a,
                region_mask,
                channel_mask,
                mode=options["mode"],
                ablation_value=options["ablation_value"],
                scale=options["scale"],
            )

        return score_of(probe.apply_with_edit(params, x, edit))

    ablated = map_chunked(
        ablated_score,
        jnp.asarray(indices, jnp.int32),
        chunk_size=options["chunk_size"],
        strategy=options["strategy"],
    )
    if options["denominator"] == "abs":
        denominator = jnp.maximum(jnp.abs(score), _EPS)
    else:
        sign = jnp.where(score < 0, -1.0, 1.0)
        denominator = jnp.where(jnp.abs(score) < _EPS, sign * _EPS, score)
    if options["channels"] is not None:
        activations = activations[..., indices]
    return (score - ablated) / denominator, activations, score


def _options(**kwargs):
    return _check_options(kwargs)


def ablation_weights(
    probe: Probe,
    params,
    x: jax.Array,
    target: Target,
    *,
    region: str = "full",
    mode: str = "value",
    ablation_value: float = 0.0,
    scale: float = 0.0,
    denominator: str = "abs",
    channels: Sequence[int] | None = None,
    region_threshold: float = 0.0,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
    score_reduction: str = "sum",
    score_space: str = "logits",
) -> jax.Array:
    """Ablation-CAM channel weights ``w [n]`` (``n`` = number of ``channels``).

    Arguments as in :func:`seg_ablation_cam`.
    """
    check_probe(probe)
    options = _options(
        region=region,
        mode=mode,
        ablation_value=ablation_value,
        scale=scale,
        denominator=denominator,
        channels=channels,
        region_threshold=region_threshold,
        chunk_size=chunk_size,
        strategy=strategy,
        score_reduction=score_reduction,
        score_space=score_space,
    )
    return _ablation_sweep(probe, params, x, target, options=options)[0]


def seg_ablation_cam(
    probe: Probe,
    *,
    region: str = "full",
    mode: str = "value",
    ablation_value: float = 0.0,
    scale: float = 0.0,
    denominator: str = "abs",
    channels: Sequence[int] | None = None,
    region_threshold: float = 0.0,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
    score_reduction: str = "sum",
    score_space: str = "logits",
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
    memory_budget: int | None = None,
) -> Callable:
    """Seg-Ablation-CAM at a probe point.

    Args:
      probe: the layer (the paper's reference setting: the last encoder stage).
      region: ``"full"``, ``"foreground"`` or ``"background"`` deactivation
        (see the module docstring).
      mode: ``"value"`` (set to ``ablation_value``) or ``"scale"`` (multiply by
        ``scale``).
      ablation_value: value of deactivated activations (``mode="value"``).
      scale: factor for deactivated activations (``mode="scale"``).
      denominator: ``"abs"`` (``|S|``, default) or ``"signed"`` (``S``, the
        original Ablation-CAM).
      channels: indices of the channels to ablate (the map sums only these);
        ``None`` = all ``Kc``.
      region_threshold: ROI share above which a probe cell is foreground.
      chunk_size: channels evaluated together by ``vmap``; bounds memory.
        ``None`` = all at once. On accelerators larger chunks pay off.
      strategy: ``"lax_map"`` (default: constant compile time, as fast as
        ``"unroll"`` for this forward-only sweep on CPU) or ``"unroll"`` (see
        ``map_chunked``).
      score_reduction: ``"sum"`` or ``"mean"`` over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      relu: apply ReLU to the map.
      order: ``"relu_resize"`` or ``"resize_relu"``.
      output_size: ``"input"``, ``None`` (probe resolution) or ``(H, W)``.
      memory_budget: bytes; the chunk size is then the largest (up to
        ``chunk_size``) whose compiled program fits (:mod:`segxai_jax.memory`).

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]``; deterministic
      (``key`` is ignored), pure, jittable and vmappable.
    """
    check_probe(probe)
    options = _options(
        region=region,
        mode=mode,
        ablation_value=ablation_value,
        scale=scale,
        denominator=denominator,
        channels=channels,
        region_threshold=region_threshold,
        chunk_size=chunk_size,
        strategy=strategy,
        score_reduction=score_reduction,
        score_space=score_space,
    )
    validation.check_bool(relu, "relu")
    validation.check_choice(order, "order", ORDERS)
    finish = dict(relu=relu, order=order)
    resolve_output_size(output_size, None)
    memory_budget = check_memory_budget(memory_budget)

    def with_chunks(chunk):
        chunk_options = {**options, "chunk_size": chunk}

        def explain_chunked(key, params, x, target):
            del key
            weights, activations, _ = _ablation_sweep(
                probe, params, x, target, options=chunk_options
            )
            cam = activations @ weights
            spatial = target.mask.shape
            return finish_cam(cam, resolve_output_size(output_size, spatial), **finish)

        return explain_chunked

    def num_channels(key, params, x, target):
        count = jax.eval_shape(probe.activations, params, x).shape[-1]
        return len(_channel_indices(options["channels"], count))

    run = budgeted(
        with_chunks,
        chunk_size=options["chunk_size"],
        memory_budget=memory_budget,
        total_of=num_channels,
        what="ablated channels",
    )

    def explain(key, params, x, target):
        validation.check_input(x, target, allow_tree=True)
        return run(key, params, x, target)

    return validation.attach_class_count(explain, probe.class_count, perturbed=True)
