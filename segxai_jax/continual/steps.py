"""One training step with replay, and evaluation over the classes seen so far."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from segxai_jax.continual import metrics as cl_metrics
from segxai_jax.continual import stream
from segxai_jax.metrics.segmentation import confusion_matrix, segmentation_scores
from segxai_jax.training import TrainState


def weighted_segmentation_loss(
    logits: jax.Array, labels: jax.Array, weights: jax.Array, kind: str
) -> jax.Array:
    """Pixel cross-entropy (+ soft Dice) weighted per pixel.

    Args:
      logits: ``[B, H, W, K]``.
      labels: ``[B, H, W]`` int; values outside ``[0, K)`` get weight 0.
      weights: ``[B, H, W]`` float, 0 = pixel not in the loss.
      kind: one of :data:`segxai_jax.continual.learner.LOSSES`.

    Returns:
      ``sum(w * CE) / max(sum(w), 1)`` (+ ``1 - Dice`` averaged over the classes
      present with positive weight).
    """
    num_classes = logits.shape[-1]
    valid = (labels >= 0) & (labels < num_classes)
    weights = weights * valid
    labels = jnp.where(valid, labels, 0)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    loss = jnp.sum(weights * ce) / jnp.maximum(weights.sum(), 1.0)
    if kind == "cross_entropy+dice":
        w = weights.reshape(-1, 1)
        probs = jax.nn.softmax(logits, axis=-1).reshape(-1, num_classes) * w
        onehot = jax.nn.one_hot(labels.reshape(-1), num_classes) * w
        overlap = probs * onehot
        sizes = probs.sum(0) + onehot.sum(0)
        present = onehot.sum(0) > 0
        dice = 2 * overlap.sum(0) / jnp.maximum(sizes, 1e-6)
        loss += jnp.sum(jnp.where(present, 1 - dice, 0.0)) / jnp.maximum(
            present.sum(), 1
        )
    return loss


def make_replay_step(
    model: nn.Module,
    optimizer: optax.GradientTransformation,
    *,
    loss_kind: str,
    sample: Callable | None,
    decompress: Callable | None,
    prototype_loss: Callable | None = None,
):
    """Jitted ``step(state, replay_state, key, images, masks, prototypes, anchor)``.

    Returns ``(state, loss)``. With ``sample``/``decompress`` (a memory's
    ``sample`` and a compressor's ``decompress``), exemplars drawn with ``key``
    are decompressed and appended to the batch; their loss weights are zero
    while the memory is empty. With ``prototype_loss(params, prototypes, key)``
    (:meth:`~segxai_jax.continual.prototypes.PrototypeReplay.loss`) its term
    is added; with ``anchor`` (the parameters the task started from) it is
    called as ``prototype_loss(params, prototypes, key, images, anchor)``
    on the current batch's images. The training state is donated.
    """

    def step(
        state: TrainState,
        replay_state,
        key,
        images,
        masks,
        prototypes=None,
        anchor=None,
    ):
        current = images
        weights = jnp.ones(masks.shape, jnp.float32)
        if sample is not None:
            items, valid = sample(replay_state, key)
            r_images, r_masks, r_weights = jax.vmap(decompress)(items)
            images = jnp.concatenate([images, r_images])
            masks = jnp.concatenate([masks, r_masks])
            r_weights = r_weights * valid[:, None, None]
            weights = jnp.concatenate([weights, r_weights])

        def loss_fn(params):
            logits = model.apply({"params": params}, images)
            loss = weighted_segmentation_loss(logits, masks, weights, loss_kind)
            if prototype_loss is not None:
                key_replay = jax.random.fold_in(key, 1)
                if anchor is None:
                    loss += prototype_loss(params, prototypes, key_replay)
                else:
                    loss += prototype_loss(
                        params, prototypes, key_replay, current, anchor
                    )
            return loss

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(state.step + 1, params, opt_state), loss

    return jax.jit(step, donate_argnums=0)


def evaluate_seen(
    eval_step: Callable,
    params: Any,
    test: dict,
    tasks: Sequence[Sequence[int]],
    task: int,
    *,
    num_classes: int,
    batch_size: int,
) -> dict:
    """Scores after task ``task``: pixels of unseen classes are ignored.

    Returns:
      ``{"iou": [K] (NaN for unseen classes), "miou_seen", "task_miou": [T]}``.
    """
    masks = stream.evaluation_masks(test["mask"], tasks, task)
    total = np.zeros((num_classes, num_classes), np.int64)
    for start in range(0, len(masks), batch_size):
        stop = start + batch_size
        total += np.asarray(
            eval_step(params, test["image"][start:stop], masks[start:stop])
        )
    iou = np.asarray(segmentation_scores(total)["iou"])
    seen = list(stream.seen_classes(tasks, task))
    unseen = np.setdiff1d(np.arange(num_classes), seen)
    iou[unseen] = np.nan
    task_miou = cl_metrics.task_scores(iou, tasks)
    task_miou[task + 1 :] = [float("nan")] * (len(tasks) - task - 1)
    return {
        "iou": iou.tolist(),
        "miou_seen": float(np.nanmean(iou[seen])),
        "task_miou": task_miou,
    }


def make_seen_eval_step(model: nn.Module, num_classes: int) -> Callable:
    def eval_fn(params, images, masks):
        predictions = model.apply({"params": params}, images).argmax(-1)
        return confusion_matrix(
            predictions, masks, num_classes, ignore_label=stream.IGNORE_LABEL
        )

    return jax.jit(eval_fn)
