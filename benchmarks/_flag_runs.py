"""Runs a benchmark script once per XLA flag setting, each in its own process.

XLA reads ``XLA_FLAGS`` when the backend starts, so comparing flag settings
needs one process per setting. A script calls :func:`run_settings` from its
``main``; the child processes re-enter the script with ``--worker SETTING`` and
write their rows to a temporary JSON file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

FLAG_SETTINGS = {
    "default": "",
    "ynn_off": "--xla_cpu_experimental_ynn_fusion_type=",
}


def _without_out(argv: list[str]) -> list[str]:
    argv = list(argv)
    if "--out" in argv:
        index = argv.index("--out")
        del argv[index : index + 2]
    return [a for a in argv if not a.startswith("--out=")]


def run_settings(script: str, argv, settings: str, out: str) -> list[dict]:
    """Runs ``script`` once per comma-separated flag setting; returns all rows.

    Partial results are written to ``out`` after every setting, so an
    interrupted run keeps what it measured.
    """
    rows: list[dict] = []
    forwarded = _without_out(argv if argv is not None else sys.argv[1:])
    for setting in [s for s in settings.split(",") if s]:
        if setting not in FLAG_SETTINGS:
            raise ValueError(
                f"--flag-settings: expected names from {sorted(FLAG_SETTINGS)}, "
                f"got {setting!r}"
            )
        env = dict(os.environ)
        env["XLA_FLAGS"] = " ".join(
            v for v in (env.get("XLA_FLAGS", ""), FLAG_SETTINGS[setting]) if v
        )
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            part = tmp.name
        command = [sys.executable, os.path.abspath(script), *forwarded]
        subprocess.run(
            [*command, "--out", part, "--worker", setting], env=env, check=True
        )
        with open(part) as f:
            rows.extend(json.load(f))
        os.unlink(part)
        with open(out, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


def main_with_flag_runs(script: str, argv, parse_args, worker, markdown) -> None:
    """The shared ``main`` of a per-flag benchmark script.

    As a worker (``--worker FLAGS``) it measures in this process and writes its
    rows, tagged with the flags, to ``--out``; otherwise it starts one worker per
    flag setting (:func:`run_settings`) and prints the merged table.

    Args:
      script: the benchmark's ``__file__``.
      argv: command-line arguments (``None`` = ``sys.argv[1:]``).
      parse_args: ``parse_args(argv) -> namespace`` with ``worker``, ``out``
        and ``flag_settings``.
      worker: ``worker(args) -> list[dict]`` rows of measurements.
      markdown: ``markdown(rows) -> str`` table.
    """
    args = parse_args(argv)
    if args.worker is not None:
        rows = worker(args)
        for row in rows:
            row["flags"] = args.worker
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)
        return
    rows = run_settings(script, argv, args.flag_settings, args.out)
    print(markdown(rows))
