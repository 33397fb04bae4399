"""Smoke test of the occlusion study on the tiny dataset, through the real CLI."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.occlusion_study import config as occlusion_study


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = occlusion_study.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    config.fills = ("black", "grey", "blur", "noise")
    config.patch_sizes = (8,)
    config.reference_patch = 8
    config.deletion.fills = ("black",)
    config.deletion.num_steps = 2
    return config


@pytest.fixture(scope="module")
def quick_run(quick_config, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("occlusion_study")
    results, files = traced_run(quick_config, workdir)
    return results, files, workdir


def test_writes_report_results_and_finite_numbers(quick_config, quick_run):
    results, files, tmp_path = quick_run
    check_files(files, "occlusion_study")
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["findings"]) == 5
    verdicts = {f["reproduced"] for f in saved["findings"]}
    assert verdicts <= {"reproduced", "refuted", "not shown"}
    report = (tmp_path / "report.md").read_text()
    assert "## Findings" in report and "verdict:" in report
    for fill in quick_config.fills:
        entry = saved["summaries"]["8"][fill]
        assert np.isfinite(entry["fake_digit_fraction_pooled"])
        for metric in ("seg_score_rel_std", "changed_outside", "dice_drop_mean"):
            assert np.isfinite(entry[metric]["mean"]), (fill, metric)
        auc = saved["deletion"]["substrates"]["black"][f"{fill} k=8"]["mean"]
        assert 0.0 <= auc <= 1.0
    for matrix in saved["similarity"]["between_fills"]["8"].values():
        assert np.all(np.isfinite(matrix))
    # The per-window sweep reproduces the library's occlusion explainer.
    assert saved["library_check"]["max_relative_difference"]["8"] < 1e-4
    assert saved["units"] == {**saved["units"], "done": 2, "total": 2}


def test_one_more_image_runs_one_more_unit(quick_config, quick_run):
    _, _, workdir = quick_run
    before = json.loads((workdir / "results.json").read_text())
    config = quick_config.copy_and_resolve_references()
    config.num_images = 3
    experiments_main.run_experiment(config, str(workdir))
    after = json.loads((workdir / "results.json").read_text())
    assert after["invocation"]["ran"] == ["image002"]
    assert after["images"]["indices"] == [0, 1, 2]
    # The finished images' measures are reused as they were.
    for fill in quick_config.fills:
        old = before["summaries"]["8"][fill]["changed_outside"]["per_image"]
        new = after["summaries"]["8"][fill]["changed_outside"]["per_image"]
        assert new[:2] == old


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fills", ("black", "purple")),
        ("reference_patch", 5),
        ("num_images", 0),
        ("patch_sizes", (1,)),
    ],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    config[field] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        experiments_main.run_experiment(config, str(tmp_path))
