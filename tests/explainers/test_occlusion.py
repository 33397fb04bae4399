"""Tests of occlusion sensitivity for segmentation."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import assert_close_reordered, numpy_init

from segxai_jax.explainers.occlusion import (
    occlusion,
    occlusion_num_windows,
    occlusion_windows,
    spread_window_scores,
    window_starts,
)
from segxai_jax.fills import make_fill
from segxai_jax.targets import box_roi, make_target, target_score

SIZE = 12
KEY = jax.random.key(0)


class TinyConvNet(nn.Module):
    """Two convolutions; ``kernel=1`` makes it per-pixel (no spatial context)."""

    kernel: int = 3

    @nn.compact
    def __call__(self, x):
        k = (self.kernel, self.kernel)
        h = nn.relu(nn.Conv(6, k)(x))
        return nn.Conv(3, k)(h)


def make_apply_fn(kernel, seed):
    model = TinyConvNet(kernel=kernel)
    params = numpy_init(model, (SIZE, SIZE, 3), seed)
    return (lambda p, x: model.apply({"params": p}, x[None])[0]), params


@pytest.fixture(scope="module")
def conv_net():
    apply_fn, params = make_apply_fn(3, 1)
    x = jnp.asarray(np.random.default_rng(2).random((SIZE, SIZE, 3)), jnp.float32)
    logits = apply_fn(params, x)
    # A class that is predicted somewhere, so IoU/Dice are informative.
    labels = np.asarray(jnp.argmax(logits, -1))
    class_id = int(np.bincount(labels.ravel(), minlength=3).argmax())
    target = make_target(class_id, box_roi((SIZE, SIZE), 3, 2, 5, 6))
    return apply_fn, params, x, target


def naive_occlusion(apply_fn, params, x, target, *, patch, stride, fill, score):
    """Python loops over windows, accumulating sums and counts per pixel."""
    x = np.asarray(x)
    h, w, _ = x.shape
    clean = np.asarray(apply_fn(params, jnp.asarray(x)))
    c, m = int(target.class_id), np.asarray(target.mask)

    def score_of(logits):
        if score == "target":
            return float(target_score(jnp.asarray(logits), target))
        if score == "mean_probability":
            e = np.exp(logits - logits.max(-1, keepdims=True))
            p = e[..., c] / e.sum(-1)
            return float((p * m).sum() / m.sum())
        a = clean.argmax(-1) == c
        b = logits.argmax(-1) == c
        if score == "iou":
            union = (a | b).sum()
            return (a & b).sum() / union if union else 1.0
        total = a.sum() + b.sum()
        return 2 * (a & b).sum() / total if total else 1.0

    base = score_of(clean)
    tops = list(range(0, h - patch + 1, stride))
    lefts = list(range(0, w - patch + 1, stride))
    tops += [h - patch] if tops[-1] != h - patch else []
    lefts += [w - patch] if lefts[-1] != w - patch else []
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for top in tops:
        for left in lefts:
            occluded = x.copy()
            occluded[top : top + patch, left : left + patch] = fill
            drop = base - score_of(np.asarray(apply_fn(params, jnp.asarray(occluded))))
            total[top : top + patch, left : left + patch] += drop
            count[top : top + patch, left : left + patch] += 1
    return total / count


def test_window_starts_and_count():
    np.testing.assert_array_equal(window_starts(16, 8, 4), [0, 4, 8])
    np.testing.assert_array_equal(window_starts(16, 5, 4), [0, 4, 8, 11])  # flush
    np.testing.assert_array_equal(window_starts(5, 5, 3), [0])
    assert occlusion_num_windows(64, 8, 4) == 15 * 15
    assert occlusion_num_windows((16, 12), (5, 4), (4, 4)) == 4 * 3
    tops, lefts = occlusion_windows((16, 12), 5, 4)
    assert tops[-1] + 5 == 16 and lefts[-1] + 5 == 12


def test_overlap_averaging_hand_computed():
    drops = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    saliency = spread_window_scores(drops, (3, 3), 2, 1)
    expected = [[1.0, 1.5, 2.0], [2.0, 2.5, 3.0], [3.0, 3.5, 4.0]]
    np.testing.assert_allclose(saliency, expected)
    # A 5-wide axis with patch 2, stride 2: windows 0-1, 2-3 and the flush 3-4.
    saliency = spread_window_scores(jnp.array([[1.0, 2.0, 4.0]]), (2, 5), 2, 2)
    np.testing.assert_allclose(saliency[0], [1.0, 1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    "score,patch,stride",
    [("target", 4, 4), ("mean_probability", 4, 3), ("iou", 5, 4), ("dice", 5, 5)],
)
def test_equals_naive_loop(conv_net, score, patch, stride):
    apply_fn, params, x, target = conv_net
    explain = occlusion(
        apply_fn, patch_size=patch, stride=stride, fill="grey", score=score
    )
    saliency = jax.jit(explain)(KEY, params, x, target)
    expected = naive_occlusion(
        apply_fn, params, x, target, patch=patch, stride=stride, fill=0.5, score=score
    )
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(saliency, expected, rtol=1e-4, atol=1e-5)


def test_outside_the_receptive_field_is_exactly_zero():
    apply_fn, params = make_apply_fn(1, 3)  # per-pixel model
    x = jnp.asarray(np.random.default_rng(4).random((SIZE, SIZE, 3)), jnp.float32)
    target = make_target(1, box_roi((SIZE, SIZE), 0, 0, 2, 2))
    explain = occlusion(apply_fn, patch_size=3, stride=3, fill="black")
    saliency = np.asarray(jax.jit(explain)(KEY, params, x, target))
    assert np.all(saliency[3:, :] == 0.0) and np.all(saliency[:, 3:] == 0.0)
    assert np.any(saliency[:3, :3] != 0.0)


def test_jit_vmap_keys_chunks_and_traces(conv_net):
    apply_fn, params, x, target = conv_net
    explain = occlusion(apply_fn, patch_size=4, stride=3, fill="noise", chunk_size=4)
    eager = explain(KEY, params, x, target)
    # Drops are differences of window scores: their rounding follows the
    # score's size, not the drop's.
    scale = float(jnp.abs(target_score(apply_fn(params, x), target)))
    traced = jax.jit(chex.assert_max_traces(explain, n=1))
    assert_close_reordered(traced(KEY, params, x, target), eager, scale=scale)
    np.testing.assert_array_equal(
        traced(KEY, params, x, target), traced(KEY, params, x, target)
    )
    other_key = traced(jax.random.key(1), params, x, target)
    assert not np.allclose(other_key, eager)
    for chunk_size, strategy in [(None, "unroll"), (5, "lax_map")]:
        same = occlusion(
            apply_fn,
            patch_size=4,
            stride=3,
            fill="noise",
            chunk_size=chunk_size,
            strategy=strategy,
        )
        assert_close_reordered(
            jax.jit(same)(KEY, params, x, target), eager, scale=scale
        )
    keys = jax.random.split(KEY, 2)
    xs = jnp.stack([x, x[::-1]])
    batched = jax.jit(jax.vmap(explain, in_axes=(0, None, 0, None)))(
        keys, params, xs, target
    )
    for i in range(2):
        scale_i = float(jnp.abs(target_score(apply_fn(params, xs[i]), target)))
        assert_close_reordered(
            batched[i], traced(keys[i], params, xs[i], target), scale=scale_i
        )


def test_patch_mean_fill_and_roi_overlap(conv_net):
    apply_fn, params, x, target = conv_net
    for fill, overlap_within in [(make_fill("patch_mean"), "image"), ("blur", "roi")]:
        explain = occlusion(
            apply_fn,
            patch_size=5,
            stride=4,
            fill=fill,
            score="dice",
            overlap_within=overlap_within,
        )
        saliency = jax.jit(explain)(KEY, params, x, target)
        assert saliency.shape == (SIZE, SIZE) and np.all(np.isfinite(saliency))
        assert float(saliency.max()) <= 1.0


def test_bad_inputs(conv_net):
    apply_fn, params, x, target = conv_net
    for kwargs, name in [
        ({"score": "auc"}, "score"),
        ({"fill": "pink"}, "fill"),
        ({"stride": 0}, "stride"),
        ({"stride": 9}, "stride"),
        ({"patch_size": 0}, "patch_size"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"strategy": "scan"}, "strategy"),
        ({"overlap_within": "box"}, "overlap_within"),
        ({"score_space": "odds"}, "score_space"),
    ]:
        with pytest.raises(ValueError, match=name):
            occlusion(apply_fn, **kwargs)
    with pytest.raises(ValueError, match="patch_size"):
        occlusion(apply_fn, patch_size=SIZE + 1)(KEY, params, x, target)
    explain = occlusion(apply_fn)
    with pytest.raises(ValueError, match="x"):
        explain(KEY, params, x.at[0, 0, 0].set(jnp.nan), target)
    with pytest.raises(ValueError, match="mask"):
        explain(KEY, params, x, make_target(0, jnp.zeros((SIZE, SIZE))))
    with pytest.raises(ValueError, match="class_id"):
        explain(KEY, params, x, make_target(3, target.mask))
