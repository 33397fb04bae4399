"""SmoothGrad, SmoothGrad-Squared and VarGrad around any explainer."""

import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import assert_close_reordered

from segxai_jax.explainers.gradients import vanilla_gradient
from segxai_jax.explainers.smoothgrad import sample_noise, smoothgrad
from segxai_jax.models.unet import UNetConfig, init_unet, unet_apply_fn
from segxai_jax.targets import box_roi, make_target

SIZE = 16


@pytest.fixture(scope="module")
def unet():
    config = UNetConfig(
        num_classes=3, widths=(4, 8), activation="softplus", norm="none"
    )
    model, params = init_unet(jax.random.key(0), config, image_size=SIZE)
    x = jax.random.uniform(jax.random.key(1), (SIZE, SIZE, 3))
    target = make_target(2, box_roi((SIZE, SIZE), 3, 5, 6, 7))
    return unet_apply_fn(model), params, x, target


def keyed_dummy(key, params, x, target):
    """A gradient-free explainer ``[H, W]`` that also uses its key (CAM-shaped)."""
    del params
    return x[..., 0] ** 2 * target.mask + jax.random.uniform(key, x.shape[:2])


def per_pixel_linear(weights, x):
    return x @ weights


@pytest.mark.parametrize(
    "model, variant",
    [
        ("unet", "mean"),
        ("linear", "mean"),
        ("linear", "squared"),
        ("linear", "variance"),
    ],
)
def test_zero_noise_reproduces_the_base_explainer(unet, model, variant):
    if model == "unet":
        apply_fn, params, x, target = unet
    else:
        apply_fn, params = per_pixel_linear, jnp.arange(6.0).reshape(3, 2)
        x, target = unet[2], make_target(1, unet[3].mask)
    # Both jitted (fast). Mathematically equal, but the samples run batched and
    # the base unbatched: other convolution blocking, so equal only up to the
    # order of additions (bit-equal on one Intel CPU, 2e-9 apart on an AMD one).
    base = jax.jit(vanilla_gradient(apply_fn))(None, params, x, target)
    out = jax.jit(
        smoothgrad(
            vanilla_gradient(apply_fn), num_samples=6, noise_level=0.0, variant=variant
        )
    )(jax.random.key(7), params, x, target)
    expected = {"mean": base, "squared": base**2, "variance": np.zeros_like(base)}
    scale = float(np.max(np.abs(base)))
    assert_close_reordered(
        out, expected[variant], scale=scale ** (2 if variant == "squared" else 1)
    )


@pytest.mark.parametrize("variant", ["mean", "squared", "variance"])
def test_variants_match_numpy_on_the_same_samples(unet, variant):
    _, _, x, target = unet
    key = jax.random.key(11)
    explain = smoothgrad(keyed_dummy, num_samples=5, noise_level=0.2, variant=variant)
    noise, sample_keys = sample_noise(key, x, num_samples=5, noise_level=0.2)
    samples = np.stack(
        [keyed_dummy(sample_keys[i], None, x + noise[i], target) for i in range(5)]
    ).astype(np.float64)
    expected = {
        "mean": samples.mean(0),
        "squared": (samples**2).mean(0),
        "variance": samples.var(0),  # population variance (ddof = 0)
    }[variant]
    out = explain(key, None, x, target)
    assert out.shape == (SIZE, SIZE)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_noise_has_the_papers_scale_and_fresh_keys(unet):
    _, _, x, _ = unet
    x = x * 3.0 - 1.0  # range ~4: sigma must follow the image's range
    noise, sample_keys = sample_noise(
        jax.random.key(0), x, num_samples=64, noise_level=0.1
    )
    sigma = 0.1 * float(x.max() - x.min())
    assert noise.shape == (64, *x.shape)
    # 49k draws: the sample std is within 2 % of sigma (this key, deterministic).
    np.testing.assert_allclose(float(noise.std()), sigma, rtol=0.02)
    key_data = np.asarray(jax.random.key_data(sample_keys)).reshape(64, -1)
    assert len({row.tobytes() for row in key_data}) == 64


def test_same_key_same_map_and_different_key_different_map(unet):
    apply_fn, params, x, target = unet
    explain = jax.jit(smoothgrad(vanilla_gradient(apply_fn), num_samples=4))
    first = explain(jax.random.key(1), params, x, target)
    np.testing.assert_array_equal(first, explain(jax.random.key(1), params, x, target))
    assert not np.allclose(first, explain(jax.random.key(2), params, x, target))


def test_smoothgrad_averages_towards_the_expected_map(unet):
    # E[(x + eps)^2] = x^2 + sigma^2 and the key term averages to 1/2: with 400
    # samples the mean is within a few standard errors (fixed key: deterministic).
    _, _, x, target = unet
    target = make_target(0, jnp.ones((SIZE, SIZE)))
    explain = smoothgrad(keyed_dummy, num_samples=400, noise_level=0.1, chunk_size=None)
    sigma = 0.1 * float(x.max() - x.min())
    expected = x[..., 0] ** 2 + sigma**2 + 0.5
    out = explain(jax.random.key(3), None, x, target)
    assert np.abs(np.asarray(out - expected)).mean() < 0.03


def test_auto_chunks_equal_unchunked_and_follow_the_image_size(unet, monkeypatch):
    from segxai_jax import sweeps

    apply_fn, params, x, target = unet
    key = jax.random.key(5)
    seen = []
    real = sweeps.map_chunked
    module = sys.modules["segxai_jax.explainers.smoothgrad"]
    monkeypatch.setattr(
        module,
        "map_chunked",
        lambda fn, xs, *, chunk_size, strategy: (
            seen.append(chunk_size)
            or real(fn, xs, chunk_size=chunk_size, strategy=strategy)
        ),
    )
    auto = smoothgrad(vanilla_gradient(apply_fn), num_samples=7)  # "auto"
    full = smoothgrad(vanilla_gradient(apply_fn), num_samples=7, chunk_size=None)
    np.testing.assert_allclose(
        jax.jit(auto)(key, params, x, target),
        jax.jit(full)(key, params, x, target),
        rtol=1e-5,
        atol=1e-6,
    )
    assert seen[0] == sweeps.auto_chunk_size(7, x.size) == 7  # a small image: 1 chunk


def test_auto_chunk_size_bounds_elements_per_chunk():
    from segxai_jax.sweeps import auto_chunk_size

    assert auto_chunk_size(16, 64 * 64 * 3) == 16
    assert auto_chunk_size(16, 128 * 128 * 3) == 4  # limit 5: four equal chunks
    assert auto_chunk_size(16, 512 * 512 * 3) == 4  # never below 4
    assert auto_chunk_size(3, 512 * 512 * 3) == 3
    for total in range(1, 60):
        chunk = auto_chunk_size(total, 64 * 64 * 3)
        assert 1 <= chunk <= total and chunk * 64 * 64 * 3 <= 2**18 + 12288 * 4


@pytest.mark.parametrize("strategy", ["unroll", "lax_map"])
def test_chunked_equals_unchunked(unet, strategy):
    apply_fn, params, x, target = unet
    key = jax.random.key(5)
    full = jax.jit(
        smoothgrad(vanilla_gradient(apply_fn), num_samples=7, chunk_size=None)
    )
    chunked = jax.jit(
        smoothgrad(
            vanilla_gradient(apply_fn), num_samples=7, chunk_size=3, strategy=strategy
        )
    )
    np.testing.assert_allclose(
        chunked(key, params, x, target),
        full(key, params, x, target),
        rtol=1e-5,
        atol=1e-6,
    )


def test_jit_equals_no_jit_and_compiles_once(unet):
    apply_fn, params, x, target = unet
    explain = smoothgrad(vanilla_gradient(apply_fn), num_samples=4)
    eager = explain(jax.random.key(0), params, x, target)
    jitted = jax.jit(chex.assert_max_traces(explain, n=1))
    for seed in (1, 2, 3):
        jitted(jax.random.key(seed), params, x, target)
    # XLA fuses differently under jit: equal up to float32 rounding.
    np.testing.assert_allclose(
        jitted(jax.random.key(0), params, x, target), eager, rtol=1e-4, atol=1e-5
    )


def test_gradient_through_smoothgrad_is_finite_nonzero_and_deterministic(unet):
    apply_fn, params, x, target = unet
    explain = smoothgrad(vanilla_gradient(apply_fn), num_samples=3)

    def loss(x):
        return jnp.sum(explain(jax.random.key(9), params, x, target) ** 2)

    grad = jax.jit(jax.grad(loss))
    first = grad(x)
    assert np.all(np.isfinite(first))
    assert np.mean(np.asarray(first) != 0) > 0.5
    np.testing.assert_array_equal(first, grad(x))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"num_samples": 0}, "num_samples"),
        ({"num_samples": 2.5}, "num_samples"),
        ({"noise_level": -0.1}, "noise_level"),
        ({"noise_level": float("inf")}, "noise_level"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": "big"}, "chunk_size"),
        ({"variant": "median"}, "variant"),
        ({"strategy": "scan"}, "strategy"),
    ],
)
def test_bad_hyperparameters_raise_value_error(kwargs, argument):
    with pytest.raises((ValueError, TypeError), match=argument):
        smoothgrad(keyed_dummy, **kwargs)


@pytest.mark.parametrize(
    "change, argument",
    [
        (lambda x, t: (x.at[1, 2, 0].set(jnp.nan), t), "x"),
        (lambda x, t: (x[..., 0], t), "x"),
        (lambda x, t: (x, make_target(0, jnp.ones((SIZE, 4)))), "target.mask"),
        (lambda x, t: (x, make_target(0, jnp.zeros((SIZE, SIZE)))), "target.mask"),
        (lambda x, t: (x, make_target(3, t.mask)), "target.class_id"),
    ],
    ids=["nan", "rank", "mask_shape", "empty_roi", "class_out_of_range"],
)
def test_bad_inputs_raise_value_error(unet, change, argument):
    _, _, x, target = unet
    x, target = change(x, target)
    params = jnp.ones((3, 3))  # per-pixel linear model with K = 3 classes
    explain = smoothgrad(vanilla_gradient(per_pixel_linear), num_samples=2)
    with pytest.raises(ValueError, match=argument.replace(".", r"\.")):
        explain(jax.random.key(0), params, x, target)
