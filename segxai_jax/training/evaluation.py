"""Evaluation of a segmentation model, and the checks of its classes and labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.data.pipeline import batches
from segxai_jax.metrics.segmentation import confusion_matrix, segmentation_scores


def make_eval_step(model: nn.Module, num_classes: int):
    """Returns a jitted ``step(params, images, masks) -> [K, K] confusion counts``.

    Predictions or labels outside ``[0, K)`` under ``jit`` make every count -1
    (see :func:`segxai_jax.metrics.segmentation.confusion_matrix`).
    """
    validation.check_instance(model, "model", nn.Module, "a Flax Linen model")
    num_classes = validation.check_int(num_classes, "num_classes", minimum=1)

    def step(params, images, masks):
        predictions = model.apply({"params": params}, images).argmax(-1)
        return confusion_matrix(predictions, masks, num_classes)

    return jax.jit(step)


def evaluate(
    model: nn.Module,
    params: Any,
    data: Any,
    *,
    num_classes: int,
    batch_size: int = 100,
    eval_step: Callable | None = None,
) -> dict:
    """Pixel accuracy, per-class IoU/Dice and their means over a whole split.

    Args:
      model: a Linen segmentation model ``[B, H, W, 3] -> [B, H, W, K]``.
      params: its parameters.
      data: a random-access source or a dict of arrays (see
        :func:`segxai_jax.data.batches`).
      num_classes: K.
      batch_size: images per step; the last batch may be smaller (one extra
        compilation).
      eval_step: a step from :func:`make_eval_step`, to reuse its compilation.

    Returns:
      :func:`segxai_jax.training.segmentation_scores` of the split.

    Raises:
      ValueError: ``num_classes`` differs from the model's output classes, or
        a mask holds a label outside ``[0, num_classes)``.
    """
    num_classes = validation.check_int(num_classes, "num_classes", minimum=1)
    validation.check_int(batch_size, "batch_size", minimum=1)
    first = next(iter(batches(data, batch_size=1, seed=0, shuffle=False)))
    check_model_classes(model, first["image"], num_classes)
    check_labels(data, num_classes)
    eval_step = eval_step or make_eval_step(model, num_classes)
    total = np.zeros((num_classes, num_classes), np.int64)
    with validation.params_errors(model):
        for batch in batches(
            data, batch_size=batch_size, seed=0, shuffle=False, drop_remainder=False
        ):
            validation.check_label_array(batch["mask"], "mask", num_classes=num_classes)
            total += np.asarray(eval_step(params, batch["image"], batch["mask"]))
    return segmentation_scores(total)


def check_model_classes(model: nn.Module, sample, num_classes: int) -> None:
    """The model's logits have ``num_classes`` channels (shape evaluation only).

    Args:
      model: a Linen model ``[B, H, W, C] -> [B, H, W, K]``.
      sample: an input batch ``[B, H, W, C]`` (only its shape is used).
      num_classes: the K the caller expects.
    """
    spec = jax.ShapeDtypeStruct((1, *np.shape(sample)[1:]), jnp.float32)
    out = jax.eval_shape(
        lambda x: model.init_with_output(jax.random.key(0), x)[0], spec
    )
    validation.check_num_classes(out.shape[-1], num_classes)


def check_labels(data: Any, num_classes: int, name: str = "mask") -> None:
    """Every label of an in-memory split lies in ``[0, num_classes)``.

    Sources read example by example are checked batch by batch as they are
    read instead.
    """
    if isinstance(data, Mapping):
        validation.check_label_array(
            np.asarray(data["mask"]), name, num_classes=num_classes
        )
