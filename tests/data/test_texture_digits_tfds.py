"""Tests of the TFDS builder and loader of TextureDigits."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from segxai_jax.data import pipeline
from segxai_jax.data.texture_digits import CONFIGS, SPLITS, generate_split
from segxai_jax.data.texture_digits_tfds import TextureDigits, load_texture_digits


def test_builder_metadata():
    assert TextureDigits.name == "texture_digits"
    version = str(TextureDigits.VERSION)
    assert version in TextureDigits.RELEASE_NOTES
    names = [config.name for config in TextureDigits.BUILDER_CONFIGS]
    assert names == list(CONFIGS)
    for builder_config in TextureDigits.BUILDER_CONFIGS:
        assert builder_config.generator_config == CONFIGS[builder_config.name]


def test_builder_is_registered_with_tfds(tmp_path):
    builder = tfds.builder("texture_digits", config="tiny", data_dir=tmp_path)
    assert isinstance(builder, TextureDigits)
    assert builder.info.file_format.value == "array_record"
    features = builder.info.features
    assert features["image"].shape == (32, 32, 3)
    assert features["mask"].shape == (32, 32)
    assert set(features.keys()) == {"image", "mask", "id", "family"}


def test_tfds_round_trip_equals_the_numpy_generator(tiny_sources):
    assert set(tiny_sources) == set(SPLITS)
    for split, source in tiny_sources.items():
        expected = generate_split("tiny", split)
        assert len(source) == len(expected["id"])
        items = source.__getitems__(list(range(len(source))))
        for index, item in enumerate(items):
            np.testing.assert_array_equal(item["image"], expected["image"][index])
            np.testing.assert_array_equal(item["mask"], expected["mask"][index])
            assert item["id"] == expected["id"][index] == index
            assert item["family"] == expected["family"][index]


def test_pipeline_reads_tfds_and_in_memory_sources_alike(tiny_sources):
    expected = generate_split("tiny", "validation")
    from_tfds = pipeline.to_arrays(tiny_sources["validation"], num_classes=11)
    np.testing.assert_array_equal(
        from_tfds["image"], expected["image"] / np.float32(255)
    )
    np.testing.assert_array_equal(from_tfds["mask"], expected["mask"])
    np.testing.assert_array_equal(from_tfds["family"], expected["family"])
    from_memory = pipeline.ArraySource(expected)
    tfds_batches = pipeline.batches(tiny_sources["validation"], batch_size=4, seed=2)
    memory_batches = pipeline.batches(from_memory, batch_size=4, seed=2)
    for tfds_batch, memory_batch in zip(tfds_batches, memory_batches, strict=True):
        for name in ("image", "mask", "id"):
            np.testing.assert_array_equal(tfds_batch[name], memory_batch[name])


def test_loading_again_reuses_the_prepared_data(tiny_data_dir):
    version_dir = os.path.join(
        tiny_data_dir, "texture_digits", "tiny", str(TextureDigits.VERSION)
    )
    before = os.path.getmtime(version_dir)
    sources = load_texture_digits("tiny", data_dir=tiny_data_dir, splits=("test",))
    assert list(sources) == ["test"]
    assert os.path.getmtime(version_dir) == before


def test_prepared_data_loads_from_a_read_only_location(tiny_data_dir, monkeypatch):
    # Writability is only required for building.
    def fail(directory):
        raise AssertionError(f"unexpected writability check of {directory}")

    monkeypatch.setattr("segxai_jax.data.texture_digits_tfds._ensure_writable", fail)
    sources = load_texture_digits("tiny", data_dir=tiny_data_dir)
    assert len(sources["train"]) == CONFIGS["tiny"].num_train


def test_unknown_config_lists_the_known_ones(tmp_path):
    with pytest.raises(
        ValueError, match=r"config: .*'context_bias', 'default', 'tiny'"
    ):
        load_texture_digits("huge", data_dir=tmp_path)


def test_bad_splits_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="splits"):
        load_texture_digits("tiny", data_dir=tmp_path, splits=("dev",))
    with pytest.raises(ValueError, match="splits"):
        load_texture_digits("tiny", data_dir=tmp_path, splits="train")


def test_unwritable_data_dir_is_named(tmp_path):
    # A path below a regular file cannot be created, even by root.
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("")
    data_dir = blocker / "tfds"
    with pytest.raises(ValueError, match=r"data_dir: .*not_a_directory.* not writable"):
        load_texture_digits("tiny", data_dir=data_dir)
