"""Segmentation scores against hand-computed values."""

import functools

import jax
import numpy as np
import pytest

from segxai_jax.metrics import confusion_matrix, segmentation_scores


def test_confusion_matrix_matches_numpy_and_skips_the_ignore_label():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(3, 5, 7))
    labels[0, 0, :3] = 255  # ignored
    predictions = rng.integers(0, 4, size=(3, 5, 7))
    expected = np.zeros((4, 4), np.int64)
    for t, p in zip(labels.ravel(), predictions.ravel(), strict=True):
        if t < 4:
            expected[t, p] += 1
    count = jax.jit(
        functools.partial(confusion_matrix, num_classes=4, ignore_label=255)
    )
    np.testing.assert_array_equal(count(predictions, labels), expected)
    eager = confusion_matrix(predictions, labels, 4, ignore_label=255)
    np.testing.assert_array_equal(eager, expected)


def test_out_of_range_classes_raise_eagerly_and_poison_under_jit():
    labels = np.array([[0, 1], [2, 1]])
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix(np.zeros_like(labels), np.where(labels == 2, 9, labels), 3)
    with pytest.raises(ValueError, match="predictions"):
        confusion_matrix(np.full_like(labels, 3), labels, 3)
    # Under jit the values are unknown: every count becomes -1, and the scores
    # refuse such a matrix instead of returning a plausible mIoU.
    count = jax.jit(confusion_matrix, static_argnums=2)
    poisoned = np.asarray(count(np.full_like(labels, 3), labels, 3))
    np.testing.assert_array_equal(poisoned, -1)
    with pytest.raises(ValueError, match="confusion"):
        segmentation_scores(poisoned)
    wrong_label = np.asarray(
        count(np.zeros_like(labels), np.where(labels == 2, 9, labels), 3)
    )
    np.testing.assert_array_equal(wrong_label, -1)


def test_scores_by_hand():
    # rows = labels, columns = predictions
    cm = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    scores = segmentation_scores(cm)
    assert scores["pixel_accuracy"] == pytest.approx(8 / 11)
    assert scores["iou"][0] == pytest.approx(5 / 8)
    assert scores["iou"][1] == pytest.approx(3 / 6)
    assert np.isnan(scores["iou"][2])  # absent class: left out of the mean
    assert scores["miou"] == pytest.approx((5 / 8 + 3 / 6) / 2)
    assert scores["dice"][0] == pytest.approx(10 / 13)
    assert scores["mean_dice"] == pytest.approx((10 / 13 + 6 / 9) / 2)
