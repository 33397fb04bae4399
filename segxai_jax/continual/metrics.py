"""Continual-learning scores from an accuracy matrix (here: per-task mIoU).

``acc[t, j]`` is the score on task ``j``'s classes after training task ``t``
(NaN for ``j > t``, not learned yet).

* average forgetting (Chaudhry et al. 2018): for every old task ``j < T-1``,
  the drop from its best score before the end to its final score,
  ``max_{t < T-1} acc[t, j] - acc[T-1, j]``, averaged over ``j``;
* backward transfer (Lopez-Paz & Ranzato 2017):
  ``mean_{j < T-1} (acc[T-1, j] - acc[j, j])`` (negative = forgetting).

References:
  Chaudhry, Dokania, Ajanthan, Torr. Riemannian walk for incremental
  learning. ECCV 2018.
  Lopez-Paz, Ranzato. Gradient episodic memory for continual learning.
  NeurIPS 2017.
"""

from __future__ import annotations

import numpy as np


def _check(acc) -> np.ndarray:
    acc = np.asarray(acc, np.float64)
    if acc.ndim != 2 or acc.shape[0] != acc.shape[1] or acc.shape[0] < 1:
        raise ValueError(f"acc: expected a square [T, T] matrix, got shape {acc.shape}")
    return acc


def average_forgetting(acc) -> float:
    """Mean over old tasks of best-before-last minus last score; NaN if T = 1.

    Examples:
      >>> average_forgetting([[0.8, float("nan")], [0.5, 0.9]])
      0.30000000000000004
    """
    acc = _check(acc)
    last = acc.shape[0] - 1
    if last == 0:
        return float("nan")
    drops = [np.nanmax(acc[:last, j]) - acc[last, j] for j in range(last)]
    return float(np.nanmean(drops))


def backward_transfer(acc) -> float:
    """Mean over old tasks of last minus just-learned score; NaN if T = 1.

    Examples:
      >>> backward_transfer([[0.8, float("nan")], [0.5, 0.9]])
      -0.30000000000000004
    """
    acc = _check(acc)
    last = acc.shape[0] - 1
    if last == 0:
        return float("nan")
    return float(np.nanmean([acc[last, j] - acc[j, j] for j in range(last)]))


def task_scores(iou, tasks) -> list[float]:
    """Mean IoU of each task's classes (NaN where all of them are NaN)."""
    iou = np.asarray(iou, np.float64)
    scores = []
    for task in tasks:
        values = iou[list(task)]
        scores.append(
            float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
        )
    return scores


def stream_summary(history, tasks, memory_info, state, replay_state) -> dict:
    """What :func:`segxai_jax.continual.train_stream` returns, from its history.

    Args:
      history: one entry per finished task (with ``task_miou`` and scores).
      tasks: the task split.
      memory_info: capacity and sizes of the replay memory.
      state, replay_state: the final training state and memory.
    """
    count = len(history)
    acc = np.full((count, count), np.nan)
    for t, entry in enumerate(history):
        acc[t, :count] = entry["task_miou"][:count]
    finished = count == len(tasks)
    last = history[-1] if history else {}
    return {
        "history": history,
        "accuracy": acc.tolist(),
        "finished": finished,
        "final_miou": last.get("miou_seen", float("nan")),
        "final_iou": last.get("iou", []),
        "average_forgetting": average_forgetting(acc) if count else np.nan,
        "backward_transfer": backward_transfer(acc) if count else np.nan,
        "memory": dict(
            memory_info,
            exemplars_stored=int(replay_state.count) if replay_state is not None else 0,
        ),
        "state": state,
        "replay_state": replay_state,
    }
