"""Committed teachers: found by recipe, loaded without training, SHA-256 checked."""

import json

import jax
import numpy as np
import pytest
from ml_collections import config_dict

from experiments.quickstart import config as quickstart
from experiments.shared import committed_teachers, teacher
from experiments.shared.data import load_data
from experiments.shared.store_teacher import store_teacher


def test_the_committed_quickstart_teacher_is_intact():
    folder = committed_teachers.TEACHERS / "quickstart"
    record = json.loads((folder / committed_teachers.RECORD_FILE).read_text())
    path = folder / committed_teachers.PARAMS_FILE
    assert committed_teachers.sha256_of(path) == record["sha256"]
    config = quickstart.get_config()
    assert record["config_recipe"] == committed_teachers.config_recipe(
        config.teacher, config.data, config.seed
    )
    # A study borrowing the quickstart teacher finds it with no data loaded.
    borrowed = config.teacher.copy_and_resolve_references()
    borrowed.workdir = "runs/does-not-exist"
    assert teacher.committed_teacher(borrowed, config.data, 0) == folder
    assert not teacher.needs_training(borrowed, "x", config.data, 0)
    assert teacher.committed_teacher(borrowed, config.data, 1) is None


def test_store_find_load_and_refuse_a_damaged_file(tmp_path, monkeypatch):
    data_config = config_dict.ConfigDict(
        {"name": "texture_digits", "config": "tiny", "data_dir": str(tmp_path / "tfds")}
    )
    config = config_dict.ConfigDict()
    config.seed = 0
    config.data = data_config
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "",
            "train_if_missing": True,
            "model": {"widths": (4, 8), "blocks_per_stage": 1},
            "train": {"epochs": 1, "batch_size": 32},
        }
    )
    data = load_data(data_config, splits=("train", "validation", "test"))
    home = tmp_path / "home"
    _, trained, _ = teacher.resolve_teacher(
        config.teacher, data_config, data, home, seed=0
    )
    root = tmp_path / "teachers"
    monkeypatch.setattr(committed_teachers, "TEACHERS", root)
    folder = store_teacher("tiny", config, home, root=root)
    borrowed = config.teacher.copy_and_resolve_references()
    borrowed.workdir = str(tmp_path / "nowhere")
    borrowed.train_if_missing = False
    spec_only = {"spec": data["spec"]}  # no training data: none is needed
    _, params, info = teacher.resolve_teacher(
        borrowed, data_config, spec_only, tmp_path / "study", seed=0
    )
    assert info["dir"] == str(folder) and not info["trained_here"]
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(trained), strict=True):
        np.testing.assert_array_equal(a, b)
    blob = bytearray((folder / committed_teachers.PARAMS_FILE).read_bytes())
    blob[-1] ^= 1
    (folder / committed_teachers.PARAMS_FILE).write_bytes(bytes(blob))
    with pytest.raises(committed_teachers.TeacherIntegrityError, match="retrain"):
        teacher.resolve_teacher(
            borrowed, data_config, spec_only, tmp_path / "study", seed=0
        )


def test_every_committed_benchmark_teacher_is_intact_and_found_by_the_benchmark():
    from experiments.benchmark import config as benchmark
    from experiments.benchmark.run import _teacher_config, dataset_settings
    from experiments.shared.options import settings_from
    from experiments.shared.teacher import committed_teacher

    settings = settings_from(benchmark.Config, benchmark.get_config())
    folders = sorted(committed_teachers.TEACHERS.glob("benchmark_*"))
    assert folders, "no committed benchmark teacher"
    for folder in folders:
        record = json.loads((folder / committed_teachers.RECORD_FILE).read_text())
        path = folder / committed_teachers.PARAMS_FILE
        assert committed_teachers.sha256_of(path) == record["sha256"], folder
        dataset, seed = folder.name.removeprefix("benchmark_").rsplit("_seed", 1)
        section = dataset_settings(settings, dataset)
        found = committed_teacher(
            _teacher_config(section, "runs/x"), section.data, int(seed)
        )
        assert found == folder
