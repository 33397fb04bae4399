"""Tests of the input pipeline: sources, batching, validation and specs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.data import pipeline
from segxai_jax.data.checks import validate_batch, validate_images, validate_masks
from segxai_jax.data.pipeline import (
    ArraySource,
    DatasetSpec,
    batches,
    dataset_spec,
    to_arrays,
)
from segxai_jax.data.texture_digits import CONFIGS, TextureDigitsConfig


def _toy_arrays(num_examples: int = 10, size: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "image": rng.integers(0, 256, (num_examples, size, size, 3), dtype=np.uint8),
        "mask": rng.integers(0, 3, (num_examples, size, size), dtype=np.uint8),
        "id": np.arange(100, 100 + num_examples, dtype=np.int64),
    }


# ArraySource


def test_array_source_behaves_like_a_data_source():
    arrays = _toy_arrays()
    source = ArraySource(arrays)
    assert len(source) == 10
    item = source[3]
    assert set(item) == {"image", "mask", "id"}
    np.testing.assert_array_equal(item["image"], arrays["image"][3])
    assert source[-1]["id"] == 109
    items = source.__getitems__([2, 5])
    assert [item["id"] for item in items] == [102, 105]
    assert "ArraySource(" in repr(source)


def test_array_source_rejects_bad_arrays_and_indices():
    with pytest.raises(ValueError, match="arrays"):
        ArraySource({})
    with pytest.raises(ValueError, match="arrays"):
        ArraySource({"image": np.zeros((3, 2, 2, 3)), "mask": np.zeros((2, 2, 2))})
    source = ArraySource(_toy_arrays())
    with pytest.raises(IndexError):
        source[10]
    with pytest.raises(IndexError):
        source[-11]


# to_arrays


def test_to_arrays_converts_and_stacks(tiny_train):
    source = ArraySource(tiny_train)
    arrays = to_arrays(source, num_classes=11)
    assert arrays["image"].dtype == np.float32
    assert arrays["mask"].dtype == np.int32
    np.testing.assert_array_equal(
        arrays["image"], tiny_train["image"] / np.float32(255)
    )
    np.testing.assert_array_equal(arrays["mask"], tiny_train["mask"])
    np.testing.assert_array_equal(arrays["family"], tiny_train["family"])
    np.testing.assert_array_equal(arrays["id"], tiny_train["id"])


def test_to_arrays_reads_in_chunks(monkeypatch):
    monkeypatch.setattr(pipeline, "_READ_CHUNK_SIZE", 3)
    arrays = _toy_arrays()
    np.testing.assert_array_equal(to_arrays(ArraySource(arrays))["id"], arrays["id"])


def test_to_arrays_works_without_getitems():
    arrays = _toy_arrays()

    class ItemOnly:
        def __len__(self):
            return 10

        def __getitem__(self, index):
            return {name: array[index] for name, array in arrays.items()}

    np.testing.assert_array_equal(to_arrays(ItemOnly())["mask"], arrays["mask"])


def test_to_arrays_checks_the_classes():
    with pytest.raises(
        ValueError, match=r"batch\['mask'\]: expected values in \[0, 2\)"
    ):
        to_arrays(ArraySource(_toy_arrays()), num_classes=2)


def test_to_arrays_rejects_sources_without_masks():
    arrays = _toy_arrays()
    del arrays["mask"]
    with pytest.raises(ValueError, match="source: expected fields 'image' and 'mask'"):
        to_arrays(ArraySource(arrays))


# batches


def _epoch_ids(source, **kwargs) -> list[np.ndarray]:
    return [batch["id"] for batch in batches(source, **kwargs)]


def test_batches_have_the_documented_structure():
    source = ArraySource(_toy_arrays())
    batch = next(batches(source, batch_size=4, seed=0))
    assert set(batch) == {"image", "mask", "id"}
    assert batch["image"].shape == (4, 4, 4, 3)
    assert batch["image"].dtype == np.float32
    assert 0.0 <= batch["image"].min() and batch["image"].max() <= 1.0
    assert batch["mask"].shape == (4, 4, 4)
    assert batch["mask"].dtype == np.int32
    assert batch["id"].dtype == np.int64


def test_batches_are_a_function_of_seed_and_epoch():
    source = ArraySource(_toy_arrays(num_examples=40))
    first = _epoch_ids(source, batch_size=8, seed=3, epoch=5)
    # A fresh iterator for the same epoch, as after resuming a run.
    resumed = _epoch_ids(source, batch_size=8, seed=3, epoch=5)
    np.testing.assert_array_equal(first, resumed)
    next_epoch = _epoch_ids(source, batch_size=8, seed=3, epoch=6)
    other_seed = _epoch_ids(source, batch_size=8, seed=4, epoch=5)
    assert not np.array_equal(first, next_epoch)
    assert not np.array_equal(first, other_seed)
    order = np.random.default_rng([3, 5]).permutation(40)
    np.testing.assert_array_equal(np.concatenate(first), order + 100)


def test_an_epoch_covers_every_example_once_without_drop_remainder():
    source = ArraySource(_toy_arrays(num_examples=10))
    ids = _epoch_ids(source, batch_size=4, seed=1, drop_remainder=False)
    assert [len(batch_ids) for batch_ids in ids] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(ids)), np.arange(100, 110))


def test_drop_remainder_keeps_full_batches_only():
    source = ArraySource(_toy_arrays(num_examples=10))
    ids = _epoch_ids(source, batch_size=4, seed=1)
    assert [len(batch_ids) for batch_ids in ids] == [4, 4]
    assert len(np.unique(np.concatenate(ids))) == 8


def test_unshuffled_batches_follow_source_order():
    source = ArraySource(_toy_arrays(num_examples=6))
    ids = _epoch_ids(source, batch_size=3, seed=0, shuffle=False)
    np.testing.assert_array_equal(np.concatenate(ids), np.arange(100, 106))


def test_dict_of_arrays_gives_the_same_batches_as_a_source():
    raw = _toy_arrays(num_examples=12)
    from_source = list(batches(ArraySource(raw), batch_size=5, seed=9, epoch=2))
    from_arrays = list(
        batches(to_arrays(ArraySource(raw)), batch_size=5, seed=9, epoch=2)
    )
    assert len(from_source) == len(from_arrays) == 2
    for source_batch, array_batch in zip(from_source, from_arrays, strict=True):
        for name in ("image", "mask", "id"):
            np.testing.assert_array_equal(source_batch[name], array_batch[name])
            assert source_batch[name].dtype == array_batch[name].dtype


def test_missing_ids_default_to_positions():
    arrays = _toy_arrays(num_examples=6)
    del arrays["id"]
    ids = _epoch_ids(arrays, batch_size=6, seed=0, shuffle=False)
    np.testing.assert_array_equal(ids[0], np.arange(6))


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"batch_size": 11}, "batch_size"),
        ({"seed": -1}, "seed"),
        ({"seed": None}, "seed"),
        ({"epoch": -1}, "epoch"),
    ],
)
def test_bad_batching_arguments_are_named(kwargs, argument):
    arguments = {"batch_size": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}: expected"):
        batches(ArraySource(_toy_arrays()), **arguments)  # checked at the call


def test_a_large_batch_is_fine_without_drop_remainder():
    source = ArraySource(_toy_arrays())
    ids = _epoch_ids(source, batch_size=11, seed=0, drop_remainder=False)
    assert [len(batch_ids) for batch_ids in ids] == [10]


def test_bad_sources_are_rejected():
    with pytest.raises(ValueError, match="source: expected at least one example"):
        next(
            batches(
                ArraySource({"image": np.zeros((0, 2, 2, 3))}), batch_size=1, seed=0
            )
        )
    arrays = _toy_arrays()
    arrays["mask"] = arrays["mask"][:5]
    with pytest.raises(ValueError, match="source: expected all arrays to have 10"):
        next(batches(arrays, batch_size=2, seed=0))
    with pytest.raises(ValueError, match="source: expected fields 'image' and 'mask'"):
        next(batches({"train": ArraySource(_toy_arrays())}, batch_size=2, seed=0))


def test_bad_image_dtype_in_a_source_is_named():
    arrays = _toy_arrays()
    arrays["image"] = arrays["image"].astype(np.int32)
    with pytest.raises(ValueError, match="image: expected dtype uint8"):
        next(batches(arrays, batch_size=2, seed=0))


# validation


def test_valid_images_and_batches_pass():
    images = np.full((2, 4, 4, 3), 0.5, dtype=np.float32)
    validate_images(images)
    validate_images(images[0], allow_unbatched=True)
    validate_images(jnp.asarray(images, dtype=jnp.bfloat16))
    validate_batch(
        {"image": images, "mask": np.zeros((2, 4, 4), np.int32)}, num_classes=1
    )


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), r"images: expected rank 4"),
        (np.zeros((1, 4, 4, 3, 1), np.float32), r"images: expected rank 4"),
        (np.zeros((1, 4, 4, 1), np.float32), r"images: expected 3 channels"),
        (
            np.zeros((1, 4, 4, 3), np.uint8),
            r"images: expected a floating dtype, got uint8",
        ),
        (np.full((1, 4, 4, 3), np.nan, np.float32), r"images: expected finite values"),
        (np.full((1, 4, 4, 3), np.inf, np.float32), r"images: expected finite values"),
    ],
)
def test_bad_images_are_named(images, message):
    with pytest.raises(ValueError, match=message):
        validate_images(images)


def test_out_of_range_images_report_min_and_max():
    images = np.full((1, 2, 2, 3), 0.5, dtype=np.float32)
    images[0, 0, 0, 0] = -0.2
    images[0, 1, 1, 2] = 1.3
    expected = "images: expected values in [0, 1], got min -0.2 max 1.3"
    with pytest.raises(
        ValueError, match=expected.replace("[", r"\[").replace("]", r"\]")
    ):
        validate_images(images)


def test_validation_uses_the_given_name():
    with pytest.raises(ValueError, match="^saliency_input: expected rank 3 or 4"):
        validate_images(np.zeros((4, 3)), name="saliency_input", allow_unbatched=True)


def test_traced_images_are_checked_for_shape_but_not_values():
    @jax.jit
    def checked(images):
        validate_images(images)
        return images * 2.0

    checked(jnp.full((1, 2, 2, 3), 7.0))  # values are unknown while tracing

    @jax.jit
    def bad_shape(images):
        validate_images(images)
        return images

    with pytest.raises(ValueError, match="images: expected 3 channels"):
        bad_shape(jnp.zeros((1, 2, 2, 4)))


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (
            np.zeros((2, 4, 4), np.float32),
            r"batch\['mask'\]: expected an integer dtype",
        ),
        (np.zeros((2, 4, 5), np.int32), r"batch\['mask'\]: expected shape \(2, 4, 4\)"),
        (np.zeros((2, 4, 4, 1), np.int32), r"batch\['mask'\]: expected rank 3"),
        (
            np.full((2, 4, 4), 3, np.int32),
            r"batch\['mask'\]: expected values in \[0, 3\)",
        ),
        (
            np.full((2, 4, 4), -1, np.int32),
            r"batch\['mask'\]: expected values in \[0, 3\)",
        ),
    ],
)
def test_bad_masks_are_named(mask, message):
    images = np.zeros((2, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match=message):
        validate_batch({"image": images, "mask": mask}, num_classes=3)


def test_bad_batches_are_named():
    images = np.zeros((2, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="batch: expected a mapping"):
        validate_batch(images)
    with pytest.raises(ValueError, match="batch: expected fields 'image' and 'mask'"):
        validate_batch({"image": images})
    with pytest.raises(ValueError, match=r"batch\['image'\]: expected values in"):
        validate_batch({"image": images + 2.0, "mask": np.zeros((2, 4, 4), np.int32)})
    with pytest.raises(ValueError, match="masks: expected non-negative"):
        validate_masks(np.full((1, 2, 2), -1))
    with pytest.raises(ValueError, match="num_classes"):
        validate_masks(np.zeros((1, 2, 2), np.int32), num_classes=0)


# dataset specs


def test_texture_digits_spec():
    spec = dataset_spec("texture_digits")
    assert spec == DatasetSpec(
        name="texture_digits",
        num_classes=11,
        class_names=("background", *map(str, range(10))),
        image_size=64,
    )
    assert dataset_spec("texture_digits", "tiny").image_size == 32
    custom = TextureDigitsConfig(name="big", image_size=96)
    assert dataset_spec("texture_digits", custom).image_size == 96
    assert dataset_spec("texture_digits", CONFIGS["context_bias"]).num_classes == 11


def test_oxford_pets_spec():
    spec = dataset_spec("oxford_iiit_pet")
    assert (spec.num_classes, spec.class_names, spec.image_size) == (
        2,
        ("background", "pet"),
        128,
    )
    assert dataset_spec("oxford_iiit_pet", image_size=64).image_size == 64


def test_bad_spec_requests_are_named():
    with pytest.raises(
        ValueError, match=r"name: .*'texture_digits', 'nuclei', 'oxford_iiit_pet'"
    ):
        dataset_spec("mnist")
    with pytest.raises(ValueError, match="config: .*default"):
        dataset_spec("texture_digits", "huge")
    with pytest.raises(ValueError, match="image_size"):
        dataset_spec("texture_digits", image_size=32)
    with pytest.raises(ValueError, match="config"):
        dataset_spec("oxford_iiit_pet", "default")
    with pytest.raises(ValueError, match="image_size"):
        dataset_spec("oxford_iiit_pet", image_size=0)
