"""Resuming a checkpointed loop: one helper for training, NAS and continual runs.

Every resumable loop of the library (:func:`segxai_jax.training.train`,
:func:`segxai_jax.nas.run_search`, :func:`segxai_jax.continual.train_stream`)
stores, with each checkpoint, a record ``{"fingerprint": ..., "history":
[...]}``: the fingerprint describes everything that defines the run (configs,
data, seed), the history holds one log entry per finished step. On start a
loop calls :func:`resume`, which

* returns a fresh start when the folder holds no checkpoint;
* refuses (:class:`~segxai_jax.training.CheckpointError`) a folder whose
  newest intact checkpoint has another fingerprint, touching nothing;
* otherwise restores the newest intact checkpoint (damaged newer ones are
  logged and moved aside, see
  :meth:`~segxai_jax.training.CheckpointStore.restore_latest_intact`).

A loop also rewrites its JSON-lines log from the history after every save
(:func:`write_history_log`), so a kill between a checkpoint and its log line
loses nothing: the resumed run rewrites the log from the checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from segxai_jax.training.checkpointing import (
    CheckpointError,
    CheckpointStore,
    write_atomic,
)


@dataclasses.dataclass(frozen=True)
class Resumed:
    """Where a loop starts.

    Attributes:
      step: the restored checkpoint's step (0 for a fresh start).
      items: the restored pytrees, or ``None`` for a fresh start.
      history: the log entries of the finished steps (empty for a fresh start).
    """

    step: int
    items: dict[str, Any] | None
    history: list[dict]


def json_fingerprint(description: Any) -> Any:
    """``description`` as it reads back from JSON (tuples become lists, etc.).

    Fingerprints are compared after a JSON round trip, so build them with this.
    """
    return json.loads(json.dumps(description, default=str))


def resume(
    store: CheckpointStore,
    abstract_items: dict[str, Any],
    fingerprint: Any,
    *,
    what: str = "run",
) -> Resumed:
    """Restores the newest intact checkpoint of the same run, or starts afresh.

    Args:
      store: the loop's checkpoint store.
      abstract_items: name -> pytree with the structure, shapes and dtypes of
        each saved item (the freshly initialised state).
      fingerprint: the run's :func:`json_fingerprint`.
      what: the kind of loop, for the error message (``"run"``, ``"search"``).

    Raises:
      CheckpointError: the folder holds another run's checkpoints, or only
        damaged ones.
    """

    def same_run(record) -> None:
        if record.get("fingerprint") != fingerprint:
            raise CheckpointError(
                f"workdir: {store.directory.parent} holds checkpoints of a "
                f"different {what} (other config, data or seed); use a new "
                "workdir or delete the old one"
            )

    found = store.restore_latest_intact(abstract_items, accept=same_run)
    if found is None:
        return Resumed(0, None, [])
    step, items, record = found
    return Resumed(step, items, list(record.get("history", [])))


def write_history_log(path: str | os.PathLike, history: list[dict]) -> None:
    """Rewrites a JSON-lines log atomically, one line per history entry."""
    write_atomic(Path(path), "".join(json.dumps(entry) + "\n" for entry in history))
