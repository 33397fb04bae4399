"""Foreground vs background deactivation: how much each region matters.

The Seg-Ablation-CAM study deactivates activation-map regions inside and outside
the object and reports that foreground deactivations change the output more.
:func:`ablation_effects` measures this for one image and target: the change of
the target score and of the Dice of the target class, for all channels at once
and for each channel alone.

References:
  Gipiskis, Chiaro, Annunziata, Piccialli. Ablation studies in activation maps
  for explainable semantic segmentation in Industry 4.0. IEEE EUROCON 2023.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from segxai_jax.explainers.ablation import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_STRATEGY,
    _channel_indices,
    _check_options,
    _clean_pass,
    ablate,
    ablation_region,
)
from segxai_jax.explainers.cams import check_probe
from segxai_jax.probes import Probe
from segxai_jax.sweeps import map_chunked
from segxai_jax.targets import Target, target_score


@struct.dataclass
class AblationEffect:
    """How deactivating a region of the feature map changes the prediction.

    The Dice compares the class-``c`` region predicted after the ablation
    (argmax over classes, whole image) with the one predicted before; two empty
    regions count as Dice 1. ``1 - dice`` is the change.

    Attributes:
      score: the clean target score ``S`` ``[]``.
      region_fraction: share of probe cells inside the region ``[]``.
      score_drop: ``S - S'`` with ALL channels deactivated in the region ``[]``.
      dice: Dice of class ``c`` after deactivating all channels ``[]``.
      channel_score_drop: ``S - S^(k)`` for each channel alone ``[n]``.
      channel_dice: Dice of class ``c`` for each channel alone ``[n]``.
    """

    score: jax.Array
    region_fraction: jax.Array
    score_drop: jax.Array
    dice: jax.Array
    channel_score_drop: jax.Array
    channel_dice: jax.Array


def class_dice(labels_a: jax.Array, labels_b: jax.Array, class_id) -> jax.Array:
    """Dice of the class-``class_id`` regions of two label maps ``[H, W]``.

    Returns 1 when the class is absent from both.
    """
    a = labels_a == class_id
    b = labels_b == class_id
    total = a.sum() + b.sum()
    both = (a & b).sum()
    return jnp.where(total > 0, 2.0 * both / jnp.maximum(total, 1), 1.0)


def ablation_effects(
    probe: Probe,
    params,
    x: jax.Array,
    target: Target,
    *,
    regions: Sequence[str] = ("foreground", "background"),
    mode: str = "value",
    ablation_value: float = 0.0,
    scale: float = 0.0,
    channels: Sequence[int] | None = None,
    region_threshold: float = 0.0,
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = DEFAULT_STRATEGY,
    score_reduction: str = "sum",
    score_space: str = "logits",
) -> dict[str, AblationEffect]:
    """Score and Dice changes under foreground vs background deactivation.

    For each region (see :func:`ablation_region`), deactivates (a) all the
    selected channels at once and (b) each channel alone, inside the region,
    and measures the target score and the Dice of class ``c`` against the clean
    prediction. The Seg-Ablation-CAM study reports that foreground ablations
    change the output more than background ones; comparing
    ``effects["foreground"]`` with ``effects["background"]`` (e.g. their
    ``score_drop / score`` and ``1 - dice``) tests that on a model. Regions
    are not required to be non-empty here (an empty region gives no change).

    Args:
      probe, params, x, target: as for an explainer (one image, one target).
      regions: names from :data:`REGIONS`.
      mode, ablation_value, scale, channels, region_threshold, chunk_size,
      strategy, score_reduction, score_space: as in :func:`seg_ablation_cam`.

    Returns:
      ``{region: AblationEffect}``; a pytree, so it can be vmapped over images
      and targets. Cost: ``len(regions) * (n + 1)`` passes of the network
      downstream of the probe, plus one full forward pass.
    """
    if isinstance(regions, str) or len(regions) == 0:
        raise ValueError(
            f"regions: expected a non-empty sequence of names, got {regions!r}"
        )
    check_probe(probe)
    for name in regions:
        _check_options(
            dict(
                region=name,
                mode=mode,
                ablation_value=ablation_value,
                scale=scale,
                channels=channels,
                denominator="abs",
                chunk_size=chunk_size,
                strategy=strategy,
                region_threshold=region_threshold,
                score_reduction=score_reduction,
                score_space=score_space,
            )
        )
    logits, activations = _clean_pass(probe, params, x, target)
    score = target_score(logits, target, reduction=score_reduction, space=score_space)
    clean_labels = jnp.argmax(logits, axis=-1)
    num_channels = activations.shape[-1]
    indices = _channel_indices(channels, num_channels)
    region_masks = jnp.stack(
        [
            ablation_region(
                target.mask,
                activations.shape[:-1],
                region=name,
                region_threshold=region_threshold,
            )
            for name in regions
        ]
    )  # [R, u, v]
    selected = np.zeros(num_channels, np.float32)
    selected[indices] = 1.0
    # Items: per region, all selected channels, then each selected channel.
    channel_masks = np.concatenate([selected[None], np.eye(num_channels)[indices]])
    num_items = channel_masks.shape[0]
    region_index = np.repeat(np.arange(len(regions)), num_items)
    channel_masks = np.tile(channel_masks, (len(regions), 1)).astype(np.float32)

    def measure(item):
        r, channel_mask = item

        def edit(a):
            return ablate(
                a,
                region_masks[r],
                channel_mask,
                mode=mode,
                ablation_value=ablation_value,
                scale=scale,
            )

        ablated = probe.apply_with_edit(params, x, edit)
        ablated_score = target_score(
            ablated, target, reduction=score_reduction, space=score_space
        )
        dice = class_dice(clean_labels, jnp.argmax(ablated, -1), target.class_id)
        return score - ablated_score, dice

    drops, dices = map_chunked(
        measure,
        (jnp.asarray(region_index, jnp.int32), jnp.asarray(channel_masks)),
        chunk_size=chunk_size,
        strategy=strategy,
    )
    drops = drops.reshape(len(regions), num_items)
    dices = dices.reshape(len(regions), num_items)
    return {
        name: AblationEffect(
            score=score,
            region_fraction=region_masks[i].mean(),
            score_drop=drops[i, 0],
            dice=dices[i, 0],
            channel_score_drop=drops[i, 1:],
            channel_dice=dices[i, 1:],
        )
        for i, name in enumerate(regions)
    }
