"""Misspelt --config.<field> overrides: refused in one line, nearest names given."""

import subprocess
import sys

from ml_collections import config_dict

from experiments.shared.overrides import check_overrides, unknown_overrides

CONFIG = "experiments/ablation_regions/config.py:quick"


def test_unknown_field_names_nearest():
    config = config_dict.ConfigDict({"num_images": 4, "train": {"epochs": 2}})
    argv = ["--config.num_imags=3", "--config.train.epoch=1", "--config.train.epochs=5"]
    messages = unknown_overrides(config, argv)
    assert messages == [
        "--config.num_imags: no such config field; nearest: num_images",
        "--config.train.epoch: no such config field; nearest: train.epochs, train",
    ]


def test_known_fields_and_other_flags_pass():
    argv = ["--config", CONFIG, "--workdir=/tmp/x", "--config.num_images=3"]
    assert check_overrides(argv) == []


def test_missing_config_file_is_left_to_the_flag_parser():
    assert check_overrides(["--config=nowhere.py", "--config.x=1"]) == []


def test_main_refuses_in_one_line(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.main",
            f"--config={CONFIG}",
            f"--workdir={tmp_path / 'run'}",
            "--config.num_imags=3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert run.stderr.strip() == (
        "--config.num_imags: no such config field; nearest: num_images, "
        "num_figure_images"
    )
    assert not (tmp_path / "run").exists()
