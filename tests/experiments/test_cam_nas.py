"""Smoke test of the CAM-NAS study on the tiny dataset."""

import json

import pytest

from experiments import main as experiments_main
from experiments.cam_nas import config as cam_nas


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = cam_nas.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    # The warm-up fitness and the proxy are covered by tests/nas; here the
    # entry point, the baselines and the report.
    config.methods = ("cam_nas_init", "random_search", "hand_designed")
    return config


def test_writes_outputs(quick_config, tmp_path):
    results = experiments_main.run_experiment(quick_config, str(tmp_path))
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    budget = saved["budget"]["max_params"]
    for method in ("cam_nas_init", "random_search", "hand_designed"):
        (run,) = saved["runs"][method]
        assert run["params"] <= budget
        assert 0 <= run["miou"] <= 1 and 0 < run["similarity"] <= 1
    search = saved["runs"]["cam_nas_init"][0]
    assert search["num_evaluated"] == 8 and len(search["history"]) == 2
    log = tmp_path / "search" / "cam_nas_init" / "seed0" / "search_log.jsonl"
    assert len(log.read_text().splitlines()) == 2
    assert saved["findings"][0]["reproduced"] in ("reproduced", "refuted", "not shown")
    assert "| cam_nas_init |" in (tmp_path / "report.md").read_text()
    # Resuming a killed search is tested in tests/nas/test_search.py.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("methods", ("cam_nas_init", "nope")),
        ("budget.params_fraction", 0.0),
        ("search.population_size", 0),
        ("space.kernels", (2,)),
    ],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    with config.unlocked():
        node = config
        *parents, leaf = field.split(".")
        for name in parents:
            node = node[name]
        node[leaf] = value
    with pytest.raises(ValueError, match=f"config.{field.split('.')[0]}"):
        experiments_main.run_experiment(config, str(tmp_path))
