"""Kills a real study's quick config at random moments and checks what survives.

Usage::

    python -m experiments.shared.kill_check \
        --config experiments/benchmark/config.py:quick --workdir /tmp/kill_check \
        [--kills 6] [--seed 0] [--minutes 5]

1. Runs the study once without interruption (``<workdir>/whole``).
2. Runs it again in ``<workdir>/killed`` as a sequence of ``--minutes``
   invocations of ``experiments.main``. Each is sent SIGKILL at a random
   moment inside its work: once 0 or 1 new units (drawn at random) have
   finished, after a further uniform delay of up to one unit's mean time of
   the uninterrupted run, so that kills land inside units, between them and
   in the aggregation. After ``--kills`` kills one last invocation runs to
   the end.
3. Checks that each killed invocation lost at most one unit (the units it
   started, read from its progress bar, minus the unit files it left) and
   that the final ``results.json`` equals the uninterrupted one leaf by leaf
   (:mod:`experiments.shared.compare_runs`; timings and bookkeeping aside).

Prints one line per invocation and a verdict; exit code 0 when every check
holds. Killing a subprocess needs a POSIX system.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from experiments.shared.compare_runs import compare

STARTED = re.compile(r"running (\S+?)\]")


def _invoke(config: str, workdir: Path, minutes: float) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.main",
            f"--config={config}",
            f"--workdir={workdir}",
            f"--minutes={minutes}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _unit_files(workdir: Path) -> set[str]:
    return {p.stem for p in (workdir / "units").glob("*.json")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    whole, killed = args.workdir / "whole", args.workdir / "killed"

    tic = time.monotonic()
    run = _invoke(args.config, whole, args.minutes)
    _, err = run.communicate()
    wall = time.monotonic() - tic
    if run.returncode != 0:
        print(err[-2000:])
        return 2
    print(f"uninterrupted: {wall:.1f} s, {len(_unit_files(whole))} units")

    unit_time = wall / max(len(_unit_files(whole)), 1)
    ok, kills, invocation = True, 0, 0
    while True:
        invocation += 1
        before = _unit_files(killed)
        proc = _invoke(args.config, killed, args.minutes)
        kill_at, progress = None, rng.choice([0, 1])
        tic = time.monotonic()
        while proc.poll() is None and kills < args.kills:
            now = time.monotonic()
            if kill_at is None and len(_unit_files(killed) - before) >= progress:
                kill_at = now + rng.uniform(0.0, unit_time)
            if kill_at is not None and now >= kill_at:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        _, err = proc.communicate()
        was_killed = proc.returncode == -signal.SIGKILL
        kills += was_killed
        after = _unit_files(killed)
        started = set(STARTED.findall(err)) - before
        lost = sorted(started - after)
        line = (
            f"invocation {invocation}: "
            + (
                f"killed after {time.monotonic() - tic:.1f} s"
                if was_killed
                else "ran to the end"
            )
            + f", units {len(before)} -> {len(after)}, lost {lost or 'none'}"
        )
        print(line, flush=True)
        if len(lost) > 1:
            ok = False
            print("  FAIL: more than one unit's work lost")
        if not was_killed:
            if proc.returncode != 0:
                print(err[-2000:])
                return 2
            break

    first = json.loads((whole / "results.json").read_text())
    second = json.loads((killed / "results.json").read_text())
    compared, differences = compare(first, second)
    print(
        f"results.json after {kills} kills vs uninterrupted: {compared} leaves "
        f"compared, {len(differences)} differ"
    )
    for difference in differences:
        print(f"  {difference}")
    ok = ok and not differences
    print("verdict:", "holds" if ok else "FAILS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
