"""Smoke test of the context-bias study on tiny in-memory data."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.context_bias import config as context_bias
from experiments.context_bias.config import Config
from experiments.context_bias.store_teachers import store_teachers
from experiments.context_bias.swap import render_on_family
from experiments.shared import committed_teachers
from experiments.shared.options import settings_from


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = context_bias.get_config("quick")
    tfds_dir = str(tmp_path_factory.mktemp("tfds"))
    config.data.data_dir = tfds_dir
    config.reference_data.data_dir = tfds_dir
    config.num_images = 4
    return config


@pytest.fixture(scope="module")
def quick_run(quick_config, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("context_bias")
    results, files = traced_run(quick_config, workdir)
    return results, files, workdir


def test_writes_outputs_with_finite_measures(quick_run):
    results, files, tmp_path = quick_run
    check_files(files, "context_bias")
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["teachers"]) == {"biased", "reference", "control"}
    verdicts = [f["reproduced"] for f in saved["findings"]]
    assert len(verdicts) == 3
    assert set(verdicts) <= {"reproduced", "refuted", "not shown"}
    for teacher in saved["summary"].values():
        for condition in ("matched", "mismatched"):
            for metric in ("dice", "correct_class", "context_removal_drop"):
                assert np.all(np.isfinite(teacher[condition][metric]["per_image"]))
    mismatched = np.asarray(saved["pairs"]["mismatched_families"])
    assert np.all(mismatched != np.asarray(saved["pairs"]["labels"]))
    assert "## Findings" in (tmp_path / "report.md").read_text()


def test_stored_teachers_are_loaded_not_retrained(
    quick_config, quick_run, tmp_path, monkeypatch
):
    first, _, workdir = quick_run
    assert first["teachers"]["biased"]["trained_here"]
    root = tmp_path / "teachers"
    monkeypatch.setattr(committed_teachers, "TEACHERS", root)
    settings = settings_from(Config, quick_config)
    stored = store_teachers(settings, workdir, root=root)
    assert [f.name for f in stored] == [
        "context_bias_biased_seed0",
        "context_bias_control_seed0",
    ]
    experiments_main.run_experiment(quick_config, str(tmp_path / "again"))
    before = json.loads((workdir / "results.json").read_text())
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    for name in ("biased", "control"):
        info = again["teachers"][name]
        assert not info["trained_here"], name
        assert info["dir"].endswith(f"context_bias_{name}_seed0"), info["dir"]
        assert again["summary"][name] == before["summary"][name]


def test_pairs_differ_only_in_the_background():
    image_a, mask_a, labels = render_on_family("tiny", "test", 0, 2, seed=3)
    image_b, mask_b, _ = render_on_family("tiny", "test", 0, 7, seed=3)
    np.testing.assert_array_equal(mask_a, mask_b)
    assert np.abs(image_a - image_b)[mask_a == 0].mean() > 0.01
    again, _, _ = render_on_family("tiny", "test", 0, 2, seed=3)
    np.testing.assert_array_equal(image_a, again)  # same seed, same image
    assert image_a.dtype == np.float32 and 0 <= image_a.min() <= image_a.max() <= 1
    assert len(labels) >= 1
    with pytest.raises(ValueError, match="family"):
        render_on_family("tiny", "test", 0, 10)


@pytest.mark.parametrize(
    ("field", "value"),
    [("context_fill", "purple"), ("num_images", 0), ("context_radius", -1)],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    config[field] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        experiments_main.run_experiment(config, str(tmp_path))
