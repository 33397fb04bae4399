"""Max-/avg-sensitivity: analytic oracles, determinism, jit and chunking."""

import doctest
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.explainers.gradients import vanilla_gradient
from segxai_jax.metrics import robustness
from segxai_jax.metrics.robustness import (
    avg_sensitivity,
    max_sensitivity,
    sensitivities,
)
from segxai_jax.targets import box_roi, make_target

SIZE = 8
KEY = jax.random.key(0)
IMAGE = jnp.asarray(np.random.default_rng(0).random((SIZE, SIZE, 3)), jnp.float32)
TARGET = make_target(0, box_roi((SIZE, SIZE), 1, 1, 5, 6))


def pixel_mlp(params, x):  # a per-pixel MLP: [H, W, 3] -> [H, W, 2]
    return jnp.tanh(x @ params[0]) @ params[1]


MLP_PARAMS = (
    jnp.asarray(np.random.default_rng(1).normal(size=(3, 5)), jnp.float32),
    jnp.asarray(np.random.default_rng(2).normal(size=(5, 2)), jnp.float32),
)
GRADIENT = vanilla_gradient(pixel_mlp, channel_reduction="sum")


def channel_sum(key, params, x, target):  # linear in x: e(x + u) - e(x) = e(u)
    del key, target
    return params * x.sum(-1)


def reproduce_noise(key, radius, num_samples):
    key_noise, _ = jax.random.split(key)
    return np.asarray(
        jax.random.uniform(
            key_noise, (num_samples, SIZE, SIZE, 3), minval=-radius, maxval=radius
        )
    )


def test_radius_zero_gives_zero():
    for fn in (max_sensitivity, avg_sensitivity):
        assert float(fn(GRADIENT, KEY, MLP_PARAMS, IMAGE, TARGET, radius=0.0)) == 0.0


def test_stochastic_explainer_shares_its_key():
    def noisy(key, params, x, target):
        return channel_sum(key, params, x, target) + jax.random.normal(key, x.shape[:2])

    values = sensitivities(noisy, KEY, 2.0, IMAGE, TARGET, radius=0.0, num_samples=3)
    np.testing.assert_array_equal(values, 0.0)


def test_linear_explainer_oracle():
    noise = reproduce_noise(KEY, 0.1, 6)
    values = sensitivities(
        channel_sum, KEY, 2.0, IMAGE, TARGET, radius=0.1, num_samples=6, clip_range=None
    )
    x_sum = np.asarray(IMAGE).sum(-1)
    expected = np.linalg.norm(noise.sum(-1).reshape(6, -1), axis=1)
    np.testing.assert_allclose(values, expected / np.linalg.norm(x_sum), rtol=1e-5)
    assert np.all(np.abs(noise) <= 0.1) and np.abs(noise).max() > 0.05


def test_clipping_and_zero_norm_explanation():
    x = jnp.full((SIZE, SIZE, 3), 0.98)
    noise = reproduce_noise(KEY, 0.1, 4)
    clipped = np.clip(np.asarray(x) + noise, 0.0, 1.0) - np.asarray(x)
    expected = np.linalg.norm(clipped.sum(-1).reshape(4, -1), axis=1)
    values = sensitivities(channel_sum, KEY, 1.0, x, TARGET, radius=0.1, num_samples=4)
    x_norm = np.linalg.norm(np.asarray(x).sum(-1))
    np.testing.assert_allclose(values, expected / x_norm, rtol=1e-5)

    def centred(key, params, image, target):  # zero at the clean image
        return channel_sum(key, params, image - x, target)

    values = sensitivities(centred, KEY, 1.0, x, TARGET, radius=0.1, num_samples=4)
    np.testing.assert_allclose(values, expected, rtol=1e-5)  # not normalised


def test_determinism_aggregates_jit_and_chunking():
    run = functools.partial(sensitivities, GRADIENT, radius=0.1, num_samples=5)
    values = run(KEY, MLP_PARAMS, IMAGE, TARGET)
    assert values.shape == (5,) and np.all(np.asarray(values) > 0)
    np.testing.assert_array_equal(run(KEY, MLP_PARAMS, IMAGE, TARGET), values)
    other = run(jax.random.key(1), MLP_PARAMS, IMAGE, TARGET)
    assert not np.allclose(other, values)
    kwargs = {"radius": 0.1, "num_samples": 5}
    np.testing.assert_allclose(
        max_sensitivity(GRADIENT, KEY, MLP_PARAMS, IMAGE, TARGET, **kwargs),
        values.max(),
    )
    np.testing.assert_allclose(
        avg_sensitivity(GRADIENT, KEY, MLP_PARAMS, IMAGE, TARGET, **kwargs),
        values.mean(),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        jax.jit(run)(KEY, MLP_PARAMS, IMAGE, TARGET), values, rtol=1e-5
    )
    for options in ({"chunk_size": None}, {"chunk_size": 2, "strategy": "lax_map"}):
        np.testing.assert_allclose(
            run(KEY, MLP_PARAMS, IMAGE, TARGET, **options), values, rtol=1e-5
        )


def test_vmap_over_images_matches_loop():
    images = jnp.stack([IMAGE, IMAGE[::-1], 0.5 * IMAGE])
    run = functools.partial(sensitivities, GRADIENT, radius=0.1, num_samples=3)
    batched = jax.vmap(run, in_axes=(None, None, 0, None))(
        KEY, MLP_PARAMS, images, TARGET
    )
    for i in range(3):
        np.testing.assert_allclose(
            batched[i], run(KEY, MLP_PARAMS, images[i], TARGET), rtol=1e-5
        )


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"radius": -0.1}, "radius"),
        ({"radius": float("nan")}, "radius"),
        ({"num_samples": 0}, "num_samples"),
        ({"num_samples": 2.5}, "num_samples"),
        ({"clip_range": (1.0, 0.0)}, "clip_range"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"strategy": "scan"}, "strategy"),
    ],
)
def test_bad_options_name_the_argument(options, argument):
    with pytest.raises((ValueError, TypeError), match=argument):
        sensitivities(GRADIENT, KEY, MLP_PARAMS, IMAGE, TARGET, **options)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="x: expected values in"):
        sensitivities(GRADIENT, KEY, MLP_PARAMS, IMAGE + 1.5, TARGET)
    with pytest.raises(ValueError, match="x: expected finite"):
        sensitivities(GRADIENT, KEY, MLP_PARAMS, IMAGE.at[0, 0, 0].set(jnp.nan), TARGET)
    empty = make_target(0, jnp.zeros((SIZE, SIZE)))
    with pytest.raises(ValueError, match="target.mask"):
        sensitivities(GRADIENT, KEY, MLP_PARAMS, IMAGE, empty)


def test_docstring_examples():
    assert doctest.testmod(robustness, raise_on_error=False).failed == 0
