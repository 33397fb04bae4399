"""Combining peer timing runs: medians and ranges over runs, one machine only."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = (
    Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "combine_runs.py"
)


@pytest.fixture(scope="module")
def combine_runs():
    spec = importlib.util.spec_from_file_location("combine_runs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(ratio: float, ours_ms: float, processor: str = "AMD EPYC") -> dict:
    row = {
        "method": "smoothgrad",
        "options": {},
        "batch": 8,
        "image_size": 64,
        "ours_label": "SmoothGrad",
        "peer_label": "Captum NoiseTunnel(Saliency)",
        "ours_ms": ours_ms,
        "peer_best_ms": ours_ms / ratio,
        "peer_best_config": "nchw",
        "ratio": ratio,
        "ratio_of_minima": ratio * 0.9,
        "raw_seconds": {"ours": [0.1] * 9},
    }
    return {
        "versions": {"processor": processor, "isa": "AVX-512", "jax": "0.10.2"},
        "setup": {"widths": [8, 16], "num_classes": 11, "quick": False},
        "rows": [row],
    }


def test_median_and_range_over_runs(combine_runs):
    runs = [_run(1.3, 500.0), _run(1.1, 450.0), _run(1.2, 480.0)]
    combined = combine_runs.combine(runs, ["a.json", "b.json", "c.json"])
    (row,) = combined["rows"]
    assert row["runs"] == 3
    assert row["ratio_median"] == pytest.approx(1.2)
    assert row["ratio_range"] == pytest.approx([1.1, 1.3])
    assert row["ratio_of_minima_range"] == pytest.approx([0.99, 1.17])
    assert row["calls_per_run"] == [9, 9, 9]
    assert "| SmoothGrad | 480.0 |" in combine_runs.table(combined)


def test_another_machine_is_refused(combine_runs):
    runs = [_run(1.3, 500.0), _run(1.1, 450.0, processor="Intel Xeon")]
    with pytest.raises(combine_runs.MismatchError, match="another machine"):
        combine_runs.combine(runs, ["here.json", "there.json"])


def test_quick_runs_are_refused(combine_runs):
    quick = _run(1.0, 10.0)
    quick["setup"]["quick"] = True
    with pytest.raises(combine_runs.MismatchError, match="quick"):
        combine_runs.combine([_run(1.3, 500.0), quick], ["a.json", "b.json"])


def test_command_line_writes_json_and_markdown(combine_runs, tmp_path, capsys):
    paths = []
    for i, ratio in enumerate((1.0, 1.4)):
        path = tmp_path / f"run{i}.json"
        path.write_text(json.dumps(_run(ratio, 100.0)))
        paths.append(str(path))
    out = tmp_path / "combined.json"
    assert combine_runs.main([*paths, "--out", str(out)]) == 0
    combined = json.loads(out.read_text())
    assert combined["runs"] == 2 and combined["sources"] == paths
    assert out.with_suffix(".md").read_text().startswith("| method |")
    other = copy.deepcopy(_run(1.0, 100.0, processor="Intel Xeon"))
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert (
        combine_runs.main([paths[0], str(tmp_path / "other.json"), "--out", str(out)])
        == 2
    )
    assert "refused" in capsys.readouterr().err
