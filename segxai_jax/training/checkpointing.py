"""Orbax checkpoints of a pytree plus a JSON record, one per step, verified.

Writes are atomic (Orbax saves into a temporary directory and renames it), so a
process killed while saving leaves the previous checkpoints intact. A store
refuses to write a step older than the newest one it holds, so a resumed run can
never replace newer work with older.

Integrity. After Orbax has written step ``s``, the store writes
``s/integrity.json``: the SHA-256 and size of every file of the step, and a
SHA-256 of every saved pytree's content (tree paths, dtypes, shapes and bytes).
A checkpoint counts as written only once that manifest exists. Restoring checks
the files against it and the restored arrays against the pytree hashes, so a
flipped byte, a truncated or a missing file raises :class:`CheckpointError`
naming the step and the file instead of loading wrong weights.
:meth:`CheckpointStore.restore_latest_intact` (used to resume) falls back to the
newest intact checkpoint, logs which ones were damaged, and moves them to a
sibling ``<directory>_damaged/`` folder (nothing is deleted) so that the run can
save its next steps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from segxai_jax import validation

MANIFEST = "integrity.json"
_CHUNK = 1 << 20

logger = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged or does not match what was asked for."""


def tree_digest(tree: Any) -> str:
    """SHA-256 of a pytree's structure and array contents (paths, dtypes, bytes)."""
    digest = hashlib.sha256()
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    for path, leaf in leaves:
        array = np.asarray(leaf)
        digest.update(jax.tree_util.keystr(path).encode())
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def leaf_specs(tree: Any) -> list[list]:
    """``[[path, shape, dtype], ...]`` of a pytree's leaves (arrays or shapes)."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [
        [jax.tree_util.keystr(path), list(np.shape(leaf)), np.dtype(leaf.dtype).str]
        for path, leaf in leaves
    ]


def _describe_mismatch(stored: list, expected: list) -> str | None:
    stored_map = {path: (shape, dtype) for path, shape, dtype in stored}
    expected_map = {path: (shape, dtype) for path, shape, dtype in expected}
    missing = sorted(set(expected_map) - set(stored_map))
    extra = sorted(set(stored_map) - set(expected_map))
    if missing or extra:
        return f"leaves missing {missing[:4]}, unexpected {extra[:4]}"
    for path, spec in expected_map.items():
        if stored_map[path] != spec:
            (s_shape, s_dtype), (e_shape, e_dtype) = stored_map[path], spec
            return (
                f"leaf {path}: stored {tuple(s_shape)} {np.dtype(s_dtype)}, "
                f"expected {tuple(e_shape)} {np.dtype(e_dtype)}"
            )
    return None


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _step_files(step_dir: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(step_dir)): p
        for p in sorted(step_dir.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


class CheckpointStore:
    """Saves and restores ``(state pytree, json record)`` pairs keyed by step.

    Use it as a context manager (``with CheckpointStore(d) as store:``) or call
    :meth:`close`.

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

    def __enter__(self) -> CheckpointStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def steps(self) -> list[int]:
        """Every stored step, oldest first (damaged ones included)."""
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, items: dict[str, Any], record: dict) -> None:
        """Saves named pytrees (e.g. ``{"params": ..., "opt": ...}``) and a record.

        Args:
          step: checkpoint number; must exceed every step already stored.
          items: name -> pytree of arrays; items are restored independently.
          record: JSON-serialisable metadata (configs, history).
        """
        step = validation.check_int(step, "step", minimum=0)
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
        step_dir = self._step_dir(step)
        manifest = {
            "step": step,
            "files": {
                name: {"sha256": _file_digest(path), "bytes": path.stat().st_size}
                for name, path in _step_files(step_dir).items()
            },
            "items": {name: tree_digest(tree) for name, tree in items.items()},
            "leaves": {name: leaf_specs(tree) for name, tree in items.items()},
        }
        write_atomic(step_dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")

    def _step_dir(self, step: int) -> Path:
        return self.directory / str(step)

    def verify(self, step: int) -> dict:
        """Checks step ``step``'s files against its manifest; returns the manifest.

        Raises:
          CheckpointError: no manifest (the save never finished), or a file
            that is missing, truncated or changed, naming it.
        """
        step_dir = self._step_dir(step)
        where = f"checkpoint {step} in {self.directory}"
        try:
            manifest = json.loads((step_dir / MANIFEST).read_text())
        except FileNotFoundError as error:
            raise CheckpointError(
                f"{where} has no {MANIFEST}: its save did not finish (or it was "
                "written by another program)"
            ) from error
        except (OSError, ValueError) as error:
            raise CheckpointError(
                f"{where}: {MANIFEST} is unreadable ({error})"
            ) from error
        for name, expected in manifest.get("files", {}).items():
            path = step_dir / name
            if not path.is_file():
                raise CheckpointError(f"{where} is damaged: file {name} is missing")
            size = path.stat().st_size
            if size != expected["bytes"]:
                raise CheckpointError(
                    f"{where} is damaged: file {name} has {size} bytes, "
                    f"{expected['bytes']} were written (truncated?)"
                )
            if _file_digest(path) != expected["sha256"]:
                raise CheckpointError(
                    f"{where} is damaged: file {name} does not match the SHA-256 "
                    "written with it (a changed byte)"
                )
        return manifest

    def restore(self, abstract_items: dict[str, Any], step: int | None = None):
        """Restores ``(step, items, record)``; ``step=None`` takes the newest.

        The step's files are verified first and the restored arrays compared
        with the content hashes written at save time.

        Args:
          abstract_items: name -> pytree with the structure, shapes and dtypes of
            the saved item (arrays or ``jax.ShapeDtypeStruct``); only the named
            items are read.
          step: which checkpoint.

        Raises:
          CheckpointError: no checkpoint, a damaged one (naming the file), or
            one that does not match ``abstract_items``.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"no checkpoint found in {self.directory}")
        manifest = self.verify(step)
        stored_leaves = manifest.get("leaves", {})
        for name, tree in abstract_items.items():
            if name not in stored_leaves:
                raise CheckpointError(
                    f"checkpoint {step} in {self.directory} has no item {name!r} "
                    f"(it holds {sorted(stored_leaves)})"
                )
            problem = _describe_mismatch(stored_leaves[name], leaf_specs(tree))
            if problem:
                raise CheckpointError(
                    f"checkpoint {step} in {self.directory} cannot be restored into "
                    f"the expected structure: item {name!r}: {problem}"
                )
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
        for name, tree in items.items():
            expected = manifest.get("items", {}).get(name)
            if expected is not None and tree_digest(tree) != expected:
                raise CheckpointError(
                    f"checkpoint {step} in {self.directory} is damaged: item {name!r} "
                    "restored with other contents than were saved"
                )
        return step, items, restored["record"]

    def restore_latest_intact(self, abstract_items: dict[str, Any], *, accept=None):
        """The newest checkpoint that verifies, moving damaged newer ones aside.

        Args:
          abstract_items: as for :meth:`restore`.
          accept: ``accept(record) -> None`` called on the newest intact
            checkpoint's record BEFORE anything is moved; it raises to refuse
            (e.g. a fingerprint of another run), leaving the folder untouched.

        Returns:
          ``(step, items, record)``, or ``None`` when the store holds no
          checkpoint at all.

        Raises:
          CheckpointError: checkpoints exist but none is intact (nothing is
            moved: they may belong to another run), or ``accept`` refused.
        """
        steps = self.steps()
        if not steps:
            return None
        damaged: list[tuple[int, CheckpointError]] = []
        for step in reversed(steps):
            try:
                self.verify(step)
            except CheckpointError as error:
                damaged.append((step, error))
                continue
            _, _, record = self.restore({}, step=step)
            if accept is not None:
                accept(record)
            result = self.restore(abstract_items, step=step)
            if damaged:
                target = self._move_aside([s for s, _ in damaged])
                for _, error in damaged:
                    logger.warning("%s; moved to %s", error, target)
                logger.warning(
                    "resuming %s from checkpoint %d, the newest intact one",
                    self.directory,
                    step,
                )
            return result
        reasons = "; ".join(str(error) for _, error in damaged)
        raise CheckpointError(
            f"{self.directory} holds checkpoints but none is intact ({reasons}); "
            "move or delete the folder to start afresh"
        )

    def _move_aside(self, steps: list[int]) -> Path:
        target = self.directory.with_name(f"{self.directory.name}_damaged")
        target.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for step in steps:
            shutil.move(str(self._step_dir(step)), str(target / f"{step}-{stamp}"))
        self._manager.reload()
        return target

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
    with open(tmp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
