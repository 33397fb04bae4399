"""Fractional mask labels are refused by name, never truncated to ints."""

import numpy as np
import pytest

from segxai_jax.continual import evaluation_masks, task_data
from segxai_jax.data import ArraySource, batches, to_arrays
from segxai_jax.validation import as_integer_labels


def _source(mask):
    images = np.zeros((2, 4, 4, 3), np.uint8)
    return ArraySource({"image": images, "mask": mask})


def test_as_integer_labels():
    np.testing.assert_array_equal(as_integer_labels(np.array([0.0, 2.0]), "m"), [0, 2])
    assert as_integer_labels(np.array([1, 0], np.uint8), "m").dtype == np.int32
    for bad in (1.5, np.nan, np.inf):
        with pytest.raises(ValueError, match="m: expected integer class labels"):
            as_integer_labels(np.array([0.0, bad]), "m")
    with pytest.raises(TypeError, match="m: expected integer class labels"):
        as_integer_labels(np.array(["a"]), "m")


def test_pipeline_refuses_fractional_masks():
    mask = np.zeros((2, 4, 4), np.float32)
    mask[0, 0, 0] = 1.5
    with pytest.raises(ValueError, match=r"source mask: .* 1\.5"):
        to_arrays(_source(mask), num_classes=3)
    with pytest.raises(ValueError, match=r"source mask: .* 1\.5"):
        next(iter(batches(_source(mask), batch_size=2, seed=0)))
    whole = np.ones((2, 4, 4), np.float32)
    assert to_arrays(_source(whole), num_classes=3)["mask"].dtype == np.int32


def test_continual_refuses_fractional_masks():
    data = {
        "image": np.zeros((2, 4, 4, 3), np.float32),
        "mask": np.full((2, 4, 4), 1.5),
    }
    with pytest.raises(ValueError, match=r"data\['mask'\]: .* 1\.5"):
        task_data(data, [(1,), (2,)], 0, num_classes=3)
    with pytest.raises(ValueError, match=r"masks: .* 1\.5"):
        evaluation_masks(np.full((1, 4, 4), 1.5), [(1,), (2,)], 0)
