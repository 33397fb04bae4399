"""Tests of the procedural background textures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from segxai_jax.data.textures import (
    NUM_TEXTURE_FAMILIES,
    TEXTURE_FAMILY_NAMES,
    luminance,
    texture,
)


def test_family_names_cover_every_family():
    assert NUM_TEXTURE_FAMILIES == 10
    assert len(TEXTURE_FAMILY_NAMES) == NUM_TEXTURE_FAMILIES
    assert len(set(TEXTURE_FAMILY_NAMES)) == NUM_TEXTURE_FAMILIES


@pytest.mark.parametrize("family", range(NUM_TEXTURE_FAMILIES))
@pytest.mark.parametrize("size", [8, 32, 64])
def test_texture_shape_dtype_and_range(family, size):
    image = texture(np.random.default_rng(family), family, size)
    assert image.shape == (size, size, 3)
    assert image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0


@pytest.mark.parametrize("family", range(NUM_TEXTURE_FAMILIES))
def test_texture_is_a_function_of_the_rng_state(family):
    first = texture(np.random.default_rng(7), family, 32)
    second = texture(np.random.default_rng(7), family, 32)
    other = texture(np.random.default_rng(8), family, 32)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("family", range(NUM_TEXTURE_FAMILIES))
def test_texture_pattern_is_visible_in_a_narrow_luminance_band(family):
    rng = np.random.default_rng(family)
    for _ in range(10):
        brightness = luminance(texture(rng, family, 32))
        # Two colours 0.15..0.35 apart in luminance, plus light noise.
        spread = np.percentile(brightness, 99) - np.percentile(brightness, 1)
        assert 0.08 < spread < 0.5


def _power_spectrum_features(image: np.ndarray) -> np.ndarray:
    """Grey-scale power in (radius, orientation) bins: colour- and shift-blind."""
    size = image.shape[0]
    grey = luminance(image)
    grey = (grey - grey.mean()) / (grey.std() + 1e-6)
    power = np.abs(np.fft.rfft2(grey)) ** 2
    freq_y = np.fft.fftfreq(size)[:, None]
    freq_x = np.fft.rfftfreq(size)[None, :]
    radius_bin = np.minimum((np.hypot(freq_y, freq_x) * size / 2).astype(int), 7)
    angle = np.arctan2(freq_y, freq_x) % np.pi
    angle_bin = (angle / np.pi * 8).astype(int) % 8
    bins = (radius_bin * 8 + angle_bin).ravel()
    return np.log1p(np.bincount(bins, weights=power.ravel(), minlength=64))


def test_families_are_recognisable():
    # A linear classifier on colour-blind spectral features must tell the
    # families apart on held-out textures; chance level is 0.1.
    def sample(seed: int, per_family: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        features, families = [], []
        for family in range(NUM_TEXTURE_FAMILIES):
            for _ in range(per_family):
                features.append(_power_spectrum_features(texture(rng, family, 32)))
                families.append(family)
        return np.stack(features), np.array(families)

    train_features, train_families = sample(0, 40)
    test_features, test_families = sample(1, 20)
    classifier = LinearDiscriminantAnalysis().fit(train_features, train_families)
    accuracy = np.mean(classifier.predict(test_features) == test_families)
    assert accuracy >= 0.85


@pytest.mark.parametrize("family", [-1, 10, 2.0, True, "0"])
def test_bad_family_is_rejected(family):
    with pytest.raises(ValueError, match="family"):
        texture(np.random.default_rng(0), family, 32)


@pytest.mark.parametrize("size", [0, 7, 32.0, False])
def test_bad_size_is_rejected(size):
    with pytest.raises(ValueError, match="size"):
        texture(np.random.default_rng(0), 0, size)
