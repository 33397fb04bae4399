"""Score-CAM: a loop oracle, corner-aligned upsampling, jit/vmap, bad inputs."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.explainers import score_cam, upsample_channels
from segxai_jax.probes import make_probe
from segxai_jax.targets import box_roi, make_target, target_score

SIZE = 12
KEY = jax.random.key(0)


class ConvThenHead(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(5, (3, 3), strides=2)(x))  # [6, 6, 5]
        a = self.perturb("feat", a)
        up = jax.image.resize(a, (x.shape[0], SIZE, SIZE, 5), "bilinear")
        return nn.Conv(3, (1, 1), name="head")(up)


@pytest.fixture(scope="module")
def setup():
    model = ConvThenHead()
    x = jnp.asarray(np.random.default_rng(2).random((SIZE, SIZE, 3)), jnp.float32)
    params = numpy_init(model, x.shape, 1)
    probe = make_probe(model, "feat", input_shape=x.shape)
    target = make_target(1, box_roi((SIZE, SIZE), 2, 3, 5, 4))
    return model, params, probe, x, target


def _loop_oracle(model, params, x, target, reduction="mean"):
    """Score-CAM written as the paper describes it, one channel at a time."""
    a = np.asarray(
        model.apply({"params": params}, x[None], capture_intermediates=True)[1][
            "intermediates"
        ]["Conv_0"]["__call__"][0][0]
    )
    a = np.maximum(a, 0)  # the probe reads relu(conv)
    up = np.asarray(jax.image.resize(jnp.asarray(a), (SIZE, SIZE, 5), "bilinear"))
    scores = []
    for k in range(a.shape[-1]):
        m = up[..., k]
        m = (m - m.min()) / (m.max() - m.min() + 1e-8)
        logits = model.apply({"params": params}, (x * m[..., None])[None])[0]
        scores.append(float(target_score(logits, target, reduction=reduction)))
    w = np.exp(np.asarray(scores) - max(scores))
    w = w / w.sum()
    return a @ w


def test_equals_the_channel_loop(setup):
    model, params, probe, x, target = setup
    expected = _loop_oracle(model, params, x, target)
    explain = score_cam(
        probe, score_reduction="mean", relu=False, output_size=None, chunk_size=2
    )
    cam = explain(KEY, params, x, target)
    np.testing.assert_allclose(np.asarray(cam), expected, rtol=1e-4, atol=1e-6)


def test_corner_aligned_upsampling_hits_the_corners_and_is_linear():
    a = jnp.asarray(np.random.default_rng(0).random((3, 4, 2)), jnp.float32)
    up = np.asarray(upsample_channels(a, (7, 10), align_corners=True))
    for i, j in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        np.testing.assert_allclose(up[i, j], np.asarray(a)[i, j], rtol=1e-6)
    # Halfway between rows 0 and 1 of the input (rows 0, 3 of the output).
    np.testing.assert_allclose(up[3, 0], np.asarray(a)[1, 0], rtol=1e-6)
    np.testing.assert_allclose(
        up[1, 0],
        np.asarray(a)[0, 0] + (np.asarray(a)[1, 0] - a[0, 0]) / 3,
        rtol=1e-5,
    )


@pytest.mark.parametrize("chunk_size", [None, 2])
def test_jit_vmap_one_trace_and_chunking(setup, chunk_size):
    _, params, probe, x, target = setup
    chex.clear_trace_counter()
    explain = score_cam(probe, chunk_size=chunk_size)
    eager = explain(KEY, params, x, target)
    assert eager.shape == (SIZE, SIZE) and float(eager.min()) >= 0.0
    traced = jax.jit(chex.assert_max_traces(explain, n=1))
    np.testing.assert_allclose(
        traced(KEY, params, x, target), eager, rtol=1e-5, atol=1e-6
    )
    targets = make_target(jnp.array([0, 2]), jnp.stack([target.mask] * 2))
    batched = jax.jit(jax.vmap(explain, in_axes=(None, None, None, 0)))(
        KEY, params, x, targets
    )
    for i in range(2):
        one = traced(KEY, params, x, make_target(targets.class_id[i], target.mask))
        np.testing.assert_allclose(batched[i], one, rtol=1e-5, atol=1e-6)


def test_bad_inputs(setup):
    _, params, probe, x, target = setup
    with pytest.raises((ValueError, TypeError), match="chunk_size"):
        score_cam(probe, chunk_size=0)
    with pytest.raises(TypeError, match="probe"):
        score_cam(lambda p, x: x)
    with pytest.raises(ValueError, match="NaN"):
        score_cam(probe)(KEY, params, x.at[0, 0, 0].set(jnp.nan), target)
    nan_map = jax.jit(score_cam(probe))(KEY, params, x.at[0, 0, 0].set(jnp.nan), target)
    assert np.all(np.isnan(np.asarray(nan_map)))


def test_memory_budget_picks_a_chunk_and_refuses_a_budget_too_small(setup):
    _, params, probe, x, target = setup
    plain = score_cam(probe, chunk_size=2)(KEY, params, x, target)
    budgeted = score_cam(probe, chunk_size=None, memory_budget=10**9)
    np.testing.assert_allclose(budgeted(KEY, params, x, target), plain, atol=1e-6)
    with pytest.raises(ValueError, match="memory_budget: 1 bytes is below"):
        score_cam(probe, memory_budget=1)(KEY, params, x, target)
    with pytest.raises(ValueError, match="memory_budget"):
        score_cam(probe, memory_budget=-5)
