"""Orbax checkpoints of a pytree plus a JSON record, one per step (or epoch).

Writes are atomic (Orbax saves into a temporary directory and renames it), so a
process killed while saving leaves the previous checkpoints intact. A store
refuses to write a step older than the newest one it holds, so a resumed run can
never replace newer work with older.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

from segxai_jax import validation


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not match what was asked for."""


class CheckpointStore:
    """Saves and restores ``(state pytree, json record)`` pairs keyed by step.

    Args:
      directory: folder holding one sub-folder per step; created if missing.
      max_to_keep: newest checkpoints to keep (older ones are deleted).
    """

    def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 2):
        validation.check_int(max_to_keep, "max_to_keep", minimum=1)
        self.directory = Path(directory).absolute()
        ensure_writable_dir(self.directory, name="checkpoint directory")
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            create=True,
            cleanup_tmp_directories=True,
            enable_async_checkpointing=False,
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, items: dict[str, Any], record: dict) -> None:
        """Saves named pytrees (e.g. ``{"params": ..., "opt": ...}``) and a record.

        Args:
          step: checkpoint number; must exceed every step already stored.
          items: name -> pytree of arrays; items are restored independently.
          record: JSON-serialisable metadata (configs, history).
        """
        latest = self.latest_step()
        if latest is not None and step <= latest:
            raise CheckpointError(
                f"step: refusing to write checkpoint {step} into {self.directory}, "
                f"which already holds step {latest}"
            )
        args = {name: ocp.args.StandardSave(tree) for name, tree in items.items()}
        args["record"] = ocp.args.JsonSave(record)
        self._manager.save(step, args=ocp.args.Composite(**args))
        self._manager.wait_until_finished()

    def restore(self, abstract_items: dict[str, Any], step: int | None = None):
        """Restores ``(step, items, record)``; ``step=None`` takes the newest.

        Args:
          abstract_items: name -> pytree with the structure, shapes and dtypes of
            the saved item (arrays or ``jax.ShapeDtypeStruct``); only the named
            items are read.
          step: which checkpoint.

        Raises:
          CheckpointError: no checkpoint, or one that does not match
            ``abstract_items`` or cannot be read.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"no checkpoint found in {self.directory}")
        args = {
            name: ocp.args.StandardRestore(
                jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
            )
            for name, tree in abstract_items.items()
        }
        args["record"] = ocp.args.JsonRestore()
        try:
            restored = self._manager.restore(step, args=ocp.args.Composite(**args))
        except Exception as error:  # orbax raises many types; give one clear error
            raise CheckpointError(
                f"checkpoint {step} in {self.directory} cannot be restored into the "
                f"expected structure ({type(error).__name__}: {error})"
            ) from error
        items = {name: restored[name] for name in abstract_items}
        return step, items, restored["record"]

    def close(self) -> None:
        self._manager.close()


def ensure_writable_dir(path: str | os.PathLike, *, name: str = "directory") -> Path:
    """Creates ``path`` if needed and checks that files can be written in it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write_probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise ValueError(
            f"{name}: expected a writable directory, cannot write in {path} ({error})"
        ) from error
    return path


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Writes a text file so that readers see either the old or the new content."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
