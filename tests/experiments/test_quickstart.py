"""Smoke test of the main job on the tiny dataset config, through the real CLI."""

import json

import numpy as np
import pytest

from experiments import main as experiments_main
from experiments.configs import quickstart


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = quickstart.get_config()
    config.data.config = "tiny"
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    config.model.widths = (4, 8)
    config.train.epochs = 2
    config.train.batch_size = 16
    config.report.num_figure_images = 2
    return config


def test_quickstart_writes_report_results_and_figures(quick_config, tmp_path):
    results = experiments_main.run_experiment(quick_config, str(tmp_path))
    for name in ("report.md", "results.json", "segmentation.png", "training_curve.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["scores"]["validation"]["miou"] == pytest.approx(
        results["scores"]["validation"]["miou"]
    )
    assert len(saved["train"]["history"]) == 2
    assert (tmp_path / "teacher" / "model.json").exists()
    assert "| validation |" in (tmp_path / "report.md").read_text()

    # Running again resumes from the finished checkpoints instead of retraining.
    again = experiments_main.run_experiment(quick_config, str(tmp_path))
    assert again["train"]["resumed_from_epoch"] == 2
    np.testing.assert_equal(again["scores"], results["scores"])  # NaN == NaN here


def test_unknown_experiment_is_a_clear_error(quick_config, tmp_path):
    config = quick_config.copy_and_resolve_references()
    config.experiment = "nope"
    with pytest.raises(ValueError, match="config.experiment"):
        experiments_main.run_experiment(config, str(tmp_path))
