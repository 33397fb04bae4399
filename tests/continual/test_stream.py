"""Class-incremental stream: task split, labelling, evaluation masks."""

import numpy as np
import pytest

from segxai_jax.continual import stream


def _data():
    # image i holds class i + 1 in its top row and class 5 in image 0's corner
    masks = np.zeros((4, 4, 4), np.int32)
    for i in range(4):
        masks[i, 0] = i + 1
    masks[0, 3, 3] = 3
    return {
        "image": np.arange(4 * 4 * 4 * 3, dtype=np.float32).reshape(4, 4, 4, 3),
        "mask": masks,
    }


def test_split_classes_and_errors():
    assert stream.split_classes(5, classes_per_task=2) == ((1, 2), (3, 4))
    with pytest.raises(ValueError, match="classes_per_task"):
        stream.split_classes(5, classes_per_task=3)
    with pytest.raises(ValueError, match="task 1 has no classes"):
        stream.check_tasks(((1,), ()), 5)
    with pytest.raises(ValueError, match="background"):
        stream.check_tasks(((0, 1),), 5)
    with pytest.raises(ValueError, match="more than one task"):
        stream.check_tasks(((1, 2), (2,)), 5)


def test_current_labelling_keeps_only_the_task_classes():
    data, tasks = _data(), ((1, 2), (3, 4))
    second = stream.task_data(data, tasks, 1, num_classes=5)
    # images 2, 3 hold classes 3, 4; image 0 holds one pixel of class 3
    np.testing.assert_array_equal(second["index"], [0, 2, 3])
    assert set(np.unique(second["mask"][0])) == {0, 3}  # class 1 -> background
    seen = stream.task_data(data, tasks, 1, num_classes=5, labelling="seen")
    assert set(np.unique(seen["mask"][0])) == {0, 1, 3}
    first = stream.task_data(data, tasks, 0, num_classes=5)
    assert set(np.unique(first["mask"][0])) == {0, 1}  # future class 3 hidden


def test_task_without_images_and_bad_labelling_raise():
    data = _data()
    with pytest.raises(ValueError, match="no training image"):
        stream.task_data(data, ((1,), (6,)), 1, num_classes=7)
    with pytest.raises(ValueError, match="labelling"):
        stream.task_data(data, ((1,),), 0, num_classes=5, labelling="all")


def test_evaluation_masks_ignore_unseen_classes():
    masks = _data()["mask"]
    out = stream.evaluation_masks(masks, ((1, 2), (3, 4)), 0)
    assert set(np.unique(out)) == {0, 1, 2, stream.IGNORE_LABEL}
    assert stream.seen_classes(((1, 2), (3, 4)), 1) == (0, 1, 2, 3, 4)
