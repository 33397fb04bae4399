"""Smoke test of the attack-on-explanations experiment on the tiny dataset."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.attack_explanations import config as attack_explanations


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = attack_explanations.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    return config


def test_writes_outputs(quick_config, tmp_path):
    results, files = traced_run(quick_config, tmp_path)
    check_files(files, "attack_explanations")
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [f["reproduced"] for f in saved["findings"]] != []
    verdicts = {f["reproduced"] for f in saved["findings"]}
    assert verdicts <= {"reproduced", "refuted", "not shown"}
    assert set(saved["summary"]) == {"gradient", "smoothgrad", "seg_grad_cam"}
    budget = quick_config.attack.linf_budget
    for entry in saved["summary"].values():
        per_image = entry["per_image"]
        assert len(per_image["pixel_agreement"]) == 2  # 1 seed x 2 images
        assert np.all(np.asarray(per_image["input_linf"]) <= budget + 1e-6)
        for metric in ("to_target_pearson", "to_original_ssim", "prob_mse"):
            assert np.all(np.isfinite(per_image[metric])), metric
        for defence in ("softplus", "smoothgrad"):
            assert np.isfinite(
                entry["defences"][defence]["metrics"]["to_target_pearson"]["mean"]
            )
        assert len(entry["history"]["loss"]) == quick_config.attack.num_steps
    assert "| vanilla gradient |" in (tmp_path / "report.md").read_text()
    # Same seed -> same attack is tested in tests/attacks.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("explainers", ("gradient", "nope")),
        ("target", "circle"),
        ("cam_layer", "nope"),
        ("num_images", 0),
        ("seeds", ()),
        ("attack.linf_budget", -1.0),
        ("attack.gamma_output", float("nan")),
    ],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    group, _, leaf = field.rpartition(".")
    (config[group] if group else config)[leaf] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        experiments_main.run_experiment(config, str(tmp_path))
