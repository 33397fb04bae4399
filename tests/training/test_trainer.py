"""Training: determinism, resume after a real kill, checkpoint safety."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from segxai_jax.data import ArraySource, generate_split, get_config, to_arrays
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import (
    CheckpointError,
    TrainConfig,
    evaluate,
    load_trained_params,
    train,
)

MODEL = UNetConfig(num_classes=11, widths=(4, 8), blocks_per_stage=1)
CONFIG = TrainConfig(epochs=3, batch_size=16, learning_rate=3e-3, warmup_steps=2)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data():
    cfg = get_config("tiny")
    return {
        split: to_arrays(ArraySource(generate_split(cfg, split)))
        for split in ("train", "validation")
    }


def _train(data, workdir, **kwargs):
    kwargs.setdefault("config", CONFIG)
    return train(
        UNet(MODEL),
        data["train"],
        data["validation"],
        num_classes=11,
        workdir=workdir,
        progress=False,
        **kwargs,
    )


def _assert_same_params(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def uninterrupted(data, tmp_path_factory):
    return _train(data, tmp_path_factory.mktemp("full"))


def test_same_seed_same_parameters_and_history(data, uninterrupted, tmp_path):
    again = _train(data, tmp_path)
    _assert_same_params(uninterrupted.state.params, again.state.params)
    strip = [
        {k: v for k, v in h.items() if k != "train_seconds"} for h in again.history
    ]
    assert strip == [
        {k: v for k, v in h.items() if k != "train_seconds"}
        for h in uninterrupted.history
    ]


def test_other_seed_other_parameters(data, uninterrupted, tmp_path):
    other = _train(data, tmp_path, config=TrainConfig(**{**CONFIG.__dict__, "seed": 1}))
    leaves = zip(
        jax.tree.leaves(uninterrupted.state.params),
        jax.tree.leaves(other.state.params),
        strict=True,
    )
    assert any(not np.array_equal(a, b) for a, b in leaves)


def test_split_run_equals_uninterrupted(data, uninterrupted, tmp_path):
    first = _train(data, tmp_path, stop_after_epochs=1)
    assert len(first.history) == 1
    resumed = _train(data, tmp_path)
    assert resumed.resumed_from_epoch == 1
    assert len(resumed.history) == 3
    _assert_same_params(uninterrupted.state.params, resumed.state.params)
    log = (tmp_path / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2, 3]


_KILLABLE_RUN = textwrap.dedent(
    """
    import sys, time
    from segxai_jax import runtime
    runtime.configure()
    from segxai_jax.data import ArraySource, generate_split, get_config, to_arrays
    from segxai_jax.models import UNet, UNetConfig
    from segxai_jax.training import TrainConfig, train

    cfg = get_config("tiny")
    data = {s: to_arrays(ArraySource(generate_split(cfg, s)))
            for s in ("train", "validation")}

    def linger(entry, state):
        if entry["epoch"] == 1:
            print("EPOCH1", flush=True)
            time.sleep(120)  # killed here

    train(UNet(UNetConfig(num_classes=11, widths=(4, 8), blocks_per_stage=1)),
          data["train"], data["validation"], num_classes=11, workdir=sys.argv[1],
          config=TrainConfig(epochs=3, batch_size=16, learning_rate=3e-3,
                             warmup_steps=2),
          progress=False, on_epoch_end=linger)
    """
)


def test_killed_run_resumes_to_identical_parameters(data, uninterrupted, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE_RUN, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "EPOCH1" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        assert "EPOCH1" in line, "the training subprocess never finished epoch 1"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    resumed = _train(data, tmp_path)
    assert resumed.resumed_from_epoch == 1
    _assert_same_params(uninterrupted.state.params, resumed.state.params)


def test_other_run_in_same_workdir_is_refused_and_nothing_is_lost(
    data, uninterrupted, tmp_path
):
    _train(data, tmp_path, stop_after_epochs=1)
    before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    with pytest.raises(CheckpointError, match="different run"):
        _train(data, tmp_path, config=TrainConfig(**{**CONFIG.__dict__, "epochs": 5}))
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == before


def test_load_trained_params_and_errors(data, uninterrupted, tmp_path):
    workdir = tmp_path / "run"
    result = _train(data, workdir, stop_after_epochs=1)
    sample = data["train"]["image"][:1]
    params = load_trained_params(workdir, UNet(MODEL), sample)
    _assert_same_params(result.state.params, params)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_trained_params(tmp_path / "empty", UNet(MODEL), sample)
    other = UNet(UNetConfig(num_classes=11, widths=(8, 16), blocks_per_stage=1))
    with pytest.raises(CheckpointError, match="cannot be restored"):
        load_trained_params(workdir, other, sample)


def test_corrupt_checkpoint_is_a_clear_error(data, tmp_path):
    _train(data, tmp_path, stop_after_epochs=1)
    for path in (tmp_path / "checkpoints" / "1").rglob("*"):
        if path.is_file() and "record" not in str(path):
            path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        load_trained_params(tmp_path, UNet(MODEL), data["train"]["image"][:1])


def test_unwritable_workdir_is_a_clear_error(data, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="workdir: expected a writable directory"):
        _train(data, blocker / "run")


def test_evaluate_matches_numpy(data, uninterrupted):
    model = UNet(MODEL)
    params = uninterrupted.state.params
    scores = evaluate(model, params, data["validation"], num_classes=11, batch_size=5)
    predictions = np.asarray(
        model.apply({"params": params}, data["validation"]["image"]).argmax(-1)
    )
    accuracy = np.mean(predictions == data["validation"]["mask"])
    assert scores["pixel_accuracy"] == pytest.approx(accuracy, abs=1e-9)


@pytest.mark.parametrize(
    ("field", "value"),
    [("epochs", 0), ("batch_size", 0), ("learning_rate", float("nan")), ("loss", "l2")],
)
def test_bad_train_config(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_damaged_newest_checkpoint_falls_back_to_the_same_result(
    data, uninterrupted, tmp_path, caplog
):
    _train(data, tmp_path, stop_after_epochs=2)
    files = [p for p in (tmp_path / "checkpoints" / "2").rglob("*") if p.is_file()]
    victim = max(files, key=lambda p: p.stat().st_size)
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    victim.write_bytes(bytes(raw))
    resumed = _train(data, tmp_path)
    assert resumed.resumed_from_epoch == 1  # epoch 2 was damaged: redone
    _assert_same_params(uninterrupted.state.params, resumed.state.params)
    assert "newest intact one" in caplog.text
    assert any((tmp_path / "checkpoints_damaged").iterdir())


def test_log_is_rebuilt_after_a_kill_between_checkpoint_and_log(data, tmp_path):
    _train(data, tmp_path, stop_after_epochs=2)
    log = tmp_path / "train_log.jsonl"
    lines = log.read_text().splitlines()
    log.write_text(lines[0] + "\n")  # as if killed before the epoch-2 line
    _train(data, tmp_path)
    epochs = [json.loads(line)["epoch"] for line in log.read_text().splitlines()]
    assert epochs == [1, 2, 3]
