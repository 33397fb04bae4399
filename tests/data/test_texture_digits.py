"""Tests of the numpy TextureDigits generator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from segxai_jax.data import texture_digits
from segxai_jax.data.texture_digits import (
    CONFIGS,
    NUM_CLASSES,
    SPLITS,
    TextureDigitsConfig,
    generate_example,
    generate_split,
    render_example,
    source_digit_pool,
)
from segxai_jax.data.textures import NUM_TEXTURE_FAMILIES, luminance

TINY = CONFIGS["tiny"]


def test_named_configs():
    assert set(CONFIGS) == {"default", "context_bias", "tiny"}
    default = CONFIGS["default"]
    assert (default.image_size, default.num_train) == (64, 8000)
    assert (default.num_validation, default.num_test) == (500, 500)
    assert (default.min_digits, default.max_digits) == (1, 3)
    assert default.context_bias == 0.0
    assert default.digit_size_range == (20, 36)
    biased = CONFIGS["context_bias"]
    assert (biased.min_digits, biased.max_digits) == (1, 1)
    assert biased.context_bias == 0.9
    assert (biased.num_train, biased.num_validation, biased.num_test) == (
        8000,
        500,
        500,
    )
    assert (TINY.image_size, TINY.num_train, TINY.num_validation) == (32, 64, 16)
    assert (TINY.num_test, TINY.min_digits, TINY.max_digits) == (16, 1, 2)
    assert TINY.digit_size_range == (10, 18)


def test_digit_sizes_scale_with_image_size_unless_given():
    assert TextureDigitsConfig(name="x", image_size=128).digit_size_range == (40, 72)
    assert TextureDigitsConfig(name="x", image_size=16).digit_size_range == (8, 9)
    explicit = TextureDigitsConfig(name="x", min_digit_size=12, max_digit_size=14)
    assert explicit.digit_size_range == (12, 14)
    assert TextureDigitsConfig(name="x", min_digit_size=40).digit_size_range == (40, 40)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("image_size", 8),
        ("image_size", 64.0),
        ("num_train", 0),
        ("num_validation", -1),
        ("num_test", True),
        ("min_digits", 0),
        ("max_digits", 0),
        ("min_digit_size", 4),
        ("max_digit_size", 65),
        ("context_bias", 1.5),
        ("context_bias", -0.1),
        ("context_bias", "high"),
        ("seed", -1),
    ],
)
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TextureDigitsConfig(**{"name": "x", field: value})


def test_config_rejects_inconsistent_bounds():
    with pytest.raises(ValueError, match="max_digits"):
        TextureDigitsConfig(name="x", min_digits=3, max_digits=2)
    with pytest.raises(ValueError, match="min_digit_size"):
        TextureDigitsConfig(name="x", min_digit_size=30, max_digit_size=20)


def test_unknown_config_split_or_index_is_rejected():
    with pytest.raises(ValueError, match="config.*tiny"):
        generate_example("huge", "train", 0)
    with pytest.raises(ValueError, match="split"):
        generate_example("tiny", "dev", 0)
    with pytest.raises(ValueError, match="index"):
        generate_example("tiny", "test", TINY.num_test)


def test_example_fields_and_value_ranges(tiny_train):
    size = TINY.image_size
    assert tiny_train["image"].shape == (TINY.num_train, size, size, 3)
    assert tiny_train["image"].dtype == np.uint8
    assert tiny_train["mask"].shape == (TINY.num_train, size, size)
    assert tiny_train["mask"].dtype == np.uint8
    assert tiny_train["mask"].max() < NUM_CLASSES
    np.testing.assert_array_equal(tiny_train["id"], np.arange(TINY.num_train))
    assert tiny_train["family"].dtype == np.int64
    assert 0 <= tiny_train["family"].min() <= tiny_train["family"].max() < 10
    # Every image has at least one visible digit.
    assert np.all(tiny_train["mask"].reshape(TINY.num_train, -1).max(axis=1) > 0)


def test_all_eleven_classes_occur():
    classes = np.unique(generate_split(CONFIGS["tiny"], "train")["mask"])
    np.testing.assert_array_equal(classes, np.arange(NUM_CLASSES))


def test_same_config_gives_identical_arrays(tiny_train):
    again = generate_split("tiny", "train")
    for name in tiny_train:
        np.testing.assert_array_equal(tiny_train[name], again[name])


def test_different_seed_gives_different_arrays(tiny_train):
    reseeded = generate_split(dataclasses.replace(TINY, seed=1), "train")
    assert not np.array_equal(tiny_train["image"], reseeded["image"])
    assert not np.array_equal(tiny_train["mask"], reseeded["mask"])


def test_generation_order_does_not_matter(tiny_train):
    for index in reversed(range(0, TINY.num_train, 7)):
        example = generate_example(TINY, "train", index)
        np.testing.assert_array_equal(example["image"], tiny_train["image"][index])
        np.testing.assert_array_equal(example["mask"], tiny_train["mask"][index])
        assert example["family"] == tiny_train["family"][index]


def test_splits_differ():
    train = generate_example(TINY, "train", 0)
    test = generate_example(TINY, "test", 0)
    assert not np.array_equal(train["image"], test["image"])


def test_masks_match_the_pasted_digits():
    for split in SPLITS:
        for index in range(TINY.num_examples(split)):
            example = render_example(TINY, split, index)
            assert 1 <= len(example.digits) <= TINY.max_digits
            covered = np.zeros_like(example.mask, dtype=bool)
            allowed = np.zeros((*example.mask.shape, NUM_CLASSES), dtype=bool)
            allowed[..., 0] = True
            for digit in example.digits:
                assert TINY.digit_size_range[0] <= digit.size
                assert digit.size <= TINY.digit_size_range[1]
                window = np.s_[
                    digit.top : digit.top + digit.size,
                    digit.left : digit.left + digit.size,
                ]
                covered[window] = True
                allowed[window + (digit.label + 1,)] = True
            # Digit classes appear only inside the squares of digits with that label.
            assert np.all(example.mask[~covered] == 0)
            assert np.all(np.take_along_axis(allowed, example.mask[..., None], -1))
            # The last digit is painted on top, so its class is always visible.
            assert np.any(example.mask == example.digits[-1].label + 1)


def test_digits_contrast_with_their_background():
    # One digit per image so that each mask class is a single digit.
    config = dataclasses.replace(TINY, max_digits=1)
    for index in range(config.num_train):
        example = render_example(config, "train", index)
        digit = example.digits[0]
        window = np.s_[
            digit.top : digit.top + digit.size, digit.left : digit.left + digit.size
        ]
        brightness = luminance(example.image[window] / 255.0)
        on_digit = example.mask[window] > 0
        # Pixels next to the digit hold its soft edge; compare with the rest.
        near_digit = on_digit.copy()
        near_digit[1:] |= on_digit[:-1]
        near_digit[:-1] |= on_digit[1:]
        near_digit[:, 1:] |= on_digit[:, :-1]
        near_digit[:, :-1] |= on_digit[:, 1:]
        contrast = abs(brightness[on_digit].mean() - brightness[~near_digit].mean())
        # Generated with a contrast >= 0.35 to the mean of the digit's square;
        # semi-transparent mask pixels and texture variation reduce the measure.
        assert contrast >= 0.2, (index, contrast)


def test_source_digit_pools_are_disjoint_and_cover_all_digits():
    pools = {split: source_digit_pool(split) for split in SPLITS}
    all_indices = np.concatenate(list(pools.values()))
    assert len(all_indices) == len(np.unique(all_indices)) == 1797
    assert np.array_equal(np.sort(all_indices), np.arange(1797))
    assert len(pools["train"]) == round(0.6 * 1797)
    assert abs(len(pools["validation"]) - len(pools["test"])) <= 1
    assert not pools["train"].flags.writeable
    with pytest.raises(ValueError, match="split"):
        source_digit_pool("dev")


def test_each_split_pastes_only_digits_of_its_pool():
    for config in (TINY, dataclasses.replace(TINY, seed=3)):
        for split in SPLITS:
            pool = set(source_digit_pool(split).tolist())
            for index in range(config.num_examples(split)):
                for digit in render_example(config, split, index).digits:
                    assert digit.source_index in pool


def test_context_bias_ties_the_family_to_the_digit():
    # With bias 0.9 the family equals the digit with probability
    # 0.9 + 0.1 / 10 = 0.91; over 400 images the standard error is 0.014, so
    # the tolerance of 0.05 is more than three standard errors.
    num_examples = 400
    biased = dataclasses.replace(CONFIGS["context_bias"], num_train=num_examples)
    unbiased = dataclasses.replace(biased, context_bias=0.0)
    for config, expected in ((biased, 0.91), (unbiased, 1 / NUM_TEXTURE_FAMILIES)):
        matches = []
        for index in range(num_examples):
            example = render_example(config, "train", index)
            assert len(example.digits) == 1
            matches.append(example.family == example.digits[0].label)
        assert abs(np.mean(matches) - expected) < 0.05


def test_unbiased_families_are_roughly_uniform():
    families = generate_split(dataclasses.replace(TINY, num_train=300), "train")[
        "family"
    ]
    counts = np.bincount(families, minlength=NUM_TEXTURE_FAMILIES)
    assert counts.min() >= 10  # expected 30 each


def test_source_digits_are_the_scikit_learn_digits():
    images, labels = texture_digits._source_digits()
    assert images.shape == (1797, 8, 8)
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(labels) > 170, True)
