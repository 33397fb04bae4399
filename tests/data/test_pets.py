"""Tests of the Oxford-IIIT Pet adapter.

`tfds.testing.mock_data` serves random examples through the real TFDS data
source code path (no TensorFlow, no files), so the adapter runs exactly as on
the prepared dataset. The mock's trimaps hold random values in [0, 255) rather
than {1, 2, 3} and its images and masks have unrelated random sizes; the
mapping of real trimap values is tested separately on hand-made trimaps.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds

from segxai_jax.data.pets import (
    OxfordPetsSource,
    load_oxford_pets,
    trimap_to_mask,
)
from segxai_jax.data.pipeline import batches, to_arrays
from segxai_jax.data.resize import resize_bilinear, resize_nearest

_TRIMAP = np.array(
    [
        [2, 2, 3, 3],
        [2, 3, 1, 1],
        [3, 1, 1, 1],
    ],
    dtype=np.uint8,
)


def test_trimap_border_counts_as_pet_by_default():
    expected = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1]], dtype=np.uint8)
    mask = trimap_to_mask(_TRIMAP)
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(trimap_to_mask(_TRIMAP[..., None]), expected)


def test_trimap_border_can_count_as_background():
    expected = np.array([[0, 0, 0, 0], [0, 0, 1, 1], [0, 1, 1, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(
        trimap_to_mask(_TRIMAP, border="background"), expected
    )


def test_trimap_errors_are_named():
    with pytest.raises(ValueError, match="border: expected one of"):
        trimap_to_mask(_TRIMAP, border="ignore")
    with pytest.raises(ValueError, match="trimap: expected shape"):
        trimap_to_mask(np.zeros((2, 3, 3)))


def test_mocked_dataset_is_adapted():
    image_size = 16
    with tfds.testing.mock_data(num_examples=5):
        source = load_oxford_pets(split="train", image_size=image_size, data_dir="x")
        raw = tfds.data_source("oxford_iiit_pet", split="train")
        assert len(source) == len(raw) == 5
        for index in range(len(source)):
            item = source[index]
            raw_item = raw[index]
            assert set(item) == {"image", "mask", "id"}
            assert item["image"].shape == (image_size, image_size, 3)
            assert item["image"].dtype == np.uint8
            assert item["mask"].shape == (image_size, image_size)
            assert item["mask"].dtype == np.uint8
            assert item["id"] == index
            expected_image = resize_bilinear(raw_item["image"], (image_size,) * 2)
            np.testing.assert_allclose(item["image"], expected_image, atol=0.5)
            expected_mask = resize_nearest(
                trimap_to_mask(raw_item["segmentation_mask"]), (image_size,) * 2
            )
            np.testing.assert_array_equal(item["mask"], expected_mask)


def test_mocked_dataset_feeds_the_pipeline():
    with tfds.testing.mock_data(num_examples=6):
        foreground = load_oxford_pets(split="test", image_size=12)
        background = load_oxford_pets(split="test", image_size=12, border="background")
        arrays = to_arrays(foreground, num_classes=2)
        assert arrays["image"].shape == (6, 12, 12, 3)
        assert arrays["mask"].dtype == np.int32
        np.testing.assert_array_equal(arrays["id"], np.arange(6))
        ids = [batch["id"] for batch in batches(foreground, batch_size=4, seed=0)]
        assert len(ids) == 1 and len(np.unique(ids[0])) == 4
        # Counting the border as background can only remove pet pixels.
        for index in range(6):
            assert np.all(background[index]["mask"] <= foreground[index]["mask"])
        assert background.__getitems__([1])[0]["id"] == 1


def test_source_indexing():
    with tfds.testing.mock_data(num_examples=3):
        source = load_oxford_pets(split="train", image_size=8)
        assert source[-1]["id"] == 2
        with pytest.raises(IndexError):
            source[3]
        assert "image_size=8" in repr(source)


def test_missing_dataset_explains_how_to_prepare_it(tmp_path):
    with pytest.raises(ValueError, match="not prepared") as error:
        load_oxford_pets(split="train", data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message
    assert "tfds build oxford_iiit_pet" in message
    assert "data_dir" in message


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"split": ""}, "split"),
        ({"split": None}, "split"),
        ({"image_size": 4}, "image_size"),
        ({"image_size": 64.0}, "image_size"),
        ({"border": "edge"}, "border"),
    ],
)
def test_bad_arguments_are_named(kwargs, argument, tmp_path):
    arguments = {"split": "train", "data_dir": tmp_path, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}: expected"):
        load_oxford_pets(**arguments)


def test_adapter_validates_its_arguments():
    with pytest.raises(ValueError, match="image_size"):
        OxfordPetsSource([], image_size=0)
    with pytest.raises(ValueError, match="border"):
        OxfordPetsSource([], border="edge")


def test_adapter_rejects_non_rgb_images():
    raw = [{"image": np.zeros((5, 5, 4), np.uint8), "segmentation_mask": _TRIMAP}]
    with pytest.raises(ValueError, match=r"image: expected shape \[H, W, 3\]"):
        OxfordPetsSource(raw, image_size=8)[0]
