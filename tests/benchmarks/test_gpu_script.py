"""The GPU script (``benchmarks/gpu/run.sh``): its step bookkeeping on CPU.

The whole script at smoke size runs for minutes (committed as
``benchmarks/results/gpu_smoke/``); here only its cheapest step runs, to
check the folder it writes and that a step's failure is recorded, not fatal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "run.sh"


def _run(out: Path, steps: str, **env) -> dict:
    environ = {**os.environ, "SMOKE": "1", "STEPS": steps, "PYTHON": sys.executable}
    subprocess.run(
        ["bash", str(SCRIPT), str(out)],
        env={**environ, **env},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads((out / "steps.json").read_text())


def test_env_step_writes_its_json_and_the_summary(tmp_path):
    summary = _run(tmp_path, "env")
    assert summary["smoke_run_on_cpu"] is True
    assert [s["step"] for s in summary["steps"]] == ["env"]
    assert summary["steps"][0]["rc"] == 0 and summary["steps"][0]["timed_out"] is False
    env = json.loads((tmp_path / "env.json").read_text())
    assert env["backend"] == "cpu" and env["environment"]["isa"]
    assert "=== env rc=0" in (tmp_path / "log.txt").read_text()


def test_a_step_past_its_cap_is_recorded_and_the_script_goes_on(tmp_path):
    summary = _run(tmp_path, "replay env", CAP_SECONDS="1")
    steps = {s["step"]: s for s in summary["steps"]}
    assert steps["replay"]["timed_out"] is True and steps["replay"]["rc"] == 124
    assert set(steps) == {"replay", "env"}  # env (first in order) ran too
    assert summary["total_seconds"] < 60
