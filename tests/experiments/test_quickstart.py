"""Smoke test of the main job on the tiny dataset config, through the real CLI."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.quickstart import config as quickstart
from experiments.rank_methods import config as rank_methods


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = quickstart.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    return config


def test_quickstart_writes_report_results_and_figures(quick_config, tmp_path):
    results, files = traced_run(quick_config, tmp_path)
    check_files(files, "quickstart")
    names = ("report.md", "results.json", "segmentation.png", "training_curve.png")
    for name in (*names, "explanations.png", "explanations_all_classes.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["scores"]["validation"]["miou"] == pytest.approx(
        results["scores"]["validation"]["miou"]
    )
    assert len(saved["train"]["history"]) == 2
    assert (tmp_path / "teacher" / "model.json").exists()
    report = (tmp_path / "report.md").read_text()
    assert "| validation |" in report
    methods = [m["method"] for m in saved["explanations"]["methods"]]
    assert len(methods) == 16 and "Seg-Ablation-CAM" in methods
    for new in ("Seg-XRes-CAM", "Grad-CAM++", "LayerCAM", "Eigen-CAM", "Score-CAM"):
        assert new in methods, new
    assert "mask ablation" in methods and "RISE" in methods
    for row in saved["explanations"]["methods"]:  # a cost row per method
        assert row["seconds_per_image"] > 0 and row["passes"], row
    for method in methods:
        assert f"| {method} |" in report

    # Running again resumes from the finished checkpoints instead of retraining.
    again = experiments_main.run_experiment(quick_config, str(tmp_path))
    assert again["train"]["resumed_from_epoch"] == 2
    np.testing.assert_equal(again["scores"], results["scores"])  # NaN == NaN here


def test_unknown_experiment_is_a_clear_error(quick_config, tmp_path):
    config = quick_config.copy_and_resolve_references()
    config.experiment = "nope"
    with pytest.raises(ValueError, match="config.experiment"):
        experiments_main.run_experiment(config, str(tmp_path))


def test_a_workdir_of_another_run_is_refused_before_anything_is_written(
    quick_config, tmp_path
):
    workdir = tmp_path / "run"
    experiments_main.run_experiment(quick_config, str(workdir))
    before = {p: p.stat().st_mtime_ns for p in workdir.rglob("*") if p.is_file()}
    other = quick_config.copy_and_resolve_references()
    other.teacher.train.epochs = 3
    with pytest.raises(ValueError, match="another config.*teacher.train.epochs"):
        experiments_main.run_experiment(other, str(workdir))
    with pytest.raises(ValueError, match="workdir: .* holds a 'quickstart' run"):
        experiments_main.run_experiment(rank_methods.get_config("quick"), str(workdir))
    after = {p: p.stat().st_mtime_ns for p in workdir.rglob("*") if p.is_file()}
    assert after == before  # model.json included: nothing was touched
