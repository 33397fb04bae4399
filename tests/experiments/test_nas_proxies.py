"""Smoke test and bad-input checks of the NAS proxy study on the tiny dataset."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.nas_proxies import config as nas_proxies
from experiments.nas_proxies import measure
from experiments.shared.nas_fitness import PROXIES
from segxai_jax.nas import Budget, SearchSpace


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = nas_proxies.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    return config


@pytest.fixture(scope="module")
def quick_run(quick_config, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("nas_proxies")
    results, files = traced_run(quick_config, workdir)
    check_files(files, "nas_proxies")
    return workdir, results


def test_writes_every_proxy_and_student(quick_run, quick_config):
    workdir, results = quick_run
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (workdir / name).stat().st_size > 0, name
    saved = json.loads((workdir / "results.json").read_text())
    count = quick_config.num_architectures
    assert set(saved["proxies"]) == set(quick_config.proxies)
    for name, values in saved["proxies"].items():
        assert len(values) == count and np.all(np.isfinite(values)), name
    students = saved["students"]
    assert [s["index"] for s in students] == list(range(count))
    configs = {json.dumps(s["config"], sort_keys=True) for s in students}
    assert len(configs) == count  # distinct architectures
    budget = saved["budget"]["max_params"]
    assert all(s["params"] <= budget and 0 <= s["miou"] <= 1 for s in students)
    # #params as a proxy is the materialised student's parameter count.
    assert saved["proxies"]["params"] == [float(s["params"]) for s in students]
    # Four architectures are too few for a bootstrap interval: no verdict.
    correlations = saved["summary"]["correlations"]
    assert correlations["zen"]["tau"]["ci_low"] is None  # NaN in strict JSON
    assert {f["reproduced"] for f in saved["findings"]} == {"not shown"}
    assert "| #params |" in (workdir / "report.md").read_text()


def test_a_second_run_resumes_from_the_cached_students(quick_run, quick_config):
    workdir, results = quick_run
    again = experiments_main.run_experiment(quick_config, str(workdir))
    assert again["students"] == results["students"]
    assert again["proxies"] == results["proxies"]
    # Every unit was finished: none runs again.
    assert again["invocation"]["ran"] == [] and again["units"]["complete"]


def test_a_folder_of_another_space_is_refused(quick_run, quick_config):
    workdir, _ = quick_run
    config = quick_config.copy_and_resolve_references()
    config.space.kernels = (3,)
    before = (workdir / "results.json").read_bytes()
    with pytest.raises(ValueError, match="another config.*space.kernels"):
        experiments_main.run_experiment(config, str(workdir))
    assert (workdir / "results.json").read_bytes() == before


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("proxies", ("zen", "nope"), "config.proxies: expected names from"),
        ("budget.params_fraction", 1.5, r"config.budget.params_fraction"),
        ("budget.params_fraction", None, "expected params_fraction or flops"),
        ("num_architectures", 2, "config.num_architectures"),
        ("bootstrap.resamples", 0, "config.bootstrap.resamples"),
    ],
)
def test_bad_fields_are_refused_naming_them(
    quick_config, tmp_path, field, value, match
):
    config = quick_config.copy_and_resolve_references()
    node = config
    *parents, leaf = field.split(".")
    for name in parents:
        node = node[name]
    with config.unlocked():
        node[leaf] = value
    with pytest.raises(ValueError, match=match):
        experiments_main.run_experiment(config, str(tmp_path))
    assert not (tmp_path / "results.json").exists()


def test_a_budget_below_the_smallest_student_names_it(quick_config, tmp_path):
    config = quick_config.copy_and_resolve_references()
    config.budget.params_fraction = 0.01
    with pytest.raises(ValueError, match="config.budget: .*smallest student has"):
        experiments_main.run_experiment(config, str(tmp_path))


def test_the_space_runs_out_of_distinct_students():
    space = SearchSpace(
        num_classes=3, depths=(1,), widths=((2,), (4, 6)), blocks=(1,), kernels=(3,)
    )
    budget = Budget(max_params=10**6, image_size=16)
    genomes = measure.sample_architectures(space, budget, 2, seed=0)
    assert len({tuple(g) for g in genomes}) == 2
    with pytest.raises(ValueError, match="config.num_architectures: .*only 2"):
        measure.sample_architectures(space, budget, 3, seed=0)


def test_every_proxy_has_a_description():
    names = [measure.describe(p) for p in PROXIES]
    assert len(set(names)) == len(names)


def test_calibration_units_come_from_a_results_file(tmp_path):
    from experiments.nas_proxies.run import calibration_units

    assert calibration_units("") == []
    runs = {
        "a": [{"seed": 0, "config": {"widths": [4, 8]}, "miou": 0.5}],
        "b": [{"seed": 1, "config": {"widths": [2, 4]}, "miou": 0.4}],
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": runs}))
    units = calibration_units(str(path))
    assert [u.name for u in units] == ["calib-a-s0", "calib-b-s1"]
    assert units[1].settings["full_recipe_miou"] == 0.4
    with pytest.raises(ValueError, match="config.calibration_source"):
        calibration_units(str(tmp_path / "missing.json"))
