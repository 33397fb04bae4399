"""Training, evaluation and checkpoints of segmentation models."""

from segxai_jax.metrics.segmentation import confusion_matrix, segmentation_scores
from segxai_jax.training.checkpointing import (
    CheckpointError,
    CheckpointStore,
    ensure_writable_dir,
    tree_digest,
    write_atomic,
)
from segxai_jax.training.evaluation import (
    check_labels,
    check_model_classes,
    evaluate,
    make_eval_step,
)
from segxai_jax.training.losses import (
    LOSSES,
    pixel_cross_entropy,
    segmentation_loss,
    soft_dice_loss,
)
from segxai_jax.training.resume import (
    Resumed,
    json_fingerprint,
    resume,
    write_history_log,
)
from segxai_jax.training.trainer import (
    TrainConfig,
    TrainResult,
    TrainState,
    init_train_state,
    load_trained_params,
    make_optimizer,
    make_train_step,
    train,
)

__all__ = [
    "LOSSES",
    "CheckpointError",
    "CheckpointStore",
    "Resumed",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "check_labels",
    "check_model_classes",
    "confusion_matrix",
    "ensure_writable_dir",
    "evaluate",
    "init_train_state",
    "json_fingerprint",
    "load_trained_params",
    "make_eval_step",
    "make_optimizer",
    "make_train_step",
    "pixel_cross_entropy",
    "resume",
    "segmentation_loss",
    "segmentation_scores",
    "soft_dice_loss",
    "train",
    "tree_digest",
    "write_atomic",
    "write_history_log",
]
