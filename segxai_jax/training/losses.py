"""Segmentation losses: pixel cross-entropy and soft Dice."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

LOSSES = ("cross_entropy", "cross_entropy+dice")


def pixel_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Pixel-mean softmax cross-entropy; ``logits [..., K]``, ``labels [...]``."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def soft_dice_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``1 - Dice`` of softmax probabilities, averaged over classes in ``labels``.

    Args:
      logits: ``[B, H, W, K]``.
      labels: ``[B, H, W]`` int.
    """
    num_classes = logits.shape[-1]
    probs = jax.nn.softmax(logits, axis=-1).reshape(-1, num_classes)
    onehot = jax.nn.one_hot(labels.reshape(-1), num_classes)
    overlap = jnp.sum(probs * onehot, axis=0)
    sizes = jnp.sum(probs, axis=0) + jnp.sum(onehot, axis=0)
    present = jnp.sum(onehot, axis=0) > 0
    dice = 2 * overlap / jnp.maximum(sizes, 1e-6)
    return jnp.sum(jnp.where(present, 1 - dice, 0.0)) / jnp.maximum(present.sum(), 1)


def segmentation_loss(logits: jax.Array, labels: jax.Array, kind: str) -> jax.Array:
    """The training loss named by :attr:`TrainConfig.loss`."""
    loss = pixel_cross_entropy(logits, labels)
    if kind == "cross_entropy+dice":
        loss = loss + soft_dice_loss(logits, labels)
    return loss
