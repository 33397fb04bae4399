"""Segmentation scores against hand-computed values."""

import jax
import numpy as np
import pytest

from segxai_jax.metrics import confusion_matrix, segmentation_scores


def test_confusion_matrix_matches_numpy_and_ignores_out_of_range():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(3, 5, 7))
    labels[0, 0, :3] = 255  # ignored
    predictions = rng.integers(0, 4, size=(3, 5, 7))
    expected = np.zeros((4, 4), np.int64)
    for t, p in zip(labels.ravel(), predictions.ravel(), strict=True):
        if t < 4:
            expected[t, p] += 1
    got = jax.jit(confusion_matrix, static_argnums=2)(predictions, labels, 4)
    np.testing.assert_array_equal(got, expected)


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
