"""A work directory belongs to one experiment run: checked before anything is written.

``python -m experiments.main`` claims its ``--workdir`` with :func:`claim`
before an experiment starts. The folder's ``run.json`` records the experiment
and its full config:

* a folder of ANOTHER experiment is refused (its results are never
  overwritten);
* a folder of the same experiment with ANOTHER config is refused, naming the
  fields that differ (a re-run with the same command resumes instead);
* a non-empty folder without ``run.json`` that holds results is refused too
  (written by another program or an older version);
* otherwise ``run.json`` is written and the run goes on.

Everything is checked before the first byte is written into the folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from experiments.shared.options import config_to_dict, differing_fields
from segxai_jax.training import ensure_writable_dir, json_fingerprint, write_atomic

RUN_FILE = "run.json"
RESULT_FILES = ("results.json", "report.md")


def claim(workdir: str | Path, experiment: str, config: Any) -> Path:
    """Makes ``workdir`` this run's folder, or refuses before writing anything.

    Args:
      workdir: the run's work directory.
      experiment: the experiment's name.
      config: its ``ml_collections`` config (or a dict).

    Returns:
      The folder (created if missing).

    Raises:
      ValueError: naming ``workdir`` when it belongs to another run.
    """
    folder = Path(workdir)
    described = json_fingerprint(config_to_dict(config))
    record_path = folder / RUN_FILE
    if record_path.exists():
        record = json.loads(record_path.read_text())
        if record.get("experiment") != experiment:
            raise ValueError(
                f"workdir: {folder} holds a {record.get('experiment')!r} run; "
                f"{experiment!r} would overwrite its results; use another --workdir"
            )
        differences = differing_fields(record.get("config"), described)
        if differences:
            raise ValueError(
                f"workdir: {folder} holds a {experiment!r} run with another config "
                f"(old vs new: {'; '.join(differences[:8])}); use another --workdir "
                "or delete the old one"
            )
        return folder
    stray = [name for name in RESULT_FILES if (folder / name).exists()]
    if stray:
        raise ValueError(
            f"workdir: {folder} holds {', '.join(stray)} of an unknown run (no "
            f"{RUN_FILE}); use another --workdir"
        )
    ensure_writable_dir(folder, name="workdir")
    write_atomic(
        record_path,
        json.dumps({"experiment": experiment, "config": described}, indent=1) + "\n",
    )
    return folder
