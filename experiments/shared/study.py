"""Runs a study unit by unit: ``units -> run_unit -> aggregate -> findings -> report``.

A study module (``experiments/<name>/run.py``) that runs in units defines:

* ``NAME``: the study's name;
* ``AXES``: the config fields that enumerate units (e.g. ``("seeds",
  "explainers")``): they are left out of the shared fingerprint, so adding a
  seed adds units without touching the finished ones;
* ``PRESENTATION``: config fields that change only the report (figure counts),
  also left out of the fingerprint;
* ``DEPENDS`` (optional): per unit kind, the top-level config fields that
  determine a unit of that kind (e.g. the proxy scores do not depend on the
  students' training recipe); a kind left out depends on the whole config.
  A finished unit stays valid when only other fields change;
* ``resolve(settings, workdir) -> settings`` (optional): checks that need the
  teacher (layer names) and derived defaults (``layers=()`` = every layer);

and is called with ``settings``, the checked ``Config`` dataclass declared in
``experiments/<name>/config.py`` (see :mod:`experiments.shared.options`):

* ``units(settings) -> list[Unit]``;
* ``prepare(settings, workdir, timer) -> context``: data and teacher, loaded
  once per invocation;
* ``run_unit(settings, unit, context) -> (result, sidecar or None)``;
* ``aggregate(settings, records) -> summary`` over the finished units' records;
* ``findings(summary, settings) -> list[Finding]``;
* ``figures(workdir, settings, records, context) -> {name: file}``;
* ``results(settings, summary, records, context) -> dict`` (the study's own
  ``results.json`` entries);
* ``report(results) -> markdown``, from what ``results.json`` holds (its
  ``config`` is the resolved settings).

:func:`run_study` runs the missing units within ``--minutes``, then aggregates
every finished unit (committed ones and the ones just run) into
``results.json`` and ``report.md``, which state ``N of T units``; every
verdict computed from a partial set is labelled partial.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from experiments.shared.options import config_to_dict
from experiments.shared.results import Timer, write_results
from experiments.shared.units import (
    UnitStore,
    check_minutes,
    fingerprint,
    run_units,
)
from segxai_jax.training import ensure_writable_dir

# Fields that say where things are, not what they are.
NOT_DETERMINING = (
    "units_dir",
    "data.data_dir",
    "teacher.workdir",
    "teacher.train_if_missing",
)


def units_folder(config, workdir) -> Path:
    """``config.units_dir``, or ``<workdir>/units`` when it is empty or absent."""
    units_dir = getattr(config, "units_dir", "")
    return Path(units_dir) if units_dir else Path(workdir) / "units"


def shared_fingerprint(config, leave_out: Sequence[str]) -> dict:
    """The config as plain data without the dotted fields in ``leave_out``."""
    plain = config_to_dict(config)
    for dotted in (*leave_out, *NOT_DETERMINING):
        *parents, last = dotted.split(".")
        node = plain
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return plain


def scoped(shared: Mapping, fields: Sequence[str] | None) -> dict:
    """``shared`` restricted to ``fields`` (and ``experiment``); all of it for None."""
    if fields is None:
        return dict(shared)
    keep = {"experiment", *fields}
    return {k: v for k, v in shared.items() if k in keep}


def run_study(
    study: ModuleType,
    settings,
    workdir: str | Path,
    *,
    minutes: float | None = None,
    started: float | None = None,
) -> dict:
    """Runs ``study``'s missing units, then writes its results from all finished ones.

    Args:
      study: the study module (see the module docstring).
      settings: its checked ``Config`` (before :func:`resolve`).
      workdir: where ``results.json``, ``report.md`` and figures go (and the
        units, unless ``config.units_dir`` is set).
      minutes: time budget of this invocation; None runs every unit.
      started: ``time.monotonic()`` when the invocation started (the budget
        counts from there; default: now).

    Returns:
      What was written to ``results.json``.
    """
    minutes = check_minutes(minutes)
    started = time.monotonic() if started is None else started
    workdir = ensure_writable_dir(workdir, name="workdir")
    timer = Timer()
    store = UnitStore(units_folder(settings, workdir), study.NAME)
    shared = shared_fingerprint(settings, (*study.AXES, *study.PRESENTATION))
    depends = getattr(study, "DEPENDS", {})
    opts = study.resolve(settings, workdir) if hasattr(study, "resolve") else settings
    units = study.units(opts)
    context = {}

    def prepared():
        if not context:
            context.update(study.prepare(opts, workdir, timer))
        return context

    first_unit_after = []

    def run_one(unit):
        if not first_unit_after:
            first_unit_after.append(round(time.monotonic() - started, 3))
        with timer(f"unit {unit.kind}"):
            return study.run_unit(opts, unit, prepared())

    records, progress = run_units(
        units,
        store=store,
        fingerprint_of=lambda unit: fingerprint(
            study.NAME, scoped(shared, depends.get(unit.kind)), unit
        ),
        run_one=run_one,
        minutes=minutes,
        started=started,
        prepare=prepared,
    )
    finished = [records[u.name] for u in units if u.name in records]
    count = f"{progress.done} of {progress.total} units"
    if not finished:
        summary, verdicts, figures, own = {}, [], {}, {}
    else:
        summary = study.aggregate(opts, finished)
        verdicts = study.findings(summary, opts)
        if not progress.complete:
            verdicts = [dataclasses.replace(f, partial=count) for f in verdicts]
        with timer("figures"):
            figures = study.figures(workdir, opts, finished, prepared())
        own = study.results(opts, summary, finished, prepared())
    results = {
        **own,
        "config": config_to_dict(opts),
        "units": {
            "done": progress.done,
            "total": progress.total,
            "complete": progress.complete,
            "folder": str(store.folder),
        },
        "invocation": {
            "minutes": minutes,
            "ran": progress.ran,
            "left_for_time": progress.left_for_time,
            "problems": progress.problems,
            # Set up (data, teacher) until the first unit started.
            "first_unit_after_seconds": (
                first_unit_after[0] if first_unit_after else None
            ),
        },
    }

    def report(completed: dict) -> str:
        header = (
            f"**Units: {count}.**"
            + (
                ""
                if progress.complete
                else " Verdicts below rest on the finished units only (partial); "
                "run the same command again to continue."
            )
            + "\n\n"
        )
        if not finished:
            return f"# {study.NAME}\n\n{header}No unit has finished yet.\n"
        body = study.report(completed)
        title, _, rest = body.partition("\n")
        return f"{title}\n\n{header}{rest.lstrip()}"

    return write_results(
        workdir,
        results,
        findings=verdicts,
        figures=figures,
        seconds=timer.seconds,
        report=report,
    )
