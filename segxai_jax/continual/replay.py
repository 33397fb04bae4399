"""The exemplar replay memory of a continual run: set-up and filling.

:func:`setup_replay` sizes a replay memory for a byte budget and a
compressor; its ``offer`` explains a finished task's images with the model
just trained, compresses them in fixed-size chunks and offers them to the
memory, grouped by each image's largest class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from segxai_jax.continual.compress import Compressor
from segxai_jax.continual.memory import (
    capacity_for_budget,
    exemplar_bytes,
    overhead_bytes,
    replay_memory,
    storage_bytes,
)


@dataclasses.dataclass(frozen=True)
class Replay:
    """The replay memory of a run: its functions, compressor and sizes."""

    memory: Any
    compressor: Compressor
    offer: Callable
    info: dict


def setup_replay(compressor, budget_bytes, saliency, config, num_classes):
    """``(Replay, memory state)`` for ``budget_bytes`` of ``compressor`` exemplars."""
    capacity = capacity_for_budget(budget_bytes, compressor.example)
    memory = replay_memory(
        capacity=capacity,
        num_groups=num_classes,
        policy=config.policy,
        sample_size=config.replay_batch_size,
    )
    replay_state = memory.init(compressor.example)
    info = {
        "capacity": capacity,
        "exemplar_bytes": exemplar_bytes(compressor.example),
        "storage_bytes": storage_bytes(replay_state),
        "overhead_bytes": overhead_bytes(replay_state),
    }
    offer = make_offer(compressor, memory, saliency, config)
    return Replay(memory, compressor, offer, info), replay_state


def make_offer(compressor, memory, saliency, config):
    """Explains, compresses and offers a task's images in fixed-size chunks."""
    chunk = config.saliency_batch_size
    insert = jax.jit(memory.insert, donate_argnums=0)

    def compress_chunk(params, key, images, masks, classes):
        maps = saliency(params, images, masks, classes)
        keys = jax.random.split(key, images.shape[0])
        return jax.vmap(compressor.compress)(keys, images, masks, maps)

    compress_chunk = jax.jit(compress_chunk, static_argnums=4)  # classes: static

    def offer(params, replay_state, key, data, classes):
        classes = tuple(int(c) for c in classes)
        count = len(data["image"])
        for index, begin in enumerate(range(0, count, chunk)):
            images = pad(data["image"][begin : begin + chunk], chunk)
            masks = pad(data["mask"][begin : begin + chunk], chunk)
            valid = np.arange(chunk) < count - begin
            key_chunk = jax.random.fold_in(key, index)
            exemplars = compress_chunk(
                params, jax.random.fold_in(key_chunk, 0), images, masks, classes
            )
            groups = largest_class(masks, classes)
            replay_state = insert(
                replay_state, jax.random.fold_in(key_chunk, 1), exemplars, groups, valid
            )
        return replay_state

    return offer


def largest_class(masks: np.ndarray, classes: tuple[int, ...]) -> np.ndarray:
    areas = np.stack([(masks == c).sum(axis=(1, 2)) for c in classes], axis=1)
    return np.asarray(classes, np.int32)[areas.argmax(axis=1)]


def pad(array: np.ndarray, size: int) -> np.ndarray:
    missing = size - len(array)
    if missing == 0:
        return np.asarray(array)
    return np.concatenate([array, np.zeros((missing, *array.shape[1:]), array.dtype)])
