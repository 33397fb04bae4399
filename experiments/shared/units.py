"""A study as units: small pieces of work whose results are kept as they finish.

A study declares its units (one attacked (seed, explainer), one trained
student, one continual run...). Each finished unit writes one small JSON file,
``<units_dir>/<unit name>.json``, holding the unit's result and the
*fingerprint* of everything that determined it (the study, the config fields
shared by all units, the unit's own settings). Files are written atomically
(write to a temporary name, then rename), so a process killed at any moment
loses at most the unit it was running, never a finished one.

Reading a unit folder back (:class:`UnitStore`):

* a missing file: the unit has not run;
* a corrupt file, or one of another study: reported by name (``problems``) and
  the unit is run again, never used;
* a file of the same study whose fingerprint differs: refused with
  :class:`UnitMismatch`, naming the file and the differing fields, so that
  results of two configs are never mixed.

Results may hold NumPy arrays (:func:`encode` keeps their dtype and shape, so
a result reads back bit for bit) and NaN (written as JSON's ``NaN`` token,
read by Python's ``json``). Large arrays a unit wants to keep (images for a
figure, a resume state) go into an optional *sidecar* ``<unit name>.npz``,
which git ignores; the committed result stays small.

:func:`run_units` runs the missing units within a time budget: it never starts
a unit whose measured cost exceeds the time left: the mean wall time of
finished units of its kind, or, for a kind not measured yet, the dearest unit
measured so far (the very first unit always starts).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from experiments.shared.options import differing_fields
from segxai_jax.training import write_atomic

FORMAT = 1  # version of the unit file layout
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
_ARRAY = "__ndarray__"


class UnitMismatch(ValueError):
    """A committed unit file was written under another fingerprint."""


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of a study.

    Attributes:
      name: the file stem, unique within the study (e.g. ``"seed1-gradient"``);
        letters, digits, ``-``, ``_`` and ``.`` only.
      settings: JSON-able fields that set this unit apart from its siblings
        (e.g. ``{"seed": 1, "explainer": "gradient"}``); part of the
        fingerprint.
      kind: units of one kind cost about the same; the budget estimates a
        unit's cost from finished units of its kind.
    """

    name: str
    settings: Mapping[str, Any]
    kind: str = "unit"

    def __post_init__(self):
        if not self.name or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"Unit.name: expected letters, digits, '-', '_' or '.', got "
                f"{self.name!r}"
            )


def encode(value):
    """``value`` as JSON-able data; arrays keep dtype and shape (see :func:`decode`)."""
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) > 0:
        array = np.asarray(value)
        return {
            _ARRAY: str(array.dtype),
            "shape": list(array.shape),
            "values": array.ravel().tolist(),
        }
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__array__") and not isinstance(value, np.ndarray):
        return encode(np.asarray(value))  # jax arrays
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value):
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if _ARRAY in value:
            array = np.asarray(value["values"], dtype=np.dtype(value[_ARRAY]))
            return array.reshape(value["shape"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def fingerprint(study: str, shared: Mapping, unit: Unit) -> dict:
    """Everything that determines a unit's result, as it reads back from JSON."""
    described = {"study": study, "shared": shared, "unit": dict(unit.settings)}
    return json.loads(json.dumps(described, default=str))


@dataclasses.dataclass
class UnitRecord:
    """A finished unit as read from its file."""

    unit: Unit
    result: Any
    seconds: float
    path: Path

    def sidecar(self) -> dict[str, np.ndarray] | None:
        """The unit's ``.npz`` sidecar, or None when absent (e.g. a fresh clone)."""
        path = self.path.with_suffix(".npz")
        if not path.exists():
            return None
        with np.load(path) as data:
            return {k: data[k] for k in data.files}


def _within(found, expected):
    """``found``'s ``shared`` fingerprint restricted to ``expected``'s fields."""
    if not isinstance(found, dict) or not isinstance(expected, Mapping):
        return found
    shared, wanted = found.get("shared"), expected.get("shared")
    if isinstance(shared, dict) and isinstance(wanted, Mapping):
        found = {**found, "shared": {k: v for k, v in shared.items() if k in wanted}}
    return found


class UnitStore:
    """The unit files of one study in one folder (see the module docstring)."""

    def __init__(self, folder: str | Path, study: str):
        self.folder = Path(folder)
        self.study = study
        self.problems: list[str] = []

    def path(self, unit: Unit) -> Path:
        return self.folder / f"{unit.name}.json"

    def load(self, unit: Unit, expected: Mapping) -> UnitRecord | None:
        """The finished unit, None if it must (re)run.

        Raises:
          UnitMismatch: the file holds this study's unit under another
            fingerprint (the differing fields are named).
        """
        path = self.path(unit)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            study = record["study"]
            found = record["fingerprint"]
            result = decode(record["result"])
            seconds = float(record["seconds"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            self._problem(f"{path}: unreadable unit file ({error}); running it again")
            return None
        if study != self.study:
            self._problem(
                f"{path}: a unit of study {study!r}, not {self.study!r}; running it "
                "again"
            )
            return None
        # Compared on the fields that determine the unit now: a file written
        # when the unit's fingerprint covered more of the config (before its
        # kind declared what it depends on) stays valid.
        differences = differing_fields(_within(found, expected), dict(expected))
        if differences:
            raise UnitMismatch(
                f"{path}: this unit was run with another config (file vs now: "
                f"{'; '.join(differences[:8])}). Its result is not mixed with "
                "this config's: restore the config it was run with, or keep this "
                "config's units elsewhere (--config.units_dir=<folder>, '' for "
                "<workdir>/units)"
            )
        return UnitRecord(unit, result, seconds, path)

    def save(
        self,
        unit: Unit,
        expected: Mapping,
        result: Any,
        seconds: float,
        sidecar: Mapping[str, np.ndarray] | None = None,
    ) -> UnitRecord:
        """Writes a finished unit: the sidecar first, then the JSON file (= done).

        Returns:
          The record as it reads back from the file, so that a result used
          right after it ran is the same as one loaded later.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(unit)
        if sidecar:
            tmp = path.with_name(f".{unit.name}.tmp.npz")
            np.savez_compressed(tmp, **{k: np.asarray(v) for k, v in sidecar.items()})
            tmp.replace(path.with_suffix(".npz"))
        record = {
            "format": FORMAT,
            "study": self.study,
            "unit": unit.name,
            "fingerprint": dict(expected),
            "seconds": round(float(seconds), 3),
            "result": encode(result),
        }
        write_atomic(path, json.dumps(record, indent=1) + "\n")
        loaded = self.load(unit, expected)
        assert loaded is not None
        return loaded

    def _problem(self, message: str) -> None:
        logging.warning(message)
        self.problems.append(message)


@dataclasses.dataclass
class Progress:
    """What one invocation did: ``done`` of ``total`` units finished in all."""

    total: int
    done: int
    ran: list[str]
    left_for_time: list[str]
    problems: list[str]

    @property
    def complete(self) -> bool:
        return self.done == self.total

    def as_dict(self) -> dict:
        return {
            "done": self.done,
            "total": self.total,
            "complete": self.complete,
            "ran_this_invocation": self.ran,
            "left_for_time": self.left_for_time,
            "problems": self.problems,
        }


def check_minutes(minutes) -> float | None:
    """``minutes`` as a positive float (None = no budget), else a ValueError."""
    if minutes is None:
        return None
    number = isinstance(minutes, int | float) and not isinstance(minutes, bool)
    if not number or not math.isfinite(minutes) or minutes <= 0:
        raise ValueError(
            f"--minutes: expected a positive number of minutes, got {minutes!r}; "
            "leave it out to run every unit"
        )
    return float(minutes)


def run_units(
    units: Sequence[Unit],
    *,
    store: UnitStore,
    fingerprint_of: Callable[[Unit], Mapping],
    run_one: Callable[[Unit], tuple[Any, Mapping | None]],
    minutes: float | None = None,
    started: float | None = None,
    prepare: Callable[[], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[dict[str, UnitRecord], Progress]:
    """Runs the missing units in order, within ``minutes`` if given.

    Args:
      units: all units of the study (names unique).
      store: where finished units are kept.
      fingerprint_of: a unit's fingerprint (see :func:`fingerprint`).
      run_one: runs one unit; returns ``(result, sidecar or None)``.
      minutes: the invocation's time budget; None runs every missing unit.
      started: when the invocation started (``clock()`` time); default now.
      prepare: called once before the first unit that runs (loading data and
        teachers); its time counts against the budget.
      clock: seconds, monotonic (a parameter for tests).

    Returns:
      ``(records, progress)``: the finished units by name (loaded and new) and
      what this invocation did.

    Raises:
      UnitMismatch: a unit file of another fingerprint (see
        :meth:`UnitStore.load`); raised before any unit runs.
    """
    minutes = check_minutes(minutes)
    names = [u.name for u in units]
    if len(set(names)) != len(names):
        raise ValueError(f"units: names must be unique, got {names}")
    start = clock() if started is None else started
    deadline = None if minutes is None else start + 60.0 * minutes
    records = {}
    for unit in units:
        record = store.load(unit, fingerprint_of(unit))
        if record is not None:
            records[unit.name] = record
    costs: dict[str, list[float]] = {}
    for record in records.values():
        costs.setdefault(record.unit.kind, []).append(record.seconds)
    missing = [u for u in units if u.name not in records]
    ran, left = [], []
    bar = tqdm(total=len(units), initial=len(records), desc=store.study, unit="unit")
    for unit in missing:
        estimate = _estimate(costs, unit.kind)
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0 or (estimate is not None and estimate > remaining):
                left.append(unit.name)
                continue
        if prepare is not None:
            bar.set_postfix_str("preparing (data, teacher)")
            prepare()
            prepare = None
            remaining = None if deadline is None else deadline - clock()
            if remaining is not None and estimate is not None and estimate > remaining:
                left.append(unit.name)
                continue
        bar.set_postfix_str(f"running {unit.name}")
        begin = clock()
        result, sidecar = run_one(unit)
        seconds = clock() - begin
        records[unit.name] = store.save(
            unit, fingerprint_of(unit), result, seconds, sidecar
        )
        costs.setdefault(unit.kind, []).append(seconds)
        ran.append(unit.name)
        bar.update()
        to_go = [u for u in missing if u.name not in records and u.name not in left]
        eta = sum(_estimate(costs, u.kind) or 0.0 for u in to_go)
        bar.set_postfix_str(f"~{eta / 60:.1f} min of work left")
    bar.close()
    if left:
        logging.warning(
            "%d of %d units not started: their measured cost exceeds the time "
            "left (%s); run the same command again to continue",
            len(left),
            len(units),
            ", ".join(left[:5]) + (" ..." if len(left) > 5 else ""),
        )
    progress = Progress(
        total=len(units),
        done=len(records),
        ran=ran,
        left_for_time=left,
        problems=list(store.problems),
    )
    return records, progress


def _estimate(costs: Mapping[str, list[float]], kind: str) -> float | None:
    """Mean cost of the kind's finished units; for a kind not yet measured, the
    dearest unit measured so far (None before any unit has run)."""
    seen = costs.get(kind)
    if seen:
        return float(np.mean(seen))
    every = [c for values in costs.values() for c in values]
    return max(every) if every else None
