"""Class-incremental training with (compressed) experience replay.

One run goes through the tasks of a stream (:mod:`segxai_jax.continual.stream`).
For each task it trains ``epochs_per_task`` epochs with a jitted step in which
every batch of the current task is joined by ``replay_batch_size`` exemplars
sampled from the replay memory and decompressed inside the step (loss masked
by the exemplar's per-pixel weight). After the task, every training image of
the task is explained by the model just trained (Seg-Grad-CAM by default),
compressed and offered to the memory; then the model is evaluated on the test
split (mIoU over seen classes, per-class IoU) and a checkpoint of the model,
optimiser and memory is written. A killed run resumes after the last finished
task and ends with the same numbers.

Bounds: ``compressor=None`` (or a zero budget) is fine-tuning without replay
(lower bound); joint training is one task holding every class
(:func:`joint_tasks`, upper bound).

Keys: everything random in task ``t`` derives from ``fold_in(key(seed), t)``
(steps: ``fold_in(task_key, step)``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from segxai_jax import validation
from segxai_jax.continual import metrics as cl_metrics
from segxai_jax.continual import stream
from segxai_jax.continual.compress import Compressor
from segxai_jax.continual.memory import POLICIES
from segxai_jax.continual.prototypes import (
    PrototypeReplay,
    empty_prototypes,
    prototype_bytes,
)
from segxai_jax.continual.replay import Replay, setup_replay
from segxai_jax.continual.steps import (
    evaluate_seen,
    make_replay_step,
    make_seen_eval_step,
)
from segxai_jax.data.pipeline import batches
from segxai_jax.training import CheckpointStore, TrainState
from segxai_jax.training.evaluation import check_model_classes
from segxai_jax.training.resume import json_fingerprint, resume

LOSSES = ("cross_entropy", "cross_entropy+dice")
_OFFER_KEY = 2**31 - 1  # fold_in data of the exemplar keys (steps stay below)


@dataclasses.dataclass(frozen=True)
class ContinualConfig:
    """Hyper-parameters of :func:`train_stream`.

    Attributes:
      epochs_per_task: passes over each task's images.
      batch_size: current-task images per step (last partial batch dropped).
      replay_batch_size: exemplars replayed per step.
      learning_rate: constant AdamW learning rate (no schedule, so tasks are
        treated alike whatever their order).
      weight_decay: AdamW decoupled weight decay.
      loss: ``"cross_entropy"`` or ``"cross_entropy+dice"`` (both weighted by
        the per-pixel loss weights).
      policy: replay memory policy (see :mod:`segxai_jax.continual.memory`).
      labelling: ``"current"`` or ``"seen"`` (see
        :mod:`segxai_jax.continual.stream`).
      saliency_batch_size: images explained and compressed per jitted call.
      eval_batch_size: test images per evaluation step.
      seed: every random choice derives from it.
    """

    epochs_per_task: int = 2
    batch_size: int = 16
    replay_batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    loss: str = "cross_entropy+dice"
    policy: str = "reservoir"
    labelling: str = "current"
    saliency_batch_size: int = 32
    eval_batch_size: int = 100
    seed: int = 0

    def __post_init__(self):
        for name in (
            "epochs_per_task",
            "batch_size",
            "replay_batch_size",
            "saliency_batch_size",
            "eval_batch_size",
        ):
            validation.check_int(getattr(self, name), name, minimum=1)
        validation.check_real(
            self.learning_rate, "learning_rate", minimum=0.0, exclusive_minimum=True
        )
        validation.check_real(self.weight_decay, "weight_decay", minimum=0.0)
        validation.check_choice(self.loss, "loss", LOSSES)
        validation.check_choice(self.policy, "policy", POLICIES)
        validation.check_choice(self.labelling, "labelling", stream.LABELLINGS)
        validation.check_int(self.seed, "seed", minimum=0)


def joint_tasks(tasks: Sequence[Sequence[int]]) -> tuple[tuple[int, ...]]:
    """The joint-training upper bound: one task with every class of ``tasks``."""
    return (tuple(sorted(c for task in tasks for c in task)),)


def train_stream(
    model: nn.Module,
    train: dict,
    test: dict,
    *,
    tasks: Sequence[Sequence[int]],
    num_classes: int,
    config: ContinualConfig,
    compressor: Compressor | None,
    budget_bytes: int,
    saliency: Callable | None,
    workdir: str | Path,
    stop_after_tasks: int | None = None,
    fingerprint: dict | None = None,
    prototypes: PrototypeReplay | None = None,
) -> dict:
    """Trains through the stream with replay; checkpoints after every task.

    Args:
      model: Linen model ``[B, H, W, 3] -> [B, H, W, K]``.
      train: ``{"image": [N, H, W, 3] float32, "mask": [N, H, W] int}`` with full
        labels (relabelled per task here).
      test: same, evaluated after every task.
      tasks: the task split.
      num_classes: K.
      config: hyper-parameters.
      compressor: how exemplars are stored; ``None`` = no replay (fine-tuning).
      budget_bytes: replay memory budget; 0 = no replay.
      saliency: ``f(params, images, masks, classes) -> [B, H, W]`` (see
        :func:`segxai_jax.continual.saliency.saliency_fn`); needed only by
        compressors that use it (pass it anyway: random ones ignore it).
      workdir: where ``checkpoints/`` go; a run resumes from them.
      stop_after_tasks: stop after this many tasks in total (to split a run).
      fingerprint: JSON-able description of the run, stored in checkpoints;
        a workdir holding another run raises :class:`CheckpointError`.
      prototypes: prototype replay (STAR-style,
        :mod:`segxai_jax.continual.prototypes`): after each task the task's
        classes get feature prototypes, replayed to the classifier in every
        later step; alone (``compressor=None``) or beside exemplars.

    Returns:
      dict with ``history`` (one entry per task: scores, memory counters,
      seconds), ``accuracy`` ``[T, T]``, ``final_miou``, ``final_iou``,
      ``average_forgetting``, ``backward_transfer``, ``memory`` (capacity,
      exemplar bytes, stored bytes, ``prototype_bytes``) and ``resumed_from``
      (tasks restored from a checkpoint, 0 if none).
    """
    validation.check_instance(model, "model", nn.Module, "a Flax Linen model")
    validation.check_instance(config, "config", ContinualConfig)
    num_classes = validation.check_int(num_classes, "num_classes", minimum=2)
    tasks = stream.check_tasks(tasks, num_classes)
    if compressor is not None:
        validation.check_instance(compressor, "compressor", Compressor)
    if prototypes is not None:
        validation.check_instance(prototypes, "prototypes", PrototypeReplay)
    budget_bytes = validation.check_int(budget_bytes, "budget_bytes", minimum=0)
    validation.check_optional_int(stop_after_tasks, "stop_after_tasks", minimum=0)
    for name, split in (("train", train), ("test", test)):
        validation.check_instance(split, name, dict, "{'image': ..., 'mask': ...}")
        validation.check_label_array(
            np.asarray(split["mask"]), f"{name}['mask']", num_classes=num_classes
        )
    check_model_classes(model, train["image"][:1], num_classes)

    key_run = jax.random.key(config.seed)
    optimizer = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    params = jax.jit(model.init)(
        jax.random.fold_in(key_run, 10_000),
        jnp.zeros((1, *train["image"].shape[1:3], 3)),
    )["params"]
    state = TrainState(jnp.zeros((), jnp.int32), params, optimizer.init(params))
    replay, replay_state = None, None
    if compressor is not None and budget_bytes > 0:
        replay, replay_state = setup_replay(
            compressor, budget_bytes, saliency, config, num_classes
        )
    record_id = json_fingerprint(
        {
            "config": dataclasses.asdict(config),
            "tasks": tasks,
            "compressor": compressor.name if replay else None,
            "budget_bytes": int(budget_bytes) if replay else 0,
            **(
                {
                    "prototypes": [
                        prototypes.channels,
                        prototypes.samples,
                        prototypes.weight,
                        # Appended only when used: earlier checkpoints resume.
                        *([prototypes.distillation] if prototypes.distillation else []),
                    ]
                }
                if prototypes
                else {}
            ),
            **(fingerprint or {}),
        }
    )
    run = _Stream(
        model=model,
        train=train,
        test=test,
        tasks=tasks,
        num_classes=num_classes,
        config=config,
        replay=replay,
        step_fn=make_replay_step(
            model,
            optimizer,
            loss_kind=config.loss,
            sample=replay.memory.sample if replay else None,
            decompress=replay.compressor.decompress if replay else None,
            prototype_loss=prototypes.loss if prototypes else None,
        ),
        eval_step=make_seen_eval_step(model, num_classes),
        prototypes=prototypes,
    )
    proto_state = (
        empty_prototypes(num_classes, prototypes.channels) if prototypes else None
    )
    last = len(tasks) if stop_after_tasks is None else min(stop_after_tasks, len(tasks))
    with CheckpointStore(Path(workdir) / "checkpoints") as store:
        items = _checkpoint_items(state, replay_state, proto_state)
        resumed = resume(store, items, record_id)
        start, history = resumed.step, resumed.history
        if resumed.items is not None:
            step, opt_state = resumed.items["opt"]
            state = TrainState(step, resumed.items["params"], opt_state)
            replay_state = resumed.items.get("memory")
            proto_state = resumed.items.get("prototypes")
        for task in range(start, last):
            state, (replay_state, proto_state), entry = _run_task(
                run,
                task,
                state,
                (replay_state, proto_state),
                jax.random.fold_in(key_run, task),
            )
            history.append(entry)
            store.save(
                task + 1,
                _checkpoint_items(state, replay_state, proto_state),
                {"fingerprint": record_id, "history": history},
            )
    memory_info = dict(replay.info if replay else _NO_MEMORY)
    stored = int(proto_state.stored.sum()) if proto_state is not None else 0
    memory_info["prototype_bytes"] = (
        prototype_bytes(prototypes.channels, stored) if prototypes else 0
    )
    summary = cl_metrics.stream_summary(
        history, tasks, memory_info, state, replay_state
    )
    return {**summary, "resumed_from": start}


_NO_MEMORY = {"capacity": 0, "exemplar_bytes": 0, "storage_bytes": 0}


@dataclasses.dataclass(frozen=True)
class _Stream:
    """What every task of a :func:`train_stream` run shares."""

    model: nn.Module
    train: dict
    test: dict
    tasks: tuple
    num_classes: int
    config: ContinualConfig
    replay: Replay | None
    step_fn: Callable
    eval_step: Callable
    prototypes: PrototypeReplay | None = None


def _checkpoint_items(state: TrainState, replay_state, proto_state=None) -> dict:
    items = {"params": state.params, "opt": (state.step, state.opt_state)}
    if replay_state is not None:
        items["memory"] = replay_state
    if proto_state is not None:
        items["prototypes"] = proto_state
    return items


def _run_task(run: _Stream, task: int, state, memories, key_task):
    """Trains task ``task``, fills the memories, evaluates.

    ``memories`` and the returned pair are ``(replay_state, prototypes)``;
    returns ``(state, memories, log)``.
    """
    replay_state, proto_state = memories
    started = time.perf_counter()
    config = run.config
    data = stream.task_data(
        run.train,
        run.tasks,
        task,
        num_classes=run.num_classes,
        labelling=config.labelling,
    )
    batch_size = min(config.batch_size, len(data["image"]))
    losses = []
    step_index = int(state.step)  # a host counter: no sync per step
    anchor = None
    if run.prototypes is not None and run.prototypes.distillation > 0:
        # The parameters the task starts from, copied: the step donates state.
        anchor = jax.tree.map(jnp.copy, state.params)
    for epoch in range(config.epochs_per_task):
        for batch in batches(
            {"image": data["image"], "mask": data["mask"]},
            batch_size=batch_size,
            seed=config.seed,
            epoch=task * 10_000 + epoch,
        ):
            key_step = jax.random.fold_in(key_task, step_index)
            step_index += 1
            state, loss = run.step_fn(
                state,
                replay_state,
                key_step,
                batch["image"],
                batch["mask"],
                proto_state,
                anchor,
            )
            losses.append(loss)
    mean_loss = float(jnp.mean(jnp.stack(losses)))
    if not math.isfinite(mean_loss):
        raise FloatingPointError(
            f"training diverged in task {task} (loss {mean_loss}); lower learning_rate"
        )
    if run.replay is not None:
        replay_state = run.replay.offer(
            state.params,
            replay_state,
            jax.random.fold_in(key_task, _OFFER_KEY),
            data,
            run.tasks[task],
        )
    if run.prototypes is not None:
        proto_state = run.prototypes.update(
            state.params,
            proto_state,
            data["image"],
            data["mask"],
            run.tasks[task],
            chunk=config.saliency_batch_size,
        )
    scores = evaluate_seen(
        run.eval_step,
        state.params,
        run.test,
        run.tasks,
        task,
        num_classes=run.num_classes,
        batch_size=config.eval_batch_size,
    )
    replaying = replay_state is not None
    entry = {
        "task": task,
        "classes": list(run.tasks[task]),
        "num_images": len(data["image"]),
        "train_loss": mean_loss,
        **scores,
        "exemplars_stored": int(replay_state.count) if replaying else 0,
        "exemplars_offered": int(replay_state.num_offered) if replaying else 0,
        "exemplars_dropped": int(replay_state.num_dropped) if replaying else 0,
        "prototypes_stored": (
            int(proto_state.stored.sum()) if proto_state is not None else 0
        ),
        "seconds": time.perf_counter() - started,
    }
    return state, (replay_state, proto_state), entry
