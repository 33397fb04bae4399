"""Supervised training of a segmentation model with optax, resumable with Orbax.

The loop is deterministic given ``TrainConfig.seed``: parameters are initialised
from ``fold_in(key(seed), 0)`` and the batch order of epoch ``e`` derives only
from ``(seed, e)``. A checkpoint is written after every epoch, so a run that is
killed and started again with the same arguments resumes after the last
completed epoch and ends with exactly the parameters of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from tqdm.auto import tqdm

from segxai_jax import validation
from segxai_jax.data.pipeline import batches
from segxai_jax.training.checkpointing import CheckpointStore, ensure_writable_dir
from segxai_jax.training.evaluation import (
    check_labels,
    check_model_classes,
    evaluate,
    make_eval_step,
)
from segxai_jax.training.losses import LOSSES, segmentation_loss
from segxai_jax.training.resume import json_fingerprint, resume, write_history_log


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train`.

    Attributes:
      epochs: passes over the training set.
      batch_size: images per optimiser step (the last partial batch is dropped).
      learning_rate: peak learning rate of a linear-warmup cosine schedule.
      warmup_steps: steps of linear warmup from 0.
      weight_decay: decoupled weight decay of AdamW.
      loss: ``"cross_entropy"`` (pixel-mean softmax cross-entropy) or
        ``"cross_entropy+dice"`` (plus a soft Dice loss averaged over the
        classes present in the batch, which counters the dominance of background
        pixels; on TextureDigits it shortens the plateau before digit classes are
        predicted).
      eval_batch_size: images per evaluation step.
      seed: the one seed every random choice derives from.
    """

    epochs: int = 8
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    weight_decay: float = 1e-4
    loss: str = "cross_entropy+dice"
    eval_batch_size: int = 100
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size", "eval_batch_size"):
            validation.check_int(getattr(self, name), name, minimum=1)
        validation.check_real(
            self.learning_rate, "learning_rate", minimum=0.0, exclusive_minimum=True
        )
        validation.check_int(self.warmup_steps, "warmup_steps", minimum=0)
        validation.check_real(self.weight_decay, "weight_decay", minimum=0.0)
        validation.check_choice(self.loss, "loss", LOSSES)
        validation.check_int(self.seed, "seed", minimum=0)


class TrainState(struct.PyTreeNode):
    """Everything that changes during training (what a checkpoint holds)."""

    step: jax.Array
    params: Any
    opt_state: Any


@dataclasses.dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
      state: final :class:`TrainState` (``state.params`` are the weights).
      history: one dict per completed epoch (loss, validation scores, seconds).
      resumed_from_epoch: epochs that were restored from a checkpoint (0 if none).
    """

    state: TrainState
    history: list[dict]
    resumed_from_epoch: int


def make_optimizer(
    config: TrainConfig, total_steps: int
) -> optax.GradientTransformation:
    """AdamW with linear warmup and cosine decay over ``total_steps``."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=config.learning_rate,
        warmup_steps=min(config.warmup_steps, max(total_steps - 1, 0)),
        decay_steps=max(total_steps, 1),
    )
    return optax.adamw(schedule, weight_decay=config.weight_decay)


def make_train_step(
    model: nn.Module,
    optimizer: optax.GradientTransformation,
    *,
    loss_kind: str = "cross_entropy+dice",
):
    """Returns a jitted ``step(state, images, masks) -> (state, loss)``.

    The state argument is donated: its buffers are reused for the new state.
    """

    def step(state: TrainState, images, masks):
        def loss_fn(params):
            logits = model.apply({"params": params}, images)
            return segmentation_loss(logits, masks, loss_kind)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(state.step + 1, params, opt_state), loss

    return jax.jit(step, donate_argnums=0)


def init_train_state(
    model: nn.Module, optimizer: optax.GradientTransformation, *, seed: int, sample
) -> TrainState:
    """Initial state; parameters from ``fold_in(key(seed), 0)``.

    Args:
      model: the Linen model.
      optimizer: the optax transformation.
      seed: the run's seed.
      sample: one input batch ``[B, H, W, C]`` (only its shape is used).
    """
    key_init = jax.random.fold_in(jax.random.key(seed), 0)
    variables = jax.jit(model.init)(key_init, jnp.zeros_like(sample[:1]))
    params = variables["params"]
    return TrainState(jnp.zeros((), jnp.int32), params, optimizer.init(params))


def train(
    model: nn.Module,
    train_data: Any,
    validation_data: Any,
    *,
    config: TrainConfig,
    num_classes: int,
    workdir: str | Path,
    run_fingerprint: Mapping[str, Any] | None = None,
    stop_after_epochs: int | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[dict, TrainState], None] | None = None,
) -> TrainResult:
    """Trains ``model``, evaluating and checkpointing after every epoch.

    Resumes from ``workdir/checkpoints`` when it holds checkpoints of the same
    run. A run is identified by ``config`` and ``run_fingerprint`` (e.g. the
    model and dataset configs); checkpoints of a different run are never
    overwritten: a :class:`CheckpointError` asks for another ``workdir``.

    Args:
      model: Linen model ``[B, H, W, 3] -> [B, H, W, K]``.
      train_data: random-access source or dict of arrays (images in [0, 1]).
      validation_data: same, evaluated after every epoch.
      config: hyper-parameters.
      num_classes: K; masks must lie in ``[0, K)``.
      workdir: where ``checkpoints/`` and ``train_log.jsonl`` are written.
      run_fingerprint: JSON-serialisable description of everything else that
        defines the run.
      stop_after_epochs: stop after this many epochs in total (to split a run;
        the result equals a prefix of the full run).
      progress: show a progress bar with ETA.
      on_epoch_end: called with the epoch's log entry and the state after the
        epoch's checkpoint is written.

    Returns:
      A :class:`TrainResult`.

    Raises:
      ValueError: ``num_classes`` differs from the model's output classes, a
        label lies outside ``[0, num_classes)``, or another bad argument;
        checked before anything is written into ``workdir``.
    """
    validation.check_instance(model, "model", nn.Module, "a Flax Linen model")
    validation.check_instance(config, "config", TrainConfig)
    num_classes = validation.check_int(num_classes, "num_classes", minimum=1)
    validation.check_optional_int(stop_after_epochs, "stop_after_epochs", minimum=0)
    validation.check_bool(progress, "progress")
    first = next(iter(batches(train_data, batch_size=1, seed=0, shuffle=False)))
    check_model_classes(model, first["image"], num_classes)
    check_labels(train_data, num_classes, "train_data['mask']")
    check_labels(validation_data, num_classes, "validation_data['mask']")
    workdir = ensure_writable_dir(workdir, name="workdir")
    fingerprint = json_fingerprint(
        {"train": dataclasses.asdict(config), "run": dict(run_fingerprint or {})}
    )
    num_train = _num_examples(train_data)
    steps_per_epoch = num_train // config.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"train_data: expected at least batch_size={config.batch_size} examples, "
            f"got {num_train}"
        )
    optimizer = make_optimizer(config, config.epochs * steps_per_epoch)
    state = init_train_state(model, optimizer, seed=config.seed, sample=first["image"])
    log_path = workdir / "train_log.jsonl"

    with CheckpointStore(workdir / "checkpoints") as store:
        resumed = resume(
            store,
            {"params": state.params, "opt": (state.step, state.opt_state)},
            fingerprint,
        )
        start_epoch, history = resumed.step, resumed.history
        if resumed.items is not None:
            step, opt_state = resumed.items["opt"]
            state = TrainState(step, resumed.items["params"], opt_state)
            write_history_log(log_path, history)  # a kill may have cut the log

        train_step = make_train_step(model, optimizer, loss_kind=config.loss)
        eval_step = make_eval_step(model, num_classes)
        last_epoch = config.epochs if stop_after_epochs is None else stop_after_epochs
        last_epoch = min(last_epoch, config.epochs)
        bar = tqdm(
            total=max(last_epoch - start_epoch, 0) * steps_per_epoch,
            disable=not progress,
            desc="train",
            unit="step",
            mininterval=2.0,
        )
        for epoch in range(start_epoch, last_epoch):
            state, entry = _train_epoch(
                epoch,
                state,
                train_step,
                eval_step,
                train_data,
                validation_data,
                config=config,
                model=model,
                num_classes=num_classes,
                bar=bar,
            )
            history.append(entry)
            store.save(
                epoch + 1,
                {"params": state.params, "opt": (state.step, state.opt_state)},
                {"fingerprint": fingerprint, "history": history},
            )
            write_history_log(log_path, history)
            if on_epoch_end is not None:
                on_epoch_end(entry, state)
        bar.close()
    return TrainResult(state=state, history=history, resumed_from_epoch=start_epoch)


def _train_epoch(
    epoch,
    state,
    train_step,
    eval_step,
    train_data,
    validation_data,
    *,
    config,
    model,
    num_classes,
    bar,
):
    """One epoch of steps, then the validation scores: ``(state, log entry)``."""
    started = time.perf_counter()
    losses = []
    for batch in batches(
        train_data, batch_size=config.batch_size, seed=config.seed, epoch=epoch
    ):
        validation.check_label_array(
            batch["mask"], "train_data['mask']", num_classes=num_classes
        )
        state, loss = train_step(state, batch["image"], batch["mask"])
        losses.append(loss)
        bar.update(1)
    mean_loss = float(jnp.mean(jnp.stack(losses)))
    train_seconds = time.perf_counter() - started
    if not math.isfinite(mean_loss):
        raise FloatingPointError(
            f"training diverged in epoch {epoch + 1} (loss {mean_loss}); "
            "lower learning_rate"
        )
    scores = evaluate(
        model,
        state.params,
        validation_data,
        num_classes=num_classes,
        batch_size=config.eval_batch_size,
        eval_step=eval_step,
    )
    bar.set_postfix(loss=f"{mean_loss:.3f}", val_miou=f"{scores['miou']:.3f}")
    entry = {
        "epoch": epoch + 1,
        "step": int(state.step),
        "train_loss": mean_loss,
        "val_miou": scores["miou"],
        "val_pixel_accuracy": scores["pixel_accuracy"],
        "val_mean_dice": scores["mean_dice"],
        "train_seconds": train_seconds,
    }
    return state, entry


def load_trained_params(workdir: str | Path, model: nn.Module, sample) -> Any:
    """Parameters of the newest checkpoint in ``workdir/checkpoints``.

    Args:
      workdir: the training run's work directory.
      model: the model the checkpoint was trained with (defines the structure).
      sample: an input batch ``[B, H, W, C]`` (only its shape is used).

    Raises:
      CheckpointError: missing checkpoint, or one that does not fit ``model``.
    """
    abstract = jax.eval_shape(model.init, jax.random.key(0), sample[:1])["params"]
    with CheckpointStore(Path(workdir) / "checkpoints") as store:
        _, items, _ = store.restore({"params": abstract})
    return items["params"]


def _num_examples(data) -> int:
    if isinstance(data, Mapping):
        return len(data["image"])
    return len(data)
