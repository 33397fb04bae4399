"""Which files of ``experiments/`` a study's config passes through, traced.

A study's config is declared in its ``config.py`` and checked once into its
``Config`` dataclass; from there it should reach few files: ``main.py`` (the
entry point), ``shared/options.py`` (the check), ``shared/study.py`` (the unit
driver) and the study's ``run.py`` (its stages), which hands plain values and
sections to the rest. :func:`traced_run` runs ``experiments.main`` with a
trace hook that records every function of ``experiments/`` called with the
whole config (the ``ConfigDict`` or the checked ``Config``) as an argument.
The hook is ``sys.settrace``'s: it sees only the "call" of each Python frame
(``sys.setprofile`` also reports every return and every C call, which made
the traced smoke tests 20-25 % slower), and it returns ``None`` so that no
frame is traced line by line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ml_collections import config_dict

from experiments import main as experiments_main

ROOT = Path(experiments_main.__file__).resolve().parent
LIMIT = 4  # files of experiments/ the whole config may pass through


def _is_whole_config(value) -> bool:
    if isinstance(value, config_dict.ConfigDict):
        return "experiment" in value
    kind = type(value)
    return kind.__name__ == "Config" and kind.__module__.startswith("experiments.")


def traced_run(config, workdir, **kwargs):
    """``experiments.main.run_experiment`` and the files the config reached.

    Returns:
      ``(results, files)``: what the run returned and the sorted paths
      (relative to ``experiments/``) of the files whose functions received
      the whole config.
    """
    root = str(ROOT)
    files = set()

    def hook(frame, event, arg):
        del arg
        if event != "call":
            return
        code = frame.f_code
        if not code.co_filename.startswith(root):
            return
        count = code.co_argcount + code.co_kwonlyargcount
        local = frame.f_locals
        for name in code.co_varnames[:count]:
            if _is_whole_config(local.get(name)):
                files.add(str(Path(code.co_filename).relative_to(root)))
                return

    previous = sys.gettrace()
    sys.settrace(hook)
    try:
        results = experiments_main.run_experiment(config, str(workdir), **kwargs)
    finally:
        sys.settrace(previous)
    return results, sorted(files)


def check_files(files: list[str], study: str) -> None:
    """At most :data:`LIMIT` files, all in the study's folder, shared/ or main.py."""
    # The trace works: the config is seen entering the study's stages.
    assert {"main.py", f"{study}/run.py"} <= set(files), files
    allowed = ("main.py", "shared/", f"{study}/")
    outside = [f for f in files if not f.startswith(allowed)]
    assert not outside, f"the config of {study} reaches other studies: {outside}"
    assert len(files) <= LIMIT, (
        f"the config of {study} passes through {len(files)} files of "
        f"experiments/ (at most {LIMIT}): {files}"
    )
