"""Tests of what the experiments share: results, options, run folders, teacher."""

import dataclasses
import json
import math

import numpy as np
import pytest
from ml_collections import config_dict

from experiments.shared import compare_runs, teacher, workdir
from experiments.shared.options import field, from_section
from experiments.shared.results import to_strict_json, write_json


def test_write_json_is_strict_json_with_nan_as_null(tmp_path):
    payload = {
        "auc": float("nan"),
        "scores": np.asarray([1.0, np.inf, 0.5], np.float32),
        "count": np.int64(3),
        3: (np.float32(-np.inf), "text"),
        "path": tmp_path,
    }
    write_json(tmp_path / "results.json", payload)
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    saved = json.loads(text, parse_constant=lambda name: math.nan)
    assert saved == {
        "auc": None,
        "scores": [1.0, None, 0.5],
        "count": 3,
        "3": [None, "text"],
        "path": str(tmp_path),
    }


def test_to_strict_json_keeps_finite_values():
    assert to_strict_json({"a": [0.25, 1, True, None]}) == {"a": [0.25, 1, True, None]}


@dataclasses.dataclass(frozen=True)
class _Inner:
    steps: int = field(minimum=1)
    fill: str = field(choices=("black", "blur"))


@dataclasses.dataclass(frozen=True)
class _Outer:
    rate: float = field(minimum=0.0)
    names: tuple[str, ...] = field()
    inner: _Inner = field()
    cap: int | None = field(minimum=0)


def _section(**overrides):
    values = {
        "rate": 0.5,
        "names": ["a", "b"],
        "inner": config_dict.ConfigDict({"steps": 3, "fill": "blur"}),
        "cap": None,
    }
    values.update(overrides)
    return config_dict.ConfigDict(values)


def test_from_section_builds_typed_options():
    options = from_section(_Outer, _section(), "")
    assert options == _Outer(0.5, ("a", "b"), _Inner(3, "blur"), None)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"rate": float("nan")}, "config.rate: expected a finite number"),
        ({"rate": -1.0}, "config.rate: expected >= 0.0"),
        ({"rate": True}, "config.rate: expected a number"),
        ({"names": "ab"}, "config.names: expected a sequence"),
        ({"cap": 1.5}, "config.cap: expected an int"),
        (
            {"inner": config_dict.ConfigDict({"steps": 0, "fill": "blur"})},
            "config.inner.steps: expected >= 1",
        ),
        (
            {"inner": config_dict.ConfigDict({"steps": 2, "fill": "pink"})},
            "config.inner.fill: expected one of",
        ),
        (
            {"inner": config_dict.ConfigDict({"steps": 2, "fill": "blur", "x": 1})},
            "config.inner.x: unknown field",
        ),
    ],
)
def test_from_section_names_the_bad_field(overrides, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        from_section(_Outer, _section(**overrides), "")


def test_a_run_folder_is_claimed_once_and_refused_to_others(tmp_path):
    config = config_dict.ConfigDict({"experiment": "a", "seed": 0, "n": {"k": 1}})
    folder = tmp_path / "run"
    workdir.claim(folder, "a", config)
    workdir.claim(folder, "a", config)  # the same run again: resumes
    before = (folder / "run.json").read_text()
    with pytest.raises(ValueError, match="holds a 'a' run"):
        workdir.claim(folder, "b", config)
    other = config.copy_and_resolve_references()
    other.n.k = 2
    with pytest.raises(ValueError, match="another config.*n.k: 1 vs 2"):
        workdir.claim(folder, "a", other)
    assert (folder / "run.json").read_text() == before
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "results.json").write_text("{}")
    with pytest.raises(ValueError, match="unknown run"):
        workdir.claim(stray, "a", config)
    assert sorted(p.name for p in stray.iterdir()) == ["results.json"]


def test_compare_runs_reports_changed_numbers_only(tmp_path):
    a = {"score": 0.5, "seconds": {"train": 3.0}, "per_image": [1, 2]}
    b = {"score": 0.5, "seconds": {"train": 9.0}, "per_image": [1, 3]}
    count, differences = compare_runs.compare(a, b)
    assert count == 3 and differences == ["per_image[1]: 2 != 3"]
    for name, tree in (("a", a), ("b", b)):
        (tmp_path / f"{name}.json").write_text(json.dumps(tree))
    assert compare_runs.main([str(tmp_path / "a.json"), str(tmp_path / "a.json")]) == 0
    assert compare_runs.main([str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 1


def test_a_teacher_of_another_recipe_is_refused_and_left_untouched(tmp_path):
    from experiments.shared.data import load_data

    data_config = config_dict.ConfigDict(
        {"name": "texture_digits", "config": "tiny", "data_dir": str(tmp_path / "tfds")}
    )
    data = load_data(data_config, splits=("train", "validation"))
    section = config_dict.ConfigDict(
        {
            "workdir": "",
            "train_if_missing": True,
            "model": {"widths": (4, 8), "blocks_per_stage": 1},
            "train": {"epochs": 1, "batch_size": 32},
        }
    )
    home = tmp_path / "home"
    teacher.resolve_teacher(section, data_config, data, home, seed=0)
    folder = teacher.teacher_dir_of(home)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    other = section.copy_and_resolve_references()
    other.train.epochs = 2
    with pytest.raises(ValueError, match="config.teacher: .*train.epochs: 1 vs 2"):
        teacher.resolve_teacher(other, data_config, data, home, seed=0)
    loader = other.copy_and_resolve_references()
    loader.workdir = str(home)
    loader.train_if_missing = False
    with pytest.raises(ValueError, match="another recipe"):
        teacher.resolve_teacher(loader, data_config, data, tmp_path / "x", seed=0)
    after = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    assert after == before  # model.json included


def test_strict_verdicts_never_say_partly():
    from experiments.shared.findings import scope, strict_verdict

    assert strict_verdict([1, 1]) == "reproduced"
    assert strict_verdict([-1, -1]) == "refuted"
    assert strict_verdict([1, 0]) == strict_verdict([1, -1]) == "not shown"
    assert strict_verdict([]) == "not shown"
    assert scope({"a": 1, "b": 0, "c": -1}) == (
        "holds for: a; against: c; not significant: b"
    )
