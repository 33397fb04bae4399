"""Smoke test of the benchmark on its quick config, its resume, labels and errors."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.benchmark import config as benchmark
from experiments.benchmark.findings import DOES_NOT_HOLD, HOLDS_EVERYWHERE, label
from experiments.benchmark.run import resolve
from experiments.shared.options import settings_from


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = benchmark.get_config("quick")
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    for name in config.datasets:
        config.settings[name].data.data_dir = data_dir
    return config


@pytest.fixture(scope="module")
def run(quick_config, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("benchmark")
    results, files = traced_run(quick_config, workdir)
    check_files(files, "benchmark")
    return workdir, results


def test_writes_every_part_table_and_figure(run, quick_config):
    workdir, results = run
    names = ["report.md", "results.json"]
    for dataset in quick_config.datasets:
        names += [f"curves_{dataset}.png", f"cost_{dataset}.png"]
        for seed in quick_config.teacher_seeds:
            assert (workdir / "units" / f"{dataset}_seed{seed}.json").exists()
            home = workdir / "teachers" / dataset / f"seed{seed}" / "teacher"
            assert (home / "model.json").exists()
    for name in names:
        assert (workdir / name).stat().st_size > 0, name
    saved = json.loads((workdir / "results.json").read_text())
    assert set(saved["leaderboard"]) == {"texture_digits", "nuclei"}
    assert saved["datasets"]["nuclei"]["spec"]["num_channels"] == 1
    methods = set(quick_config.methods)
    for board in saved["leaderboard"].values():
        assert set(board) == methods
        for metrics in board.values():
            for substrate in quick_config.substrates:
                assert f"deletion/{substrate}" in metrics
    for kinds in saved["beats_random"].values():
        for verdict in kinds.values():
            assert verdict["label"].startswith(
                (HOLDS_EVERYWHERE, DOES_NOT_HOLD, "depends on")
            )
            assert len(verdict["signs"]) == 2 * len(quick_config.substrates)
    claims = [f["claim"] for f in saved["paper_findings"]]
    assert len(claims) == 3
    # Teachers of one dataset differ: they were trained with their own seeds.
    mious = saved["teachers"]["nuclei"]["test_miou"]
    assert len(mious) == 2 and mious[0] != mious[1]
    report = (workdir / "report.md").read_text()
    assert "## Verdicts" in report and "## Metric sanity" in report
    assert "| nuclei | 0 |" in report


def test_a_rerun_resumes_from_the_units(run, quick_config):
    workdir, first = run
    part = workdir / "units" / "nuclei_seed1.json"
    kept = workdir / "units" / "texture_digits_seed0.json"
    before = kept.stat().st_mtime_ns
    part.unlink()
    again = experiments_main.run_experiment(quick_config, str(workdir))
    assert part.exists() and kept.stat().st_mtime_ns == before
    # The recomputed part is the same program on the same machine: same values.
    for method, metrics in first["leaderboard"]["nuclei"].items():
        for metric, summary in metrics.items():
            np.testing.assert_allclose(
                np.float64(again["leaderboard"]["nuclei"][method][metric]["mean"]),
                np.float64(summary["mean"]),
                rtol=1e-5,
                equal_nan=True,
            )


def test_labels():
    assert label({"a/x": 1, "b/x": 1}) == HOLDS_EVERYWHERE
    assert label({"a/x": 0, "b/x": -1}) == DOES_NOT_HOLD + " (against: b/x)"
    assert label({"a/x": 0}) == DOES_NOT_HOLD
    mixed = label({"a/x": 1, "a/y": 0, "b/x": -1})
    assert mixed.startswith("depends on") and "holds for: a/x" in mixed
    assert "against: b/x" in mixed and "not significant: a/y" in mixed


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("substrates", ("black", "pink"), "config.substrates: expected names from"),
        ("datasets", ("mnist",), r"config.datasets: expected names from .*nuclei"),
        ("methods", ("gradient", "lime"), "config.methods: expected names from"),
        ("teacher_seeds", (), "config.teacher_seeds: expected at least 1 item"),
        ("substrates", ("black", "black"), "config.substrates: items must be distinct"),
    ],
)
def test_bad_fields_are_refused_before_anything_runs(field, value, match, tmp_path):
    config = benchmark.get_config("quick")
    config[field] = value
    with pytest.raises(ValueError, match=match):
        experiments_main.run_experiment(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_cross_field_errors():
    config = benchmark.get_config("quick")
    config.sanity.substrate = "uniform_noise"
    with pytest.raises(ValueError, match="config.sanity.substrate: expected one of"):
        resolve(settings_from(benchmark.Config, config))
    config = benchmark.get_config("quick")
    config.settings.nuclei.data.config = "huge"
    with pytest.raises(ValueError, match=r"config: expected one of \['default'"):
        resolve(settings_from(benchmark.Config, config))
    config = benchmark.get_config("quick")
    config.settings.nuclei.num_images = 1
    with pytest.raises(ValueError, match=r"config.settings.nuclei.num_images"):
        resolve(settings_from(benchmark.Config, config))
