"""Prototype replay: per-class feature statistics instead of stored images.

STAR (Chen et al., NeurIPS 2023) keeps class-incremental segmentation models
from forgetting by storing, for every old class, a prototype of its
penultimate-layer features and replaying it to the classifier while new
classes are learned, at a storage cost more than 100x below image replay.
This module is that idea in its simplest exact form:

* after a task, :func:`class_statistics` computes, for each of the task's
  classes, the mean and standard deviation of every feature channel over the
  pixels labelled with the class (``features [N, H, W, C]`` from the layer
  before the classifier);
* the :class:`PrototypeState` keeps them (``2 * C`` float32 numbers and the
  class id per class: :func:`prototype_bytes`);
* every training step of a later task, :func:`sample_features` draws
  ``count`` feature vectors from the stored classes (a class uniformly, then
  ``mean + std * N(0, 1)`` per channel) and :func:`prototype_loss` adds the
  cross-entropy of the classifier ``head(features)`` against their classes.

Only the classifier sees the replayed features: it is what drifts towards the
new classes (Wu et al., CVPR 2019). It has to be all of the classifier: the
U-Net's optional ``bottleneck_head`` adds coarse class scores from the
bottleneck to the logits, so :func:`unet_prototype_replay` stores, per class,
the statistics of the pixel's ``dec0`` features together with those of its
bottleneck cell, and replays them through both 1x1 heads
(:func:`unet_logit_head`, equal to the model's logits). Replaying to the
``dec0`` head alone left old classes at IoU 0 in the 64 px pilot: the coarse
scores of old classes were pushed down unchecked.

References:
  Chen, Zhang, Li et al. Saving 100x storage: prototype replay for
  reconstructing training sample distribution in class-incremental semantic
  segmentation (STAR). NeurIPS 2023.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from segxai_jax import validation

BYTES_PER_NUMBER = 4  # float32 statistics, int32 class ids


@struct.dataclass
class PrototypeState:
    """Stored class prototypes.

    Attributes:
      mean: ``[K, C]`` per-class feature means (zeros for classes not stored).
      std: ``[K, C]`` per-class feature standard deviations.
      stored: ``[K]`` bool, which classes have a prototype.
    """

    mean: jax.Array
    std: jax.Array
    stored: jax.Array


def empty_prototypes(num_classes: int, channels: int) -> PrototypeState:
    """A state with no class stored."""
    validation.check_int(num_classes, "num_classes", minimum=1)
    validation.check_int(channels, "channels", minimum=1)
    zeros = jnp.zeros((num_classes, channels), jnp.float32)
    return PrototypeState(zeros, zeros, jnp.zeros((num_classes,), bool))


def prototype_bytes(channels: int, num_stored: int) -> int:
    """Bytes of ``num_stored`` prototypes: mean and std per channel + the class id."""
    validation.check_int(channels, "channels", minimum=1)
    validation.check_int(num_stored, "num_stored", minimum=0)
    return num_stored * (2 * channels + 1) * BYTES_PER_NUMBER


def class_statistics(
    features: jax.Array, masks: jax.Array, num_classes: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-class mean, std and pixel count of ``features [N, H, W, C]``.

    Args:
      features: penultimate-layer features.
      masks: ``[N, H, W]`` int labels; values outside ``[0, K)`` are ignored.
      num_classes: K.

    Returns:
      ``(mean [K, C], std [K, C], count [K])``; classes without pixels get
      zeros. The std is the population standard deviation (``ddof=0``).
    """
    return statistics_from_sums(*class_sums(features, masks, num_classes))


def class_sums(features: jax.Array, masks: jax.Array, num_classes: int):
    """``(count [K], sum [K, C], sum of squares [K, C])`` over labelled pixels.

    Sums of chunks add up, so statistics over many images are computed chunk
    by chunk (:func:`statistics_from_sums`).
    """
    if features.ndim != 4 or masks.shape != features.shape[:3]:
        raise ValueError(
            f"features, masks: expected [N, H, W, C] and [N, H, W], got "
            f"{features.shape} and {masks.shape}"
        )
    flat = features.reshape(-1, features.shape[-1]).astype(jnp.float32)
    onehot = jax.nn.one_hot(masks.reshape(-1), num_classes, dtype=jnp.float32)
    return onehot.sum(0), onehot.T @ flat, onehot.T @ jnp.square(flat)


def statistics_from_sums(count, total, squares):
    """``(mean, std, count)`` from :func:`class_sums` (zeros where count is 0)."""
    safe = jnp.maximum(count, 1.0)[:, None]
    mean = total / safe
    std = jnp.sqrt(jnp.maximum(squares / safe - jnp.square(mean), 0.0))
    present = (count > 0)[:, None]
    return jnp.where(present, mean, 0.0), jnp.where(present, std, 0.0), count


def add_prototypes(
    state: PrototypeState, mean: jax.Array, std: jax.Array, classes
) -> PrototypeState:
    """Stores (or replaces) the prototypes of ``classes`` (a sequence of ids)."""
    index = jnp.asarray(list(classes), jnp.int32)
    return PrototypeState(
        mean=state.mean.at[index].set(mean[index]),
        std=state.std.at[index].set(std[index]),
        stored=state.stored.at[index].set(True),
    )


def sample_features(
    state: PrototypeState, key: jax.Array, count: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``count`` replayed features: ``(features [n, C], labels [n], valid [])``.

    A stored class is drawn uniformly for each sample, then every channel from
    ``N(mean, std^2)``. ``valid`` is False while nothing is stored (the loss is
    then zero).
    """
    key_class, key_noise = jax.random.split(key)
    weights = state.stored.astype(jnp.float32)
    valid = weights.sum() > 0
    logits = jnp.where(state.stored, 0.0, -jnp.inf)
    logits = jnp.where(valid, logits, 0.0)  # any class while empty (masked)
    labels = jax.random.categorical(key_class, logits, shape=(count,))
    noise = jax.random.normal(key_noise, (count, state.mean.shape[1]))
    features = state.mean[labels] + state.std[labels] * noise
    return features, labels, valid


def prototype_loss(
    head: Callable, params, state: PrototypeState, key: jax.Array, count: int
) -> jax.Array:
    """Mean cross-entropy of ``head(params, features [n, C]) -> [n, K]`` on them."""
    features, labels, valid = sample_features(state, key, count)
    logits = head(params, features)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    return jnp.where(valid, loss, 0.0)


def feature_drift(features: Callable, params, anchor, images: jax.Array) -> jax.Array:
    """``sum (f(params) - f(anchor))^2 / sum f(anchor)^2`` over ``images``.

    The relative squared change of ``features(p, images) -> [B, H, W, C]``;
    gradients flow through ``params`` only (``anchor`` is held fixed).
    """
    current = features(params, images)
    reference = jax.lax.stop_gradient(features(anchor, images))
    scale = jnp.maximum(jnp.sum(jnp.square(reference)), 1e-12)
    return jnp.sum(jnp.square(current - reference)) / scale


def unet_head(params, features: jax.Array) -> jax.Array:
    """The :class:`~segxai_jax.models.UNet`'s 1x1 ``head`` on features ``[n, C]``."""
    kernel, bias = params["head"]["kernel"], params["head"]["bias"]
    return features @ kernel[0, 0] + bias


@dataclasses.dataclass(frozen=True)
class PrototypeReplay:
    """Prototype replay of a continual run (:func:`~segxai_jax.continual.train_stream`).

    Attributes:
      features: ``features(params, images [B, H, W, 3]) -> [B, H, W, C]``, the
        layer the classifier reads.
      head: ``head(params, features [n, C]) -> logits [n, K]``.
      channels: C.
      samples: replayed feature vectors per training step.
      weight: of the prototype loss against the pixel loss.
      distillation: weight of the feature-maintenance term (0: none). Stored
        prototypes only help while the features of old classes stay where
        they were measured; with ``distillation > 0`` every step of a later
        task adds ``distillation * feature_drift(...)``, the relative squared
        change of the current batch's features against the parameters the
        task started from (the model at the end of the previous task),
        in the spirit of STAR's old-class feature maintenance (STAR restricts
        it to pixels the old model calls old classes; a stream whose images
        hold only the current task's classes has almost none, so here it
        covers every pixel).
    """

    features: Callable
    head: Callable
    channels: int
    samples: int = 1024
    weight: float = 1.0
    distillation: float = 0.0

    def __post_init__(self):
        validation.check_callable(self.features, "features", "features(params, x)", 2)
        validation.check_callable(self.head, "head", "head(params, features)", 2)
        validation.check_int(self.channels, "channels", minimum=1)
        validation.check_int(self.samples, "samples", minimum=1)
        validation.check_real(self.weight, "weight", minimum=0.0)
        validation.check_real(self.distillation, "distillation", minimum=0.0)

    def loss(
        self,
        params,
        state: PrototypeState,
        key: jax.Array,
        images: jax.Array | None = None,
        anchor=None,
    ) -> jax.Array:
        """The term added to every training step.

        ``weight * prototype_loss``, plus ``distillation *``
        :func:`feature_drift` of ``images [B, H, W, 3]`` against the
        ``anchor`` parameters when both are given, ``distillation > 0`` and a
        prototype is stored (so never during the first task).
        """
        loss = self.weight * prototype_loss(self.head, params, state, key, self.samples)
        if self.distillation > 0 and images is not None and anchor is not None:
            drift = feature_drift(self.features, params, anchor, images)
            loss += jnp.where(state.stored.any(), self.distillation * drift, 0.0)
        return loss

    def update(
        self,
        params,
        state: PrototypeState,
        images: np.ndarray,
        masks: np.ndarray,
        classes: Sequence[int],
        *,
        chunk: int,
    ) -> PrototypeState:
        """Stores the prototypes of ``classes`` from a task's images (in chunks)."""
        num_classes = state.mean.shape[0]
        sums = jax.jit(lambda p, x, m: class_sums(self.features(p, x), m, num_classes))
        totals = None
        for begin in range(0, len(images), chunk):
            part = sums(
                params,
                jnp.asarray(images[begin : begin + chunk]),
                jnp.asarray(masks[begin : begin + chunk]),
            )
            totals = part if totals is None else jax.tree.map(jnp.add, totals, part)
        mean, std, _ = statistics_from_sums(*totals)
        return add_prototypes(state, mean, std, classes)


def unet_logit_head(params, features: jax.Array) -> jax.Array:
    """The U-Net's logits of pixels from their ``[n, C0 + Cb]`` features.

    For a :class:`~segxai_jax.models.UNet` with ``bottleneck_head`` a pixel's
    logits are ``head(dec0 features) + bottleneck_head(bottleneck features of
    its cell)`` (the coarse scores are up-sampled by nearest neighbour), both
    linear. ``features`` is the two vectors concatenated, ``C0`` the width of
    the head's kernel; the result equals the model's logits exactly.
    """
    kernel, bias = params["head"]["kernel"], params["head"]["bias"]
    channels = kernel.shape[2]
    coarse_kernel = params["bottleneck_head"]["kernel"]
    coarse_bias = params["bottleneck_head"]["bias"]
    return (
        features[:, :channels] @ kernel[0, 0]
        + bias
        + features[:, channels:] @ coarse_kernel[0, 0]
        + coarse_bias
    )


def unet_prototype_replay(
    model,
    image_shape,
    *,
    layer: str = "dec0",
    scope: str = "logits",
    samples: int = 1024,
    weight=1.0,
    distillation=0.0,
) -> PrototypeReplay:
    """Prototype replay for the library's :class:`~segxai_jax.models.UNet`.

    Args:
      model: the U-Net (its ``head`` is the classifier).
      image_shape: ``(H, W, 3)`` of one image.
      layer: the probe point before the head (``"dec0"``).
      scope: what the replayed features reach. ``"logits"`` (default): every
        path the logits read, i.e. with ``bottleneck_head`` the prototype of a
        pixel is its ``layer`` features and the bottleneck features of its
        cell (``C = C0 + Cb`` channels) and the replay trains both 1x1 heads
        (:func:`unet_logit_head`); without it, the head alone. ``"head"``:
        the 1x1 head alone even when coarse scores are added (the coarse path
        then forgets unchecked: at 64 px it left old classes at IoU 0,
        ``experiments/continual_replay/report_pilot64.md``).
      samples / weight / distillation: see :class:`PrototypeReplay`.

    Raises:
      ValueError: ``scope`` other than ``"logits"`` or ``"head"``.
    """
    from segxai_jax.probes import make_probe

    validation.check_choice(scope, "scope", ("logits", "head"))
    probe = make_probe(model, layer, input_shape=tuple(image_shape))
    coarse = scope == "logits" and bool(getattr(model.config, "bottleneck_head", False))

    def activations(p, images, point):
        return jax.vmap(lambda x: point.forward(p, x, None)[1])(images)

    if not coarse:
        return PrototypeReplay(
            features=lambda p, images: activations(p, images, probe),
            head=unet_head,
            channels=int(probe.activation_shape[-1]),
            samples=samples,
            weight=weight,
            distillation=distillation,
        )
    bottleneck = make_probe(model, "bottleneck", input_shape=tuple(image_shape))
    factor = 2**model.config.depth

    def features(p, images):
        cells = activations(p, images, bottleneck)
        cells = jnp.repeat(jnp.repeat(cells, factor, axis=1), factor, axis=2)
        return jnp.concatenate([activations(p, images, probe), cells], axis=-1)

    return PrototypeReplay(
        features=features,
        head=unet_logit_head,
        channels=int(probe.activation_shape[-1] + bottleneck.activation_shape[-1]),
        samples=samples,
        weight=weight,
        distillation=distillation,
    )
