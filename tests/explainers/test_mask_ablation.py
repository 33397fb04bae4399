"""Segment-mask ablation: analytic oracle, occlusion as a special case, batching."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax import explainers
from segxai_jax.explainers import explain_batch
from segxai_jax.explainers.mask_ablation import mask_ablation, mask_ablation_scores
from segxai_jax.explainers.occlusion import (
    occlusion,
    occlusion_windows,
    window_mask,
)
from segxai_jax.targets import make_target

SIZE = 8
KEY = jax.random.key(0)
WEIGHTS = np.asarray([[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]], np.float32)  # [K, C]


def linear_apply(params, x):
    """Per-pixel logits ``x @ W^T``: a pixel's class-c logit is ``W_c . x``."""
    del params
    return x @ jnp.asarray(WEIGHTS).T


def segments():
    """Three overlapping masks and one soft mask."""
    masks = np.zeros((4, SIZE, SIZE), np.float32)
    masks[0, :4, :4] = 1
    masks[1, 2:6, 2:6] = 1
    masks[2, :, 6:] = 1
    masks[3, 6:, :2] = 0.5
    return masks


@pytest.fixture(scope="module")
def image():
    return jnp.asarray(np.random.default_rng(0).random((SIZE, SIZE, 3)), jnp.float32)


def test_linear_model_oracle(image):
    """Black fill: drop_m = sum over the ROI of m * (W_c . x); map = mean drop."""
    roi = np.zeros((SIZE, SIZE), np.float32)
    roi[1:7, 1:7] = 1
    target = make_target(1, roi)
    masks = segments()
    contribution = np.asarray(image) @ WEIGHTS[1]  # [H, W]
    drops = np.einsum("mhw,hw->m", masks, contribution * roi)
    scores = mask_ablation_scores(linear_apply)(KEY, None, image, target, masks)
    np.testing.assert_allclose(scores, drops, rtol=1e-5, atol=1e-5)
    cover = masks.sum(0)
    total = np.einsum("m,mhw->hw", drops, masks)
    expected = np.where(cover > 0, total / np.where(cover > 0, cover, 1), 0)
    got = mask_ablation(linear_apply, masks)(KEY, None, image, target)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    summed = mask_ablation(linear_apply, masks, combine="sum")(KEY, None, image, target)
    np.testing.assert_allclose(summed, total, rtol=1e-5, atol=1e-5)
    assert float(got[7, 3]) == 0.0  # covered by no mask


class TinyConvNet(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Conv(3, (3, 3))(nn.relu(nn.Conv(4, (3, 3))(x)))


def test_occlusion_windows_as_masks_give_the_occlusion_map(image):
    model = TinyConvNet()
    params = numpy_init(model, (SIZE, SIZE, 3), 1)

    def apply_fn(p, x):
        return model.apply({"params": p}, x[None])[0]

    target = make_target(2, jnp.ones((SIZE, SIZE)))
    tops, lefts = occlusion_windows((SIZE, SIZE), (4, 4), (2, 2))
    masks = np.stack(
        [
            np.asarray(window_mask((SIZE, SIZE), (t, left), (4, 4)))
            for t in tops
            for left in lefts
        ]
    )
    expected = occlusion(apply_fn, patch_size=4, stride=2, fill="grey")
    got = mask_ablation(apply_fn, masks, fill="grey")
    np.testing.assert_allclose(
        got(KEY, params, image, target),
        expected(KEY, params, image, target),
        rtol=1e-5,
        atol=1e-6,
    )


def test_jit_equals_eager_and_batch_equals_loop(image):
    target = make_target(0, jnp.ones((SIZE, SIZE)))
    explain = mask_ablation(linear_apply, segments(), chunk_size=3)
    eager = explain(KEY, None, image, target)
    np.testing.assert_allclose(jax.jit(explain)(KEY, None, image, target), eager)
    images = jnp.stack([image, image[::-1]])
    targets = make_target(jnp.asarray([0, 1]), jnp.ones((2, SIZE, SIZE)))
    batched = explain_batch(explain)(KEY, None, images, targets)
    for i in range(2):
        one = make_target(i, jnp.ones((SIZE, SIZE)))
        np.testing.assert_allclose(
            batched[i], explain(KEY, None, images[i], one), rtol=1e-6, atol=1e-6
        )


def test_masks_from_a_callable_per_image(image):
    """Masks generated from each image (here: above / below its median)."""

    def by_brightness(x):
        grey = x.mean(-1)
        bright = (grey > jnp.median(grey)).astype(jnp.float32)
        return jnp.stack([bright, 1 - bright])

    target = make_target(0, jnp.ones((SIZE, SIZE)))
    explain = jax.jit(mask_ablation(linear_apply, by_brightness))
    fixed = mask_ablation(linear_apply, by_brightness(image))
    np.testing.assert_allclose(
        explain(KEY, None, image, target), fixed(KEY, None, image, target), atol=1e-6
    )


def test_bad_masks_name_the_shapes(image):
    target = make_target(0, jnp.ones((SIZE, SIZE)))
    with pytest.raises(ValueError, match=r"masks: expected \[M, 8, 8\].*\(2, 4, 4\)"):
        mask_ablation(linear_apply, np.ones((2, 4, 4)))(KEY, None, image, target)
    with pytest.raises(ValueError, match="masks: expected at least one mask"):
        mask_ablation(linear_apply, np.ones((0, SIZE, SIZE)))
    with pytest.raises(ValueError, match=r"masks: expected \[M, H, W\] or a callable"):
        mask_ablation(linear_apply, np.ones((SIZE, SIZE)))
    with pytest.raises(ValueError, match="combine"):
        mask_ablation(linear_apply, segments(), combine="max")


def test_grid_masks_partition_the_image():
    plain = np.asarray(explainers.grid_masks((12, 8), 4))
    assert plain.shape == (16, 12, 8)
    np.testing.assert_array_equal(plain.sum(0), 1.0)  # every pixel in one cell
    np.testing.assert_array_equal(plain.sum((1, 2)), 6.0)  # 3 x 2 pixels each
    shifted = np.asarray(explainers.grid_masks((12, 8), 4, offset=0.5))
    assert shifted.shape == (25, 12, 8)
    np.testing.assert_array_equal(shifted.sum(0), 1.0)
    assert shifted.sum((1, 2)).min() > 0  # no empty segment
    # Together: overlapping segments, each pixel covered twice.
    both = np.concatenate([plain, shifted])
    np.testing.assert_array_equal(both.sum(0), 2.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hw": (8,), "cells": 2}, "hw"),
        ({"hw": (8, 8), "cells": 0}, "cells"),
        ({"hw": (8, 8), "cells": 9}, "cells"),
        ({"hw": (8, 8), "cells": 2, "offset": 1.0}, "offset"),
    ],
)
def test_grid_masks_bad_inputs(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        explainers.grid_masks(**kwargs)
