"""Studies as units: unit files, fingerprints, time budgets, kills, added seeds."""

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import toy_study

from experiments.shared.compare_runs import compare
from experiments.shared.study import run_study
from experiments.shared.units import (
    Unit,
    UnitMismatch,
    UnitStore,
    check_minutes,
    decode,
    encode,
    fingerprint,
    run_units,
)

TOY = Path(toy_study.__file__)
ROOT = TOY.parents[2]


def test_encode_decode_is_bit_exact():
    value = {
        "f32": np.array([0.1, np.nan, -np.inf], np.float32),
        "i": np.arange(6, dtype=np.int16).reshape(2, 3),
        "scalar": np.float32(0.3),
        "nested": [np.array([True, False]), 1.5, "x", None],
    }
    back = decode(json.loads(json.dumps(encode(value))))
    assert back["f32"].dtype == np.float32
    np.testing.assert_array_equal(back["f32"], value["f32"])
    assert back["i"].dtype == np.int16 and back["i"].shape == (2, 3)
    assert back["scalar"] == float(np.float32(0.3))
    assert back["nested"][1:] == [1.5, "x", None]


def _store(tmp_path, study="toy"):
    return UnitStore(tmp_path / "units", study)


def test_store_round_trip_and_refusals(tmp_path):
    unit = Unit("seed0-a", {"seed": 0})
    expected = fingerprint("toy", {"draws": 16}, unit)
    store = _store(tmp_path)
    assert store.load(unit, expected) is None
    record = store.save(unit, expected, {"x": np.float32([1, 2])}, 1.25)
    assert record.result["x"].dtype == np.float32
    assert store.load(unit, expected).seconds == 1.25
    other = fingerprint("toy", {"draws": 32}, unit)
    with pytest.raises(UnitMismatch, match=r"seed0-a\.json.*shared\.draws: 16 vs 32"):
        store.load(unit, other)
    # A unit of another study in the folder: reported, not used.
    assert _store(tmp_path, "other").load(unit, expected) is None
    # A corrupt file: reported by name, the unit runs again.
    store.path(unit).write_text('{"study": "toy", "fing')
    fresh = _store(tmp_path)
    assert fresh.load(unit, expected) is None
    assert "seed0-a.json: unreadable" in fresh.problems[0]


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "5", True])
def test_minutes_must_be_positive(bad):
    with pytest.raises(ValueError, match="--minutes"):
        check_minutes(bad)


def test_budget_never_starts_a_unit_that_cannot_finish(tmp_path):
    now = [0.0]
    ran = []

    def run_one(unit):
        ran.append(unit.name)
        now[0] += 50.0 if unit.kind == "slow" else 5.0
        return {"n": len(ran)}, None

    units = [Unit(f"u{i}", {"i": i}, kind="slow") for i in range(4)]
    units += [Unit(f"v{i}", {"i": i}, kind="fast") for i in range(3)]
    records, progress = run_units(
        units,
        store=_store(tmp_path),
        fingerprint_of=lambda u: fingerprint("toy", {}, u),
        run_one=run_one,
        minutes=1.5,  # 90 s: two slow units (the second is started at 50 s)
        clock=lambda: now[0],
    )
    # u0 runs 0-50 s; then a slow unit's measured 50 s exceed the 40 s left,
    # and so does an unmeasured fast one (estimated as the dearest unit).
    assert ran == ["u0"]
    assert progress.left_for_time == ["u1", "u2", "u3", "v0", "v1", "v2"]
    assert (progress.done, progress.total) == (1, 7)
    assert set(records) == {"u0"}
    # Next invocation, fast units first: once measured, they fit.
    now[0], ran[:] = 0.0, []
    records, progress = run_units(
        units[4:] + units[:4],
        store=_store(tmp_path),
        fingerprint_of=lambda u: fingerprint("toy", {}, u),
        run_one=run_one,
        minutes=1.0,
        clock=lambda: now[0],
    )
    # v0 starts (the slow kind's 50 s fit in 60 s), then fast ones at 5 s;
    # a slow one needs 50 s at 15 s: 45 s left, so it waits.
    assert ran == ["v0", "v1", "v2"]
    assert progress.left_for_time == ["u1", "u2", "u3"]
    assert progress.done == 4


def test_study_partial_then_complete_and_added_seeds(tmp_path):
    config = dataclasses.replace(toy_study.get_config(seeds=(0, 1)), unit_seconds=0.0)
    partial = run_study(toy_study, config, tmp_path, minutes=1e-9)
    assert partial["units"] == {
        "done": 0,
        "total": 4,
        "complete": False,
        "folder": str(tmp_path / "units"),
    }
    assert "0 of 4 units" in (tmp_path / "report.md").read_text()
    whole = run_study(toy_study, config, tmp_path)
    assert whole["units"]["complete"] and whole["invocation"]["ran"] == [
        "seed0-a",
        "seed0-b",
        "seed1-a",
        "seed1-b",
    ]
    assert all("partial" not in f for f in whole["findings"])
    config = dataclasses.replace(config, seeds=(0, 1, 2))
    more = run_study(toy_study, config, tmp_path)
    assert more["invocation"]["ran"] == ["seed2-a", "seed2-b"]
    assert (more["units"]["done"], more["units"]["total"]) == (6, 6)
    config = dataclasses.replace(
        config, draws=8
    )  # another recipe: refused, naming the field
    with pytest.raises(UnitMismatch, match="shared.draws: 16 vs 8"):
        run_study(toy_study, config, tmp_path)


def test_partial_verdicts_are_labelled(tmp_path):
    config = dataclasses.replace(
        toy_study.get_config(seeds=(0, 1, 2)), unit_seconds=0.0
    )
    store = UnitStore(tmp_path / "units", "toy")
    from experiments.shared.study import shared_fingerprint

    shared = shared_fingerprint(config, toy_study.AXES)
    unit = Unit("seed0-a", {"seed": 0, "arm": "a"}, kind="a")
    store.save(unit, fingerprint("toy", shared, unit), {"mean": 0.5}, 0.1)
    results = run_study(toy_study, config, tmp_path, minutes=1e-9)
    assert results["units"]["done"] == 1
    assert results["findings"][0]["partial"] == "1 of 6 units"
    assert "**Units: 1 of 6 units.**" in (tmp_path / "report.md").read_text()


def _invoke(workdir, minutes, seeds="0,1,2,3,4,5"):
    return subprocess.Popen(
        [sys.executable, str(TOY), str(workdir), str(minutes), seeds],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{TOY.parent}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_at_random_moments_loses_at_most_one_unit(tmp_path):
    reference = tmp_path / "reference"
    assert _invoke(reference, 0).wait(timeout=120) == 0
    expected = json.loads((reference / "results.json").read_text())

    cut = tmp_path / "cut"
    rng = random.Random(0)
    for attempt in range(12):
        log = cut / "started.log"
        before = log.read_text().split() if log.exists() else []
        done_before = len(list((cut / "units").glob("*.json")))
        process = _invoke(cut, 0.05)  # a 3 s budget per invocation
        time.sleep(rng.uniform(1.0, 3.0))  # interpreter start-up is about 1 s
        process.send_signal(signal.SIGKILL)
        process.wait()
        started = (log.read_text().split() if log.exists() else [])[len(before) :]
        done_after = len(list((cut / "units").glob("*.json")))
        # Every unit started in this invocation finished, except at most one.
        assert len(started) - (done_after - done_before) <= 1, attempt
        if done_after == 12:
            break
    assert _invoke(cut, 0).wait(timeout=120) == 0
    count, differences = compare(
        json.loads((cut / "results.json").read_text()), expected
    )
    assert count > 10 and not differences, differences


def test_a_kind_depends_only_on_its_fields(tmp_path, monkeypatch):
    """DEPENDS: a unit stays valid when fields outside its kind's scope change."""
    monkeypatch.setattr(
        toy_study,
        "DEPENDS",
        {"a": ("arms", "draws"), "b": ("arms", "draws", "unit_seconds")},
        raising=False,
    )
    config = dataclasses.replace(toy_study.get_config(seeds=(0,)), unit_seconds=0.0)
    first = run_study(toy_study, config, tmp_path)
    assert first["invocation"]["ran"] == ["seed0-a", "seed0-b"]
    stored = json.loads((tmp_path / "units" / "seed0-a.json").read_text())
    assert "unit_seconds" not in stored["fingerprint"]["shared"]
    # unit_seconds is outside kind a's scope: its unit is reused; kind b's
    # scope holds it: its unit was run under another config and is refused.
    changed = dataclasses.replace(config, unit_seconds=0.001)
    with pytest.raises(UnitMismatch, match=r"seed0-b.json.*unit_seconds: 0.0 vs 0.001"):
        run_study(toy_study, changed, tmp_path)
    (tmp_path / "units" / "seed0-b.json").unlink()
    again = run_study(toy_study, changed, tmp_path)
    assert again["invocation"]["ran"] == ["seed0-b"]


def test_units_written_before_a_kind_declared_its_scope_stay_valid(
    tmp_path, monkeypatch
):
    config = dataclasses.replace(toy_study.get_config(seeds=(0,)), unit_seconds=0.0)
    run_study(toy_study, config, tmp_path)  # fingerprints over the whole config
    monkeypatch.setattr(toy_study, "DEPENDS", {"a": ("draws",)}, raising=False)
    again = run_study(toy_study, config, tmp_path)
    assert again["invocation"]["ran"] == [] and again["units"]["complete"]
