"""explain_batch (many images) and explain_targets (many targets of one image)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.explainers.batching import explain_batch, explain_targets
from segxai_jax.explainers.gradients import vanilla_gradient
from segxai_jax.explainers.smoothgrad import smoothgrad
from segxai_jax.models.unet import UNetConfig, init_unet, unet_apply_fn
from segxai_jax.targets import box_roi, class_targets, make_target

SIZE, BATCH, CLASSES = 16, 3, 3


@pytest.fixture(scope="module")
def setup():
    config = UNetConfig(num_classes=CLASSES, widths=(4, 8), norm="none")
    model, params = init_unet(jax.random.key(0), config, image_size=SIZE)
    xs = jax.random.uniform(jax.random.key(1), (BATCH, SIZE, SIZE, 3))
    masks = jnp.stack([box_roi((SIZE, SIZE), i, i, 5, 6) for i in range(BATCH)])
    targets = make_target(jnp.arange(BATCH) % CLASSES, masks)
    return unet_apply_fn(model), params, xs, targets


def _item(targets, i):
    return jax.tree.map(lambda leaf: leaf[i], targets)


def test_explain_batch_equals_loop_with_split_keys(setup):
    apply_fn, params, xs, targets = setup
    explain = jax.jit(smoothgrad(vanilla_gradient(apply_fn), num_samples=3))
    key = jax.random.key(4)
    batched = jax.jit(explain_batch(explain))(key, params, xs, targets)
    keys = jax.random.split(key, BATCH)
    looped = np.stack(
        [explain(keys[i], params, xs[i], _item(targets, i)) for i in range(BATCH)]
    )
    assert batched.shape == (BATCH, SIZE, SIZE, 3)
    np.testing.assert_allclose(batched, looped, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("strategy", ["unroll", "lax_map"])
def test_explain_batch_chunked_equals_unchunked_and_accepts_no_key(setup, strategy):
    apply_fn, params, xs, targets = setup
    explain = vanilla_gradient(apply_fn, channel_reduction="abs_sum")
    full = jax.jit(explain_batch(explain))(None, params, xs, targets)
    chunked = jax.jit(explain_batch(explain, chunk_size=2, strategy=strategy))(
        None, params, xs, targets
    )
    assert full.shape == (BATCH, SIZE, SIZE)
    np.testing.assert_allclose(chunked, full, rtol=1e-4, atol=1e-5)


def test_jitted_explain_batch_compiles_once(setup):
    apply_fn, params, xs, targets = setup
    batched = explain_batch(vanilla_gradient(apply_fn))
    eager = batched(None, params, xs, targets)
    jitted = jax.jit(chex.assert_max_traces(batched, n=1))
    for shift in (0.0, 0.3, 0.6):
        jitted(None, params, xs + shift, targets)
    np.testing.assert_allclose(
        jitted(None, params, xs, targets), eager, rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("share_key", [True, False])
def test_explain_targets_equals_loop(setup, share_key):
    apply_fn, params, xs, _ = setup
    x = xs[0]
    labels = jnp.argmax(apply_fn(params, x), axis=-1)
    labels = labels.at[:4].set(0).at[4:9].set(1).at[9:].set(2)  # all classes present
    targets = class_targets(labels, CLASSES, skip_background=False)
    explain = smoothgrad(vanilla_gradient(apply_fn), num_samples=2)
    key = jax.random.key(8)
    many = explain_targets(explain, num_classes=CLASSES, share_key=share_key)
    explain, many = jax.jit(explain), jax.jit(many)
    many = many(key, params, x, targets)
    keys = [key] * CLASSES if share_key else list(jax.random.split(key, CLASSES))
    looped = np.stack(
        [explain(keys[i], params, x, _item(targets, i)) for i in range(CLASSES)]
    )
    assert many.shape == (CLASSES, SIZE, SIZE, 3)
    np.testing.assert_allclose(many, looped, rtol=1e-4, atol=1e-5)


def test_explain_targets_jitted_compiles_once(setup):
    apply_fn, params, xs, targets = setup
    many = jax.jit(
        chex.assert_max_traces(explain_targets(vanilla_gradient(apply_fn)), n=1)
    )
    for i in range(BATCH):
        out = many(None, params, xs[i], targets)
    assert out.shape == (BATCH, SIZE, SIZE, 3)


@pytest.mark.parametrize(
    "change, argument",
    [
        (lambda xs, t: (xs[0], t), "xs"),
        (lambda xs, t: (xs.at[0, 0, 0, 0].set(jnp.nan), t), "xs"),
        (lambda xs, t: (xs, _item(t, 0)), "targets"),
        (lambda xs, t: (xs, make_target(t.class_id[:2], t.mask[:2])), "targets"),
        (lambda xs, t: (xs, t.replace(mask=t.mask.at[1].set(0.0))), "target.mask"),
        (
            lambda xs, t: (xs, t.replace(class_id=t.class_id.at[2].set(CLASSES))),
            "class_id",
        ),
    ],
    ids=["rank", "nan", "unbatched_target", "count", "empty_roi", "class_range"],
)
def test_explain_batch_bad_inputs(setup, change, argument):
    apply_fn, params, xs, targets = setup
    xs, targets = change(xs, targets)
    batched = explain_batch(vanilla_gradient(apply_fn), num_classes=CLASSES)
    with pytest.raises(ValueError, match=argument.replace(".", r"\.")):
        batched(None, params, xs, targets)


def test_explain_targets_bad_inputs(setup):
    apply_fn, params, xs, targets = setup
    many = explain_targets(vanilla_gradient(apply_fn), num_classes=CLASSES)
    with pytest.raises(ValueError, match="x"):
        many(None, params, xs, targets)
    with pytest.raises(ValueError, match="targets"):
        many(None, params, xs[0], _item(targets, 0))
    with pytest.raises(ValueError, match="class_id"):
        many(None, params, xs[0], targets.replace(class_id=targets.class_id - 1))
