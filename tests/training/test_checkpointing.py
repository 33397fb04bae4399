"""Checkpoint integrity: damage is detected, resume falls back, nothing is lost."""

import logging

import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.training import (
    CheckpointError,
    CheckpointStore,
    json_fingerprint,
    resume,
    tree_digest,
)

FINGERPRINT = json_fingerprint({"run": "a", "seed": 0})


def _item(step):
    return {"w": jnp.full((64, 32), float(step)), "b": jnp.arange(5.0) + step}


def _store_with_steps(directory, steps=(1, 2, 3)):
    with CheckpointStore(directory, max_to_keep=5) as store:
        for step in steps:
            history = [{"step": s} for s in range(1, step + 1)]
            store.save(
                step,
                {"params": _item(step)},
                {"fingerprint": FINGERPRINT, "history": history},
            )


def _largest_file(step_dir):
    files = [p for p in step_dir.rglob("*") if p.is_file() and "params" in str(p)]
    return max(files, key=lambda p: p.stat().st_size)


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _delete(path):
    path.unlink()


ABSTRACT = {"params": _item(0)}


@pytest.mark.parametrize(
    "damage, words",
    [(_flip_byte, "SHA-256"), (_truncate, "truncated"), (_delete, "missing")],
    ids=["flipped byte", "truncated file", "missing file"],
)
def test_damage_is_named_and_resume_falls_back(tmp_path, caplog, damage, words):
    directory = tmp_path / "checkpoints"
    _store_with_steps(directory)
    victim = _largest_file(directory / "3")
    damage(victim)
    with CheckpointStore(directory) as store:
        with pytest.raises(CheckpointError, match=f"checkpoint 3 .*{words}") as info:
            store.restore(ABSTRACT, step=3)
        assert victim.name in str(info.value)
        with caplog.at_level(logging.WARNING):
            resumed = resume(store, ABSTRACT, FINGERPRINT)
        assert resumed.step == 2 and len(resumed.history) == 2
        np.testing.assert_array_equal(resumed.items["params"]["w"], _item(2)["w"])
        assert "newest intact one" in caplog.text and "checkpoint 3" in caplog.text
        # The damaged step is kept aside, not deleted, and the run can go on.
        kept = list((tmp_path / "checkpoints_damaged").iterdir())
        assert [p.name.split("-")[0] for p in kept] == ["3"]
        store.save(3, {"params": _item(30)}, {"fingerprint": FINGERPRINT})
        assert store.restore(ABSTRACT)[0] == 3


def test_a_changed_value_is_caught_even_when_orbax_reads_it(tmp_path):
    directory = tmp_path / "checkpoints"
    _store_with_steps(directory, steps=(1,))
    manifest = directory / "1" / "integrity.json"
    text = manifest.read_text()
    digest = tree_digest(_item(1))
    manifest.write_text(text.replace(digest, tree_digest(_item(2))))
    with CheckpointStore(directory) as store:
        with pytest.raises(CheckpointError, match="other contents"):
            store.restore(ABSTRACT)


def test_a_stray_folder_does_not_block_the_run(tmp_path, caplog):
    directory = tmp_path / "checkpoints"
    _store_with_steps(directory, steps=(1, 2))
    (directory / "7").mkdir()
    (directory / "7" / "notes.txt").write_text("not a checkpoint")
    with CheckpointStore(directory) as store:
        with caplog.at_level(logging.WARNING):
            resumed = resume(store, ABSTRACT, FINGERPRINT)
        assert resumed.step == 2
        store.save(3, {"params": _item(3)}, {"fingerprint": FINGERPRINT})
    assert "checkpoint 7" in caplog.text
    assert not (directory / "7").exists()
    (kept,) = (tmp_path / "checkpoints_damaged").iterdir()
    assert (kept / "notes.txt").read_text() == "not a checkpoint"  # not deleted


def test_a_save_cut_before_its_manifest_counts_as_unfinished(tmp_path):
    directory = tmp_path / "checkpoints"
    _store_with_steps(directory)
    (directory / "3" / "integrity.json").unlink()  # killed between the two writes
    with CheckpointStore(directory) as store:
        with pytest.raises(CheckpointError, match="did not finish"):
            store.restore(ABSTRACT, step=3)
        assert resume(store, ABSTRACT, FINGERPRINT).step == 2


def test_nothing_is_moved_when_no_checkpoint_is_intact(tmp_path):
    directory = tmp_path / "checkpoints"
    _store_with_steps(directory, steps=(1, 2))
    for step in (1, 2):
        _flip_byte(_largest_file(directory / str(step)))
    with CheckpointStore(directory) as store:
        with pytest.raises(CheckpointError, match="none is intact"):
            resume(store, ABSTRACT, FINGERPRINT)
    assert sorted(p.name for p in directory.iterdir() if p.is_dir()) == ["1", "2"]
    assert not (tmp_path / "checkpoints_damaged").exists()


def test_another_runs_folder_is_refused_untouched(tmp_path):
    directory = tmp_path / "checkpoints"
    _store_with_steps(directory)
    _flip_byte(_largest_file(directory / "3"))
    with CheckpointStore(directory) as store:
        with pytest.raises(CheckpointError, match="different run"):
            resume(store, ABSTRACT, json_fingerprint({"run": "b"}))
    assert sorted(p.name for p in directory.iterdir() if p.is_dir()) == ["1", "2", "3"]


def test_store_closes_as_a_context_manager(tmp_path):
    with CheckpointStore(tmp_path / "c") as store:
        store.save(1, {"params": _item(1)}, {})
    with CheckpointStore(tmp_path / "c") as again:
        assert again.latest_step() == 1
    with CheckpointStore(tmp_path / "fresh") as fresh:
        assert resume(fresh, ABSTRACT, FINGERPRINT).items is None
