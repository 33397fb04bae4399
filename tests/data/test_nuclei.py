"""The tiled nuclei dataset: spatially disjoint splits, exact tiles, TFDS, errors."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from segxai_jax.data import dataset_spec, load_sources, nuclei, to_arrays
from segxai_jax.data.nuclei import (
    CONFIGS,
    SOURCE_SIDE,
    NucleiConfig,
    dihedral,
    generate_example,
    generate_split,
    source_arrays,
    split_rows,
    tile_origins,
)
from segxai_jax.data.nuclei_tfds import Nuclei, load_nuclei

SPLITS = ("train", "validation", "test")


def test_the_shipped_image_is_the_one_documented():
    image, instances = source_arrays()
    assert image.shape == instances.shape == (512, 512)
    assert image.dtype == np.uint8 and instances.dtype == np.uint16
    assert len(np.unique(instances)) - 1 == 125  # nuclei, plus background 0
    assert 0.15 < (instances > 0).mean() < 0.25
    assert not image.flags.writeable


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_no_pixel_is_in_two_splits_and_tiles_stay_in_their_band(name):
    config = CONFIGS[name]
    size = config.tile_size
    owner = np.full((SOURCE_SIDE, SOURCE_SIDE), -1)
    for code, split in enumerate(SPLITS):
        start, stop = split_rows(config)[split]
        origins = tile_origins(config, split)
        assert len(origins) > 0
        assert (origins[:, 0] >= start).all() and (origins[:, 0] + size <= stop).all()
        assert (origins[:, 1] >= 0).all() and (origins[:, 1] + size <= 512).all()
        for top, left in origins:
            window = owner[top : top + size, left : left + size]
            assert np.isin(window, (-1, code)).all(), (split, top, left)
            window[...] = code
    assert set(np.unique(owner)) <= {-1, 0, 1, 2}


def test_default_split_sizes():
    config = CONFIGS["default"]
    sizes = {split: config.num_examples(split) for split in SPLITS}
    # 13 x 29 overlapping train tiles x 8 transforms; 1 x 8 and 3 x 8 disjoint.
    assert sizes == {"train": 13 * 29 * 8, "validation": 8, "test": 24}


def test_a_tile_is_the_transformed_crop_of_the_source():
    image, instances = source_arrays()
    config = CONFIGS["default"]
    for index in (0, 5, 8 * 7 + 3, config.num_examples("train") - 1):
        item = generate_example(config, "train", index)
        top, left, transform = item["top"], item["left"], item["transform"]
        assert transform == index % 8
        crop = np.s_[top : top + 64, left : left + 64]
        np.testing.assert_array_equal(
            item["image"][..., 0], dihedral(image[crop], transform)
        )
        np.testing.assert_array_equal(
            item["instances"], dihedral(instances[crop], transform)
        )
        np.testing.assert_array_equal(item["mask"], item["instances"] > 0)
    test_item = generate_example(config, "test", 0)
    assert (test_item["top"], test_item["left"], test_item["transform"]) == (320, 0, 0)


def test_the_eight_transforms_are_the_symmetries_of_the_square():
    square = np.arange(16).reshape(4, 4)
    images = [dihedral(square, t) for t in range(8)]
    assert len({image.tobytes() for image in images}) == 8
    assert all(sorted(image.ravel()) == list(range(16)) for image in images)
    np.testing.assert_array_equal(images[4], square.T)
    np.testing.assert_array_equal(dihedral(square[..., None], 1)[..., 0], images[1])


def test_tfds_round_trip_equals_the_numpy_tiles(tmp_path):
    sources = load_nuclei("tiny", data_dir=tmp_path)
    assert Nuclei.name == "nuclei"
    for split, source in sources.items():
        expected = generate_split("tiny", split)
        assert len(source) == len(expected["id"])
        for index in (0, len(source) - 1):
            item = source[index]
            for field, values in expected.items():
                np.testing.assert_array_equal(np.asarray(item[field]), values[index])
    arrays = to_arrays(sources["test"], num_classes=2)
    assert arrays["image"].shape[1:] == (32, 32, 1)
    assert arrays["image"].dtype == np.float32 and arrays["image"].max() <= 1.0


def test_load_sources_gives_the_spec_with_one_channel(tmp_path):
    sources, spec = load_sources(
        "nuclei", "tiny", data_dir=tmp_path, splits=("validation",)
    )
    assert set(sources) == {"validation"}
    assert spec == dataset_spec("nuclei", "tiny")
    assert (spec.num_classes, spec.num_channels, spec.image_size) == (2, 1, 32)
    assert spec.class_names == ("background", "nucleus")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"tile_size": 48}, "tile_size: expected a divisor of the image side 512"),
        ({"tile_size": 4}, "tile_size: expected an integer in"),
        ({"tile_size": 64.0}, "tile_size: expected an integer"),
        ({"validation_start": 300}, "validation_start: expected a multiple of"),
        ({"validation_start": 320}, "validation split: expected at least one tile"),
        ({"test_start": 512}, "test split: expected at least one tile"),
        ({"validation_start": 0}, "train split: expected at least one tile"),
        ({"train_stride": 24}, "train_stride: expected a divisor of tile_size"),
        ({"eval_stride": 0}, "eval_stride: expected an integer in"),
        ({"augment": 1}, "augment: expected a bool"),
    ],
)
def test_bad_tilings_are_refused(fields, match):
    with pytest.raises(ValueError, match=match):
        NucleiConfig(**fields)


def test_unknown_names_list_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"name: expected one of \('texture_digits'"):
        load_sources("nucleii")
    with pytest.raises(ValueError, match=r"config: expected one of \['default'"):
        load_nuclei("huge", data_dir=tmp_path)
    with pytest.raises(ValueError, match="split: expected one of"):
        load_sources("nuclei", "tiny", data_dir=tmp_path, splits=("val",))
    with pytest.raises(ValueError, match="image_size: expected None for nuclei"):
        dataset_spec("nuclei", image_size=64)


def test_a_missing_extra_names_the_pip_command(monkeypatch, tmp_path):
    real = importlib.metadata.distribution

    def without_stardist(name):
        if name == "stardist":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_stardist)
    source_arrays.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"segxai_jax\[realdata\]"):
            load_nuclei("tiny", data_dir=tmp_path)
        assert not list(tmp_path.rglob("*.array_record*"))  # nothing half-built
    finally:
        monkeypatch.undo()
        source_arrays.cache_clear()
    assert nuclei.source_arrays()[0].shape == (512, 512)
