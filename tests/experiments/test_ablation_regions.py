"""Smoke test of the foreground/background ablation study on the tiny dataset."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.ablation_regions import config as ablation_regions


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = ablation_regions.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    config.num_images = 3
    config.layers = ("enc0", "bottleneck")
    config.region_thresholds = (0.0,)
    return config


def test_writes_outputs_and_reruns_to_the_same_numbers(quick_config, tmp_path):
    results, files = traced_run(quick_config, tmp_path)
    check_files(files, "ablation_regions")
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["findings"][0]["reproduced"] in ("reproduced", "refuted", "not shown")
    per_layer = saved["summary"]["0.0"]
    assert set(per_layer) == {"enc0", "bottleneck"}
    for entry in per_layer.values():
        for region in ("foreground", "background"):
            for metric in (
                "rel_change",
                "rel_drop",
                "dice_change",
                "channel_rel_change",
            ):
                assert np.all(np.isfinite(entry[region][metric]["per_image"]))
            share = entry[region]["region_fraction"]["per_image"]
            assert np.all((np.asarray(share) >= 0) & (np.asarray(share) <= 1))
        assert np.isfinite(entry["difference"]["rel_change"]["mean"])
    assert "| enc0 |" in (tmp_path / "report.md").read_text()

    # Same seed and teacher (resumed, not retrained): the same numbers.
    again = experiments_main.run_experiment(quick_config, str(tmp_path))
    np.testing.assert_allclose(
        again["summary"]["0.0"]["bottleneck"]["foreground"]["rel_drop"]["per_image"],
        results["summary"]["0.0"]["bottleneck"]["foreground"]["rel_drop"]["per_image"],
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("layers", ("enc0", "nope")),
        ("region_thresholds", (1.0,)),
        ("mode", "zero"),
        ("figure_layer", "nope"),
        ("num_images", 0),
    ],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    config[field] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        experiments_main.run_experiment(config, str(tmp_path))
