"""Score-CAM for segmentation: channel weights from masked-input scores.

Each channel ``A^k [u, v]`` of the probe's layer is upsampled to the input's
``H x W``, min-max normalised to ``[0, 1]`` (``eps = 1e-8`` in the
denominator, as pytorch-grad-cam), and used as a soft mask of the input; the
model scores every masked input with the paper's target ``S_c(x * m_k; M)``
(the ROI ``M`` frozen). The channel weights are the softmax of those scores
over channels, and the map is ``ReLU(sum_k w_k A^k)`` resized to the input.
No gradient is used; the cost is one forward pass per channel, swept in
``chunk_size`` masked inputs at a time (``map_chunked``: the memory knob).

Upsampling: ``align_corners=False`` (half-pixel centres, as
``jax.image.resize`` and the other explainers here) by default;
``align_corners=True`` reproduces pytorch-grad-cam's ``UpsamplingBilinear2d``.

Note on scale: the softmax of raw summed logits saturates when the scores of
the masked inputs differ by more than a few units (a large ROI gives large
sums), and the map then follows the best channel alone. That is the published
method (and pytorch-grad-cam's); ``score_reduction="mean"`` keeps the scores
in logit units.

References:
  Wang, Wang, Du, Yang, Zhang, Ding, Mardziel, Hu. Score-CAM: Score-weighted
  visual explanations for convolutional neural networks. CVPR Workshops 2020.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

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
from segxai_jax.explainers.nan_inputs import input_validity
from segxai_jax.memory import budgeted, check_memory_budget
from segxai_jax.probes import Probe
from segxai_jax.sweeps import check_chunk_size, check_strategy, map_chunked
from segxai_jax.targets import check_score_options, target_score

NORMALISE_EPS = 1e-8


def _corner_aligned_weights(size_in: int, size_out: int) -> np.ndarray:
    """``[size_out, size_in]`` linear interpolation with aligned corners."""
    if size_out == 1 or size_in == 1:
        weights = np.zeros((size_out, size_in), np.float32)
        weights[:, 0] = 1.0
        return weights
    source = np.arange(size_out) * (size_in - 1) / (size_out - 1)
    low = np.clip(np.floor(source).astype(int), 0, size_in - 2)
    frac = source - low
    weights = np.zeros((size_out, size_in), np.float32)
    weights[np.arange(size_out), low] = 1.0 - frac
    weights[np.arange(size_out), low + 1] += frac
    return weights


def upsample_channels(
    activations: jax.Array, hw: tuple[int, int], *, align_corners: bool = False
) -> jax.Array:
    """Bilinear upsampling of ``[u, v, Kc]`` to ``[H, W, Kc]``.

    Args:
      activations: one layer's activations ``[u, v, Kc]``.
      hw: the output's ``(H, W)``.
      align_corners: corner pixels aligned (PyTorch's ``align_corners=True``,
        ``UpsamplingBilinear2d``) instead of half-pixel centres.
    """
    if not align_corners:
        return jax.image.resize(
            activations, (*hw, activations.shape[-1]), method="bilinear"
        )
    rows = jnp.asarray(_corner_aligned_weights(activations.shape[0], hw[0]))
    cols = jnp.asarray(_corner_aligned_weights(activations.shape[1], hw[1]))
    return jnp.einsum("hu,uvk,wv->hwk", rows, activations.astype(jnp.float32), cols)


def channel_masks(upsampled: jax.Array) -> jax.Array:
    """Per-channel min-max normalisation of ``[H, W, Kc]`` to ``[0, 1]`` masks."""
    low = upsampled.min(axis=(0, 1))
    high = upsampled.max(axis=(0, 1))
    return (upsampled - low) / (high - low + NORMALISE_EPS)


def score_cam(
    probe: Probe,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
    align_corners: bool = False,
    chunk_size: int | None = 16,
    strategy: str = "lax_map",
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
    memory_budget: int | None = None,
) -> Callable:
    """Score-CAM of the segmentation target at a probe point.

    Args:
      probe: the layer (``make_probe(model, "bottleneck", input_shape=...)``).
      score_reduction: ``"sum"`` (the paper's target) or ``"mean"`` over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      align_corners: how channels are upsampled into masks (see the module
        docstring; ``True`` matches pytorch-grad-cam).
      chunk_size: masked inputs scored together (one forward pass each);
        ``None`` = all ``Kc`` at once. Peak memory grows with it.
      strategy: ``"lax_map"`` (one compiled body) or ``"unroll"``.
      relu: apply ReLU to the map.
      order: ``"relu_resize"`` or ``"resize_relu"``.
      output_size: ``"input"``, ``None`` (the layer's grid) or ``(H, W)``.
      memory_budget: bytes; the chunk is then the largest (up to
        ``chunk_size``) whose compiled program fits (XLA's memory analysis,
        :mod:`segxai_jax.memory`). A layer with so many channels that one
        masked input per chunk does not fit is refused naming the budget.

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]``; ``key`` is
      ignored. Jittable and vmappable; a 2-D array input only.

    References:
      Wang et al. Score-CAM. CVPR Workshops 2020.
    """
    check_probe(probe)
    check_score_options(score_reduction, score_space)
    validation.check_bool(align_corners, "align_corners")
    check_chunk_size(chunk_size)
    check_strategy(strategy)
    validation.check_choice(order, "order", ORDERS)
    validation.check_bool(relu, "relu")
    resolve_output_size(output_size, None)
    memory_budget = check_memory_budget(memory_budget)

    def explain_with(key, params, x, target, *, chunk):
        del key
        validation.check_input(x, target)
        if x.ndim != 3:
            raise ValueError(
                f"x: Score-CAM takes one image [H, W, C], got shape {x.shape}"
            )
        activations = probe.activations(params, x)  # [u, v, Kc]
        hw = tuple(x.shape[:2])
        masks = channel_masks(
            upsample_channels(activations, hw, align_corners=align_corners)
        )

        def masked_score(mask):  # mask [H, W]
            logits, _ = probe.forward(params, x * mask[..., None], None)
            validation.check_class_id(target, logits.shape[-1])
            return target_score(
                logits, target, reduction=score_reduction, space=score_space
            )

        scores = map_chunked(
            masked_score,
            jnp.moveaxis(masks, -1, 0),
            chunk_size=chunk,
            strategy=strategy,
        )  # [Kc]
        weights = jax.nn.softmax(scores)
        cam = (activations @ weights.astype(activations.dtype)) * input_validity(x)
        return finish_cam(
            cam,
            resolve_output_size(output_size, target.mask.shape),
            relu=relu,
            order=order,
        )

    run = budgeted(
        lambda chunk: functools.partial(explain_with, chunk=chunk),
        chunk_size=chunk_size,
        memory_budget=memory_budget,
        total_of=lambda key, params, x, target: int(
            jax.eval_shape(probe.activations, params, x).shape[-1]
        ),
        what="masked inputs (channels)",
    )

    def explain(key, params, x, target):
        return run(key, params, x, target)

    return validation.attach_class_count(explain, probe.class_count)
