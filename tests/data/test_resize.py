"""Tests of the numpy resizing helpers."""

from __future__ import annotations

import numpy as np
import pytest

from segxai_jax.data.resize import resize_bilinear, resize_nearest


def test_resizing_to_the_same_size_is_the_identity():
    image = np.random.default_rng(0).uniform(size=(5, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(resize_bilinear(image, (5, 7)), image, rtol=1e-6)
    labels = np.arange(35).reshape(5, 7)
    np.testing.assert_array_equal(resize_nearest(labels, (5, 7)), labels)


def test_bilinear_preserves_constants_and_bounds():
    constant = np.full((3, 4), 0.25, dtype=np.float32)
    np.testing.assert_allclose(resize_bilinear(constant, (9, 2)), 0.25)
    image = np.random.default_rng(1).uniform(size=(8, 8))
    resized = resize_bilinear(image, (21, 13))
    assert resized.shape == (21, 13) and resized.dtype == np.float32
    assert image.min() <= resized.min() and resized.max() <= image.max()


def test_bilinear_uses_half_pixel_centres():
    ramp = np.array([[0.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(resize_bilinear(ramp, (1, 4)), [[0.0, 0.25, 0.75, 1.0]])


def test_antialiasing_averages_fine_detail_when_shrinking():
    checkerboard = (np.indices((63, 63)).sum(axis=0) % 2).astype(np.float32)
    # 7x7 blocks of a one-pixel checkerboard average to 24/49 or 25/49.
    np.testing.assert_allclose(resize_bilinear(checkerboard, (9, 9)), 0.5, atol=0.02)
    # Without antialiasing each output pixel samples a single input pixel.
    aliased = resize_bilinear(checkerboard, (9, 9), antialias=False)
    np.testing.assert_array_equal(np.unique(aliased), [0.0, 1.0])


def test_nearest_keeps_labels_and_dtype():
    labels = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    resized = resize_nearest(labels, (4, 6))
    assert resized.dtype == np.uint8
    np.testing.assert_array_equal(np.unique(resized), [0, 1, 2, 3])
    np.testing.assert_array_equal(resized[:2, :3], 0)
    np.testing.assert_array_equal(resized[2:, 3:], 3)


@pytest.mark.parametrize("resize", [resize_bilinear, resize_nearest])
def test_bad_arguments_are_named(resize):
    with pytest.raises(ValueError, match="size"):
        resize(np.zeros((2, 2)), (0, 3))
    with pytest.raises(ValueError, match="image"):
        resize(np.zeros(4), (2, 2))
