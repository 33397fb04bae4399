"""Class-incremental segmentation stream: tasks, their data and their labels.

A stream splits the foreground classes ``1..K-1`` into tasks (e.g. the ten
digits of TextureDigits into 5 tasks of 2 classes); background (class 0) is
part of every task. Task ``t`` trains on every image that contains at least
one pixel of its classes (the "overlapped" protocol: an image may appear in
several tasks, with different labels).

Labelling of a task's masks (``labelling``):

* ``"current"`` (default, the standard class-incremental segmentation
  protocol of MiB, Cermelli et al. 2020): only the current task's classes keep
  their labels; pixels of already-seen AND not-yet-seen classes become
  background. Old classes therefore appear as background in new data
  ("background shift"), which is what makes forgetting severe and replay
  useful.
* ``"seen"``: already-seen classes keep their labels (as if old annotations
  were available), not-yet-seen classes become background.

Evaluation after task ``t`` (:func:`evaluation_masks`) ignores the pixels of
not-yet-seen classes (label :data:`IGNORE_LABEL`) and keeps the true labels
of background and seen classes, so mIoU is over the classes seen so far.

References:
  Cermelli, Mancini, Rota Bulo, Ricci, Caputo. Modeling the background for
  incremental learning in semantic segmentation (MiB). CVPR 2020.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segxai_jax import validation

LABELLINGS = ("current", "seen")
IGNORE_LABEL = 255


def split_classes(
    num_classes: int, *, classes_per_task: int
) -> tuple[tuple[int, ...], ...]:
    """Consecutive foreground classes per task: ``((1, 2), (3, 4), ...)``.

    Args:
      num_classes: K, background included (class 0 is never a task class).
      classes_per_task: foreground classes per task; must divide ``K - 1``
        (otherwise the last task would have fewer classes, which is refused to
        keep tasks comparable).

    Raises:
      ValueError: fewer than one foreground class or an uneven split.

    Examples:
      >>> split_classes(11, classes_per_task=2)
      ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))
    """
    validation.check_int(num_classes, "num_classes", minimum=2)
    validation.check_int(classes_per_task, "classes_per_task", minimum=1)
    foreground = num_classes - 1
    if foreground % classes_per_task:
        raise ValueError(
            f"classes_per_task: expected a divisor of the {foreground} foreground "
            f"classes, got {classes_per_task}"
        )
    return tuple(
        tuple(range(1 + t * classes_per_task, 1 + (t + 1) * classes_per_task))
        for t in range(foreground // classes_per_task)
    )


def check_tasks(
    tasks: Sequence[Sequence[int]], num_classes: int
) -> tuple[tuple[int, ...], ...]:
    """Validates a task split; returns it as tuples of ints.

    Raises:
      ValueError: a task without classes, background (0) or a class out of
        ``[1, K)`` in a task, or a class in two tasks.
    """
    validation.check_int(num_classes, "num_classes", minimum=2)
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise TypeError(f"tasks: expected a sequence of class lists, got {tasks!r}")
    tasks = tuple(
        validation.check_int_sequence(task, f"tasks[{t}]", min_length=0)
        for t, task in enumerate(tasks)
    )
    if not tasks:
        raise ValueError("tasks: expected at least one task, got none")
    seen: set[int] = set()
    for t, task in enumerate(tasks):
        if not task:
            raise ValueError(f"tasks: task {t} has no classes")
        for c in task:
            if not 1 <= c < num_classes:
                raise ValueError(
                    f"tasks: task {t} has class {c}; expected foreground classes "
                    f"in [1, {num_classes}) (background 0 is in every task)"
                )
            if c in seen:
                raise ValueError(f"tasks: class {c} appears in more than one task")
            seen.add(c)
    return tasks


def task_data(
    data: dict,
    tasks: Sequence[Sequence[int]],
    task: int,
    *,
    num_classes: int,
    labelling: str = "current",
) -> dict:
    """Training images of task ``task`` with its labelling.

    Args:
      data: ``{"image": [N, H, W, 3], "mask": [N, H, W] int}`` with the full
        labels.
      tasks: the task split (see :func:`split_classes`).
      task: index of the task.
      num_classes: K.
      labelling: ``"current"`` or ``"seen"`` (see the module docstring).

    Returns:
      ``{"image": [n, H, W, 3], "mask": [n, H, W] int32, "index": [n]}``: the
      images with at least one pixel of the task's classes, relabelled;
      ``index`` points into ``data``.

    Raises:
      ValueError: bad split or labelling, or no image holds the task's classes.
    """
    tasks = check_tasks(tasks, num_classes)
    validation.check_choice(labelling, "labelling", LABELLINGS)
    validation.check_int(task, "task")
    if not 0 <= task < len(tasks):
        raise ValueError(f"task: expected an index in [0, {len(tasks)}), got {task}")
    masks = validation.as_integer_labels(data["mask"], "data['mask']")
    current = np.asarray(tasks[task])
    keep = np.isin(masks, current).reshape(len(masks), -1).any(axis=1)
    index = np.flatnonzero(keep)
    if index.size == 0:
        raise ValueError(
            f"tasks: task {task} (classes {tasks[task]}) has no training image"
        )
    labelled = current
    if labelling == "seen":
        labelled = np.asarray(sum(tasks[: task + 1], ()))
    selected = masks[index]
    relabelled = np.where(np.isin(selected, labelled), selected, 0).astype(np.int32)
    return {
        "image": np.asarray(data["image"])[index],
        "mask": relabelled,
        "index": index,
    }


def seen_classes(tasks: Sequence[Sequence[int]], task: int) -> tuple[int, ...]:
    """Background plus the classes of tasks ``0..task``."""
    return (0, *sorted(c for t in tasks[: task + 1] for c in t))


def evaluation_masks(
    masks: np.ndarray, tasks: Sequence[Sequence[int]], task: int
) -> np.ndarray:
    """True labels with not-yet-seen classes set to :data:`IGNORE_LABEL`.

    Args:
      masks: ``[N, H, W]`` int, full labels.
      tasks: the task split.
      task: the last task trained.

    Returns:
      ``[N, H, W]`` int32.
    """
    masks = validation.as_integer_labels(masks, "masks")
    seen = np.asarray(seen_classes(tasks, task))
    return np.where(np.isin(masks, seen), masks, IGNORE_LABEL).astype(np.int32)
