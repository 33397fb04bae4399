"""Tests of targets (what is explained) and the ROI builders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from segxai_jax.targets import (
    Target,
    box_roi,
    class_targets,
    ground_truth_roi,
    largest_component_roi,
    make_target,
    pixel_roi,
    predicted_class_roi,
    target_score,
    validate_target,
)


def scipy_largest_component(binary):
    """Largest 4-connected component; ties go to the one with the highest pixel."""
    labels, count = ndimage.label(binary)  # default structure: 4-connectivity
    if count == 0:
        return np.zeros(binary.shape, np.float32)
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=count + 1)[1:]
    candidates = np.flatnonzero(sizes == sizes.max()) + 1
    highest = [np.flatnonzero(flat == c).max() for c in candidates]
    best = candidates[int(np.argmax(highest))]
    return (labels == best).astype(np.float32)


@pytest.fixture(scope="module")
def random_masks():
    rng = np.random.default_rng(0)
    masks = [rng.random((12, 14)) < p for p in (0.2, 0.35, 0.5, 0.6, 0.8)]
    masks += [np.zeros((12, 14), bool), np.ones((12, 14), bool)]
    ties = np.zeros((12, 14), bool)
    ties[1:3, 1:3] = ties[8:10, 9:11] = True  # two components of 4 pixels
    spiral = np.zeros((12, 14), bool)
    spiral[1, 1:13] = spiral[1:11, 12] = spiral[10, 2:13] = spiral[3:11, 2] = True
    return [*masks, ties, spiral]


def test_largest_component_matches_scipy(random_masks):
    jitted = jax.jit(largest_component_roi)
    for mask in random_masks:
        expected = scipy_largest_component(mask)
        got_jit = jitted(jnp.asarray(mask, jnp.float32))
        np.testing.assert_array_equal(np.asarray(got_jit), expected)
    for mask in random_masks[:2]:
        eager = largest_component_roi(jnp.asarray(mask, jnp.float32))
        np.testing.assert_array_equal(np.asarray(eager), scipy_largest_component(mask))


def test_box_and_pixel_rois():
    box = np.asarray(box_roi((5, 6), 1, 2, 3, 2))
    expected = np.zeros((5, 6), np.float32)
    expected[1:4, 2:4] = 1.0
    np.testing.assert_array_equal(box, expected)
    clipped = np.asarray(box_roi((5, 6), 3, 4, 10, 10))  # runs off the border
    assert clipped.sum() == 2 * 2 and clipped[3:, 4:].all()
    pixel = np.asarray(pixel_roi((5, 6), 2, 5))
    assert pixel.sum() == 1 and pixel[2, 5] == 1
    traced = jax.jit(lambda r, c: pixel_roi((5, 6), r, c))(2, 5)
    np.testing.assert_array_equal(np.asarray(traced), pixel)
    traced_box = jax.jit(lambda t, left: box_roi((5, 6), t, left, 3, 2))(1, 2)
    np.testing.assert_array_equal(np.asarray(traced_box), expected)


def test_predicted_and_ground_truth_rois():
    logits = jnp.zeros((3, 4, 3)).at[1:, :2, 2].set(5.0).at[0, 3, 1].set(1.0)
    predicted = np.asarray(predicted_class_roi(logits, 2))
    np.testing.assert_array_equal(predicted, np.pad(np.ones((2, 2)), ((1, 0), (0, 2))))
    labels = jnp.array([[0, 1], [2, 1]])
    np.testing.assert_array_equal(ground_truth_roi(labels, 1), [[0, 1], [0, 1]])
    assert predicted_class_roi(logits, 2).dtype == jnp.float32


def test_target_score_by_hand():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 5, 3)).astype(np.float32)
    mask = np.zeros((4, 5), np.float32)
    mask[1:3, 2:5] = 1.0
    target = make_target(2, mask)
    assert target.class_id.dtype == jnp.int32 and target.mask.dtype == jnp.float32
    total = logits[..., 2][mask > 0].sum()
    np.testing.assert_allclose(
        target_score(jnp.asarray(logits), target), total, rtol=1e-6
    )
    mean = target_score(jnp.asarray(logits), target, reduction="mean")
    np.testing.assert_allclose(mean, total / 6, rtol=1e-6)
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    prob = target_score(jnp.asarray(logits), target, space="probabilities")
    np.testing.assert_allclose(prob, probabilities[..., 2][mask > 0].sum(), rtol=1e-5)
    soft = make_target(0, mask * 0.5)
    np.testing.assert_allclose(
        target_score(jnp.asarray(logits), soft),
        0.5 * logits[..., 0][mask > 0].sum(),
        rtol=1e-6,
    )
    # A batch of targets is a pytree with a leading axis: vmap over it.
    batch = make_target(jnp.array([0, 2]), jnp.stack([mask, mask]))
    scores = jax.vmap(lambda t: target_score(jnp.asarray(logits), t))(batch)
    np.testing.assert_allclose(scores[1], total, rtol=1e-6)
    assert isinstance(batch, Target)


def test_target_score_bad_options():
    logits = jnp.zeros((2, 2, 3))
    target = make_target(0, jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="reduction"):
        target_score(logits, target, reduction="max")
    with pytest.raises(ValueError, match="space"):
        target_score(logits, target, space="log_probabilities")
    with pytest.raises(ValueError, match="mask"):
        target_score(logits, make_target(0, jnp.ones((3, 2))))


def test_validate_target():
    mask = np.ones((4, 4), np.float32)
    validate_target(make_target(1, mask), num_classes=3, spatial_shape=(4, 4))
    with pytest.raises(ValueError, match="class_id"):
        validate_target(make_target(3, mask), num_classes=3, spatial_shape=(4, 4))
    with pytest.raises(ValueError, match="non-empty"):
        validate_target(make_target(1, 0 * mask), num_classes=3, spatial_shape=(4, 4))
    with pytest.raises(ValueError, match="mask"):
        validate_target(make_target(1, mask), num_classes=3, spatial_shape=(4, 5))
    with pytest.raises(ValueError, match="finite"):
        bad = mask.copy()
        bad[0, 0] = np.nan
        validate_target(make_target(1, bad), num_classes=3, spatial_shape=(4, 4))
    batch = make_target([1, 2], np.stack([mask, 0 * mask]))
    with pytest.raises(ValueError, match="1 target"):
        validate_target(batch, num_classes=3, spatial_shape=(4, 4))


def test_class_targets():
    labels = np.array([[0, 2], [2, 0]])
    targets = class_targets(labels, 3)
    np.testing.assert_array_equal(targets.class_id, [2])
    np.testing.assert_array_equal(targets.mask[0], [[0, 1], [1, 0]])
    with_background = class_targets(labels, 3, skip_background=False)
    np.testing.assert_array_equal(with_background.class_id, [0, 2])
    with pytest.raises(ValueError, match="labels"):
        class_targets(np.zeros((2, 2), int), 3)
