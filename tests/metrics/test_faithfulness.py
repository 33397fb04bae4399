"""Tests of the deletion/insertion curves and their summaries."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.fills import gaussian_blur
from segxai_jax.metrics.curves import auc, batched_curves, relative_curve
from segxai_jax.metrics.faithfulness import (
    deletion_curve,
    insertion_curve,
    random_saliency,
    saliency_ranks,
    step_counts,
)
from segxai_jax.targets import box_roi, make_target, target_score

SIZE = 12
KEY = jax.random.key(0)


class TinyConvNet(nn.Module):
    """Two 3x3 convolutions with a ReLU: spatial context, 3 classes."""

    @nn.compact
    def __call__(self, x):
        h = nn.relu(nn.Conv(6, (3, 3))(x))
        return nn.Conv(3, (3, 3))(h)


@pytest.fixture(scope="module")
def conv_net():
    model = TinyConvNet()
    params = numpy_init(model, (SIZE, SIZE, 3), 1)

    def apply_fn(p, x):
        return model.apply({"params": p}, x[None])[0]

    x = jnp.asarray(np.random.default_rng(2).random((SIZE, SIZE, 3)), jnp.float32)
    labels = np.asarray(jnp.argmax(apply_fn(params, x), -1))
    class_id = int(np.bincount(labels.ravel(), minlength=3).argmax())
    target = make_target(class_id, box_roi((SIZE, SIZE), 3, 2, 5, 6))
    # Rounded values: many ties, so the tie-breaking rule is exercised.
    saliency = jnp.round(jnp.asarray(np.random.default_rng(3).random((SIZE, SIZE))), 1)
    return apply_fn, params, x, target, saliency


@pytest.fixture(scope="module")
def linear_net():
    """Per-pixel linear model: ``S = sum_p m_p x_p . w_c``, additive in pixels."""
    rng = np.random.default_rng(5)
    weights = jnp.asarray(rng.normal(size=(3, 3)), jnp.float32)
    x = jnp.asarray(rng.random((SIZE, SIZE, 3)), jnp.float32)
    target = make_target(1, box_roi((SIZE, SIZE), 1, 2, 8, 9))
    return (lambda w, image: image @ w), weights, x, target


def naive_curve(apply_fn, params, x, target, saliency, *, mode, substrate, score, n):
    """Python loop over steps: copy pixels in a NumPy stable-sort order."""
    x, substrate = np.asarray(x), np.asarray(substrate)
    h, w, c_in = x.shape
    clean = np.asarray(apply_fn(params, jnp.asarray(x)))
    c, m = int(target.class_id), np.asarray(target.mask)

    def score_of(logits):
        if score == "target":
            return float((logits[..., c] * m).sum())
        if score == "mean_probability":
            e = np.exp(logits - logits.max(-1, keepdims=True))
            return float((e[..., c] / e.sum(-1) * m).sum() / m.sum())
        a, b = clean.argmax(-1) == c, logits.argmax(-1) == c
        if score == "iou":
            union = (a | b).sum()
            return (a & b).sum() / union if union else 1.0
        total = a.sum() + b.sum()
        return 2 * (a & b).sum() / total if total else 1.0

    order = np.argsort(-np.asarray(saliency).ravel(), kind="stable")
    scores = []
    for i in range(n + 1):
        k = int(np.floor(i * h * w / n + 0.5))
        source, start = (substrate, x) if mode == "deletion" else (x, substrate)
        image = start.reshape(-1, c_in).copy()
        image[order[:k]] = source.reshape(-1, c_in)[order[:k]]
        logits = np.asarray(apply_fn(params, jnp.asarray(image.reshape(h, w, c_in))))
        scores.append(score_of(logits))
    return np.asarray(scores)


def test_auc_exact_values():
    np.testing.assert_allclose(auc(jnp.ones(9)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(auc(jnp.full(4, 2.5)), 2.5, rtol=1e-6)
    np.testing.assert_allclose(auc(jnp.linspace(1.0, 0.0, 11)), 0.5, rtol=1e-6)
    np.testing.assert_allclose(auc(jnp.array([0.0, 1.0])), 0.5)
    curves = np.random.default_rng(0).random((2, 3, 6))
    np.testing.assert_allclose(
        auc(curves), np.trapezoid(curves, dx=1 / 5, axis=-1), rtol=1e-5
    )
    with pytest.raises(ValueError, match="curve"):
        auc(jnp.ones(1))


def test_relative_curve():
    curves = jnp.array([[2.0, 1.0, 0.0], [4.0, 4.0, 1.0]])
    np.testing.assert_allclose(
        relative_curve(curves), [[1.0, 0.5, 0.0], [1.0, 1.0, 0.25]]
    )
    np.testing.assert_allclose(
        relative_curve(jnp.array([0.0, 1.0, 2.0]), reference="end"), [0, 0.5, 1]
    )
    with pytest.raises(ValueError, match="curve"):
        relative_curve(jnp.array([[1.0, 0.5], [-1.0, -2.0]]))
    with pytest.raises(ValueError, match="reference"):
        relative_curve(curves, reference="clean")
    # Under jit the check cannot run: non-positive references give NaN rows.
    traced = jax.jit(relative_curve)(jnp.array([[1.0, 0.5], [0.0, 1.0]]))
    np.testing.assert_allclose(traced[0], [1.0, 0.5])
    assert np.all(np.isnan(traced[1]))


def test_step_counts_and_ranks():
    np.testing.assert_array_equal(step_counts(10, 4), [0, 3, 5, 8, 10])
    np.testing.assert_array_equal(step_counts(3, 5), [0, 1, 1, 2, 2, 3])
    np.testing.assert_array_equal(step_counts(144, 1), [0, 144])
    ranks = saliency_ranks(jnp.array([[0.0, 1.0], [-0.0, 1.0]]))
    np.testing.assert_array_equal(ranks, [[2, 0], [3, 1]])  # ties: row-major


def test_random_saliency_is_seeded():
    a = random_saliency(KEY, (2, SIZE, SIZE))
    assert a.shape == (2, SIZE, SIZE) and a.dtype == jnp.float32
    assert float(a.min()) >= 0.0 and float(a.max()) < 1.0
    np.testing.assert_array_equal(a, random_saliency(KEY, (2, SIZE, SIZE)))
    assert not np.allclose(a, random_saliency(jax.random.key(1), (2, SIZE, SIZE)))


@pytest.mark.parametrize(
    "mode,score,fill",
    [
        ("deletion", "target", "black"),
        ("insertion", "mean_probability", "blur"),
        ("deletion", "iou", "grey"),
        ("insertion", "dice", "grey"),
    ],
)
def test_equals_naive_loop(conv_net, mode, score, fill):
    apply_fn, params, x, target, saliency = conv_net
    make = deletion_curve if mode == "deletion" else insertion_curve
    curve = make(apply_fn, num_steps=7, fill=fill, score=score, chunk_size=3)
    scores = jax.jit(curve)(KEY, params, x, saliency, target)
    substrate = {"black": 0.0 * x, "grey": 0.5 + 0.0 * x, "blur": gaussian_blur(x)}
    expected = naive_curve(
        apply_fn,
        params,
        x,
        target,
        saliency,
        mode=mode,
        substrate=substrate[fill],
        score=score,
        n=7,
    )
    assert scores.shape == (8,)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)


def test_endpoints_are_clean_and_substrate_scores(conv_net):
    apply_fn, params, x, target, saliency = conv_net

    def score_of(image):
        return float(target_score(apply_fn(params, image), target))

    deletion = jax.jit(deletion_curve(apply_fn, num_steps=4))
    insertion = jax.jit(insertion_curve(apply_fn, num_steps=4))
    deletion = deletion(KEY, params, x, saliency, target)
    insertion = insertion(KEY, params, x, saliency, target)
    np.testing.assert_allclose(deletion[0], score_of(x), rtol=1e-6)
    np.testing.assert_allclose(deletion[-1], score_of(jnp.zeros_like(x)), rtol=1e-5)
    np.testing.assert_allclose(insertion[0], score_of(gaussian_blur(x)), rtol=1e-5)
    np.testing.assert_allclose(insertion[-1], score_of(x), rtol=1e-6)


def test_oracle_order_beats_random_on_an_additive_model(linear_net):
    apply_fn, weights, x, target = linear_net
    c, m = int(target.class_id), target.mask
    n = 16
    # Default substrates: black for deletion, RISE's blur for insertion.
    for make, substrate in [
        (deletion_curve, jnp.zeros_like(x)),
        (insertion_curve, gaussian_blur(x)),
    ]:
        curve = jax.jit(make(apply_fn, num_steps=n))
        # Each pixel adds m_p (x_p - substrate_p) . w_c to the score.
        gain = m * ((x - substrate) @ weights[:, c])
        oracle = curve(KEY, weights, x, gain, target)
        # Exact: the score after moving the top-k pixels, known in closed form.
        top = np.concatenate([[0.0], np.cumsum(np.sort(np.ravel(gain))[::-1])])
        counts = step_counts(SIZE * SIZE, n)
        if make is deletion_curve:
            clean = float(target_score(apply_fn(weights, x), target))
            np.testing.assert_allclose(oracle, clean - top[counts], atol=1e-4)
        else:
            base = float(target_score(apply_fn(weights, substrate), target))
            np.testing.assert_allclose(oracle, base + top[counts], atol=1e-4)
        for seed in range(3):
            noise = random_saliency(jax.random.key(seed), (SIZE, SIZE))
            random_curve = curve(KEY, weights, x, noise, target)
            # The greedy order is the best at every step, not only on average.
            if make is deletion_curve:
                assert np.all(oracle <= random_curve + 1e-4)
                assert float(auc(oracle)) < float(auc(random_curve))
            else:
                assert np.all(oracle >= random_curve - 1e-4)
                assert float(auc(oracle)) > float(auc(random_curve))


def test_jit_chunks_keys_and_traces(conv_net):
    apply_fn, params, x, target, saliency = conv_net
    options = {"num_steps": 6, "fill": "noise", "score": "mean_probability"}
    # The eager reference vectorises all steps (fewer op-by-op dispatches).
    eager = deletion_curve(apply_fn, chunk_size=None, **options)(
        KEY, params, x, saliency, target
    )
    curve = deletion_curve(apply_fn, chunk_size=4, **options)
    traced = jax.jit(chex.assert_max_traces(curve, n=1))
    np.testing.assert_allclose(
        traced(KEY, params, x, saliency, target), eager, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(
        traced(KEY, params, x, saliency, target),
        traced(KEY, params, x, saliency, target),
    )
    assert not np.allclose(
        traced(jax.random.key(1), params, x, saliency, target), eager
    )
    for chunk_size, strategy in [(None, "unroll"), (4, "unroll"), (5, "lax_map")]:
        same = deletion_curve(
            apply_fn, chunk_size=chunk_size, strategy=strategy, **options
        )
        np.testing.assert_allclose(
            jax.jit(same)(KEY, params, x, saliency, target),
            eager,
            rtol=1e-5,
            atol=1e-6,
        )


def test_batched_methods_and_images_equal_single_curves(conv_net):
    apply_fn, params, x, target, saliency = conv_net
    curve = insertion_curve(apply_fn, num_steps=5, fill="noise")
    xs = jnp.stack([x, x[::-1]])
    targets = make_target(
        jnp.stack([target.class_id] * 2), jnp.stack([target.mask, target.mask.T])
    )
    saliencies = jnp.stack(  # [M=3, B=2, H, W]
        [
            jnp.stack([saliency, saliency.T]),
            random_saliency(jax.random.key(7), (2, SIZE, SIZE)),
            jnp.zeros((2, SIZE, SIZE)),
        ]
    )
    keys = jax.random.split(KEY, 2)
    single = jax.jit(curve)
    expected = np.stack(
        [
            [
                single(
                    keys[b],
                    params,
                    xs[b],
                    saliencies[m, b],
                    jax.tree.map(lambda leaf, b=b: leaf[b], targets),
                )
                for b in range(2)
            ]
            for m in range(3)
        ]
    )
    for chunk_size, strategy in [(None, "unroll"), (4, "lax_map")]:
        batched = batched_curves(
            curve, num_classes=3, chunk_size=chunk_size, strategy=strategy
        )
        result = jax.jit(batched)(KEY, params, xs, saliencies, targets)
        assert result.shape == (3, 2, 6)
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)
    # Deterministic fills accept key=None; saliencies without a method axis.
    grey = insertion_curve(apply_fn, num_steps=5, fill="grey")
    per_image = jax.jit(batched_curves(grey))(None, params, xs, saliencies[0], targets)
    for b in range(2):
        target_b = jax.tree.map(lambda leaf, b=b: leaf[b], targets)
        np.testing.assert_allclose(
            per_image[b],
            jax.jit(grey)(None, params, xs[b], saliencies[0, b], target_b),
            rtol=1e-5,
            atol=1e-6,
        )


def test_bad_inputs(conv_net):
    apply_fn, params, x, target, saliency = conv_net
    for make in (deletion_curve, insertion_curve):
        for kwargs, name in [
            ({"num_steps": 0}, "num_steps"),
            ({"num_steps": 2.5}, "num_steps"),
            ({"score": "auc"}, "score"),
            ({"fill": "pink"}, "fill"),
            ({"chunk_size": 0}, "chunk_size"),
            ({"strategy": "scan"}, "strategy"),
            ({"overlap_within": "box"}, "overlap_within"),
            ({"score_reduction": "max"}, "score_reduction"),
        ]:
            with pytest.raises((ValueError, TypeError), match=name):
                make(apply_fn, **kwargs)
    curve = deletion_curve(apply_fn, num_steps=2)
    for bad in (saliency[:-1], saliency[..., None], saliency.ravel()):
        with pytest.raises(ValueError, match="saliency"):
            curve(KEY, params, x, bad, target)
    with pytest.raises(ValueError, match="saliency.*finite"):
        curve(KEY, params, x, saliency.at[2, 3].set(jnp.nan), target)
    with pytest.raises(ValueError, match="x"):
        curve(KEY, params, x.at[0, 0, 0].set(jnp.inf), saliency, target)
    with pytest.raises(ValueError, match="mask"):
        curve(KEY, params, x, saliency, make_target(0, jnp.zeros((SIZE, SIZE))))
    with pytest.raises(ValueError, match="class_id"):
        curve(KEY, params, x, saliency, make_target(3, target.mask))
    batched = batched_curves(curve)
    xs = jnp.stack([x, x])
    targets = make_target(jnp.array([0, 0]), jnp.stack([target.mask] * 2))
    with pytest.raises(ValueError, match="saliencies"):
        batched(KEY, params, xs, jnp.stack([saliency] * 3), targets)
    with pytest.raises(ValueError, match="saliencies.*finite"):
        batched(KEY, params, xs, jnp.full((2, SIZE, SIZE), jnp.nan), targets)
    with pytest.raises(ValueError, match="targets"):
        batched(KEY, params, xs, jnp.stack([saliency] * 2), target)
    with pytest.raises(ValueError, match="xs"):
        batched(KEY, params, x, saliency, target)
