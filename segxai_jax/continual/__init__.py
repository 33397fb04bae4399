"""Continual learning: class-incremental stream, replay memory, compressors.

See ``experiments/continual_replay/`` for the study these pieces serve.
"""

from segxai_jax.continual.compress import (
    KINDS,
    Compressor,
    compress_batch,
    downsample_size_for_bytes,
    make_compressor,
    salient_corner,
    to_float,
    to_uint8,
)
from segxai_jax.continual.learner import ContinualConfig, joint_tasks, train_stream
from segxai_jax.continual.memory import (
    POLICIES,
    ReplayMemory,
    ReplayState,
    capacity_for_budget,
    exemplar_bytes,
    overhead_bytes,
    replay_memory,
    storage_bytes,
)
from segxai_jax.continual.metrics import (
    average_forgetting,
    backward_transfer,
    task_scores,
)
from segxai_jax.continual.prototypes import (
    PrototypeReplay,
    prototype_bytes,
    unet_prototype_replay,
)
from segxai_jax.continual.saliency import (
    default_explainer,
    exemplar_targets,
    saliency_fn,
)
from segxai_jax.continual.steps import (
    evaluate_seen,
    make_replay_step,
    weighted_segmentation_loss,
)
from segxai_jax.continual.stream import (
    IGNORE_LABEL,
    LABELLINGS,
    check_tasks,
    evaluation_masks,
    seen_classes,
    split_classes,
    task_data,
)

__all__ = [
    "PrototypeReplay",
    "prototype_bytes",
    "unet_prototype_replay",
    "IGNORE_LABEL",
    "KINDS",
    "LABELLINGS",
    "POLICIES",
    "Compressor",
    "ContinualConfig",
    "ReplayMemory",
    "ReplayState",
    "average_forgetting",
    "backward_transfer",
    "capacity_for_budget",
    "check_tasks",
    "compress_batch",
    "default_explainer",
    "downsample_size_for_bytes",
    "evaluate_seen",
    "evaluation_masks",
    "exemplar_bytes",
    "exemplar_targets",
    "joint_tasks",
    "make_compressor",
    "make_replay_step",
    "overhead_bytes",
    "replay_memory",
    "saliency_fn",
    "salient_corner",
    "seen_classes",
    "split_classes",
    "storage_bytes",
    "task_data",
    "task_scores",
    "to_float",
    "to_uint8",
    "train_stream",
    "weighted_segmentation_loss",
]
