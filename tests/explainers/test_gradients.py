"""Vanilla gradient, gradient x input and integrated gradients."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.explainers.gradients import (
    IG_RULES,
    gradient_x_input,
    integrated_gradients,
    integration_points,
    target_score_fn,
    vanilla_gradient,
)
from segxai_jax.models.unet import UNetConfig, init_unet, unet_apply_fn
from segxai_jax.postprocess import reduce_channels
from segxai_jax.targets import Target, box_roi, make_target

SIZE, CHANNELS, CLASSES = 8, 3, 4


def linear_apply(weights, x):
    """A per-pixel linear model: logits[i, j] = x[i, j] @ W, so dS/dx is known."""
    return x @ weights  # [H, W, K]


@pytest.fixture(scope="module")
def linear():
    weights = jax.random.normal(jax.random.key(0), (CHANNELS, CLASSES))
    x = jax.random.uniform(jax.random.key(1), (SIZE, SIZE, CHANNELS))
    mask = box_roi((SIZE, SIZE), 2, 1, 3, 4)
    return weights, x, make_target(2, mask)


@pytest.fixture(scope="module")
def unet():
    """A tiny smooth U-Net for integral and second-order tests.

    Softplus and no GroupNorm: at a black baseline a freshly initialised
    GroupNorm net (zero biases) is scale-invariant, so its score jumps within
    alpha < 1e-3 of the baseline and no affordable quadrature resolves it.
    """
    config = UNetConfig(
        num_classes=3, widths=(4, 8), activation="softplus", norm="none"
    )
    model, params = init_unet(jax.random.key(3), config, image_size=16)
    x = jax.random.uniform(jax.random.key(4), (16, 16, 3))
    target = make_target(1, box_roi((16, 16), 4, 4, 8, 6))
    return unet_apply_fn(model), params, x, target


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_vanilla_gradient_equals_analytic_gradient_of_linear_model(linear, reduction):
    weights, x, target = linear
    explain = vanilla_gradient(linear_apply, score_reduction=reduction)
    expected = target.mask[..., None] * weights[:, 2]  # dS/dx[i, j] = M_ij W[:, c]
    if reduction == "mean":
        expected = expected / target.mask.sum()
    np.testing.assert_allclose(explain(None, weights, x, target), expected, rtol=1e-6)


def test_vanilla_gradient_in_probability_space_two_classes(linear):
    weights, x, target = linear
    weights = weights[:, :2]
    target = make_target(1, target.mask)
    # With two classes p_1 = sigmoid(z_1 - z_0), so dp_1/dx = p (1 - p)(W_1 - W_0).
    p = jax.nn.sigmoid(x @ (weights[:, 1] - weights[:, 0]))
    expected = (target.mask * p * (1 - p))[..., None] * (weights[:, 1] - weights[:, 0])
    explain = vanilla_gradient(linear_apply, score_space="probabilities")
    np.testing.assert_allclose(
        explain(None, weights, x, target), expected, rtol=1e-5, atol=1e-7
    )


def test_gradient_x_input_equals_analytic_product(linear):
    weights, x, target = linear
    explain = gradient_x_input(linear_apply)
    expected = x * target.mask[..., None] * weights[:, 2]
    np.testing.assert_allclose(explain(None, weights, x, target), expected, rtol=1e-6)


@pytest.mark.parametrize("method", ["abs_sum", "abs_max", "sum", "l2"])
def test_channel_reduction_applies_after_the_gradient(linear, method):
    weights, x, target = linear
    raw = vanilla_gradient(linear_apply)(None, weights, x, target)
    reduced = vanilla_gradient(linear_apply, channel_reduction=method)(
        None, weights, x, target
    )
    assert reduced.shape == (SIZE, SIZE)
    np.testing.assert_allclose(reduced, reduce_channels(raw, method), rtol=1e-6)


@pytest.mark.parametrize("rule", IG_RULES)
def test_integration_points_are_a_quadrature_on_unit_interval(rule):
    alphas, weights = integration_points(9, rule)
    assert alphas.shape == weights.shape == (9,)
    assert np.all((alphas >= 0) & (alphas <= 1))
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-6)
    # int_0^1 a da = 1/2: exact except for the one-sided Riemann sums (1/(2n) off).
    error = 1 / 18 if rule in ("riemann_left", "riemann_right") else 0.0
    np.testing.assert_allclose(abs(np.sum(weights * alphas) - 0.5), error, atol=1e-6)


@pytest.mark.parametrize(
    "baseline",
    ["black", "white", 0.25, "array", "callable"],
)
@pytest.mark.parametrize(
    "rule", ["riemann_trapezoid", "riemann_left", "gauss_legendre"]
)
def test_integrated_gradients_is_exact_for_a_linear_model(linear, baseline, rule):
    weights, x, target = linear
    arrays = {
        "black": jnp.zeros_like(x),
        "white": jnp.ones_like(x),
        0.25: jnp.full_like(x, 0.25),
        "array": x[::-1],
        "callable": x * 0.5,
    }
    x0 = arrays[baseline]
    given = {"array": x[::-1], "callable": lambda image: image * 0.5}.get(
        baseline, baseline
    )
    explain = integrated_gradients(linear_apply, num_steps=5, baseline=given, rule=rule)
    expected = (x - x0) * target.mask[..., None] * weights[:, 2]
    np.testing.assert_allclose(
        explain(None, weights, x, target), expected, rtol=1e-5, atol=1e-6
    )


def test_integrated_gradients_completeness_error_falls_with_steps(unet):
    apply_fn, params, x, target = unet
    score = target_score_fn(apply_fn)
    gap = float(score(params, x, target) - score(params, jnp.zeros_like(x), target))

    def error(steps, rule):
        explain = jax.jit(integrated_gradients(apply_fn, num_steps=steps, rule=rule))
        return abs(float(explain(None, params, x, target).sum()) - gap)

    errors = [error(steps, "riemann_middle") for steps in (3, 12, 48)]
    assert errors[0] > errors[1] > errors[2]
    # Second-order rule: 16x more steps should cut the error far more than 16x.
    assert errors[2] < errors[0] / 50
    assert errors[2] < 2e-3 * abs(gap)
    assert error(48, "gauss_legendre") < 2e-3 * abs(gap)  # the default rule


@pytest.mark.parametrize("strategy", ["unroll", "lax_map"])
def test_integrated_gradients_chunked_equals_unchunked(unet, strategy):
    apply_fn, params, x, target = unet
    full = jax.jit(integrated_gradients(apply_fn, num_steps=7, chunk_size=None))
    chunked = jax.jit(
        integrated_gradients(apply_fn, num_steps=7, chunk_size=3, strategy=strategy)
    )
    full, chunked = full(None, params, x, target), chunked(None, params, x, target)
    np.testing.assert_allclose(chunked, full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "factory",
    [
        vanilla_gradient,
        gradient_x_input,
        lambda f: integrated_gradients(f, num_steps=4),
    ],
    ids=["vanilla", "x_input", "ig"],
)
def test_jit_equals_no_jit_and_compiles_once(unet, factory):
    apply_fn, params, x, target = unet
    explain = factory(apply_fn)
    eager = explain(None, params, x, target)
    jitted = jax.jit(chex.assert_max_traces(explain, n=1))
    for shift in (0.0, 0.1, 0.2):  # new values, same shapes: no retrace
        out = jitted(None, params, x + shift, target)
    # XLA fuses differently under jit: equal up to float32 rounding.
    np.testing.assert_allclose(
        jitted(None, params, x, target), eager, rtol=1e-4, atol=1e-5
    )
    assert out.shape == x.shape


def test_gradient_of_explanation_is_finite_and_nonzero_with_softplus(unet):
    apply_fn, params, x, target = unet
    explain = vanilla_gradient(apply_fn)
    grad = jax.grad(lambda x: jnp.sum(explain(None, params, x, target) ** 2))(x)
    assert np.all(np.isfinite(grad))
    assert np.mean(np.asarray(grad) != 0) > 0.5


def test_gradient_of_explanation_vanishes_with_relu():
    # A ReLU U-Net without normalisation is piecewise linear in x (max-pool too),
    # so dS/dx is piecewise constant and its derivative is zero wherever it
    # exists (almost everywhere); autodiff of relu' and of max-selection gives
    # exactly 0. (GroupNorm divides by a data-dependent std, which is smooth:
    # with it even a ReLU net has non-zero second derivatives.)
    config = UNetConfig(num_classes=3, widths=(4, 8), activation="relu", norm="none")
    model, params = init_unet(jax.random.key(5), config, image_size=16)
    x = jax.random.uniform(jax.random.key(6), (16, 16, 3))
    target = make_target(1, jnp.ones((16, 16)))
    explain = vanilla_gradient(unet_apply_fn(model))
    grad = jax.grad(lambda x: jnp.sum(explain(None, params, x, target) ** 2))(x)
    assert np.abs(explain(None, params, x, target)).sum() > 0
    assert np.mean(np.asarray(grad) == 0) > 0.99


def _nan_image(x):
    return x.at[0, 0, 0].set(jnp.nan)


@pytest.mark.parametrize(
    "change, argument",
    [
        (lambda x, t: (_nan_image(x), t), "x"),
        (lambda x, t: (x[None], t), "x"),
        (lambda x, t: (x, make_target(2, jnp.ones((SIZE, SIZE + 1)))), "target.mask"),
        (lambda x, t: (x, make_target(2, jnp.zeros((SIZE, SIZE)))), "target.mask"),
        (lambda x, t: (x, make_target(CLASSES, t.mask)), "target.class_id"),
        # make_target refuses -1 itself; a Target built directly still reaches
        # the explainer, which must refuse it too.
        (lambda x, t: (x, Target(jnp.int32(-1), t.mask)), "target.class_id"),
    ],
    ids=["nan", "rank", "mask_shape", "empty_roi", "class_high", "class_negative"],
)
@pytest.mark.parametrize(
    "factory", [vanilla_gradient, gradient_x_input, integrated_gradients]
)
def test_bad_inputs_raise_value_error_naming_the_argument(
    linear, change, argument, factory
):
    weights, x, target = linear
    x, target = change(x, target)
    with pytest.raises(ValueError, match=argument.replace(".", r"\.")):
        factory(linear_apply)(None, weights, x, target)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"num_steps": 0}, "num_steps"),
        ({"num_steps": 1, "rule": "riemann_trapezoid"}, "num_steps"),  # both ends
        ({"rule": "simpson"}, "rule"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"strategy": "scan"}, "strategy"),
        ({"baseline": "grey"}, "baseline"),
        ({"baseline": float("nan")}, "baseline"),
        ({"score_reduction": "max"}, "score_reduction"),
        ({"score_space": "softmax"}, "score_space"),
        ({"channel_reduction": "mean"}, "channel_reduction"),
    ],
)
def test_bad_hyperparameters_raise_value_error(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        integrated_gradients(linear_apply, **kwargs)


def test_baseline_of_wrong_shape_raises(linear):
    weights, x, target = linear
    explain = integrated_gradients(linear_apply, baseline=jnp.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="baseline"):
        explain(None, weights, x, target)


def test_under_jit_one_nan_pixel_gives_a_nan_map_not_zeros():
    # A ReLU U-Net: ReLU's derivative at NaN is 0, which used to give zeros.
    from segxai_jax.explainers import (
        eigen_cam,
        grad_cam_plus_plus,
        layer_cam,
        seg_grad_cam,
        smoothgrad,
    )
    from segxai_jax.probes import make_probe

    config = UNetConfig(num_classes=3, widths=(4, 8))
    model, params = init_unet(jax.random.key(5), config, image_size=16)
    apply_fn = unet_apply_fn(model)
    x = jax.random.uniform(jax.random.key(6), (16, 16, 3)).at[5, 7, 1].set(jnp.nan)
    target = make_target(1, box_roi((16, 16), 4, 4, 8, 6))
    probe = make_probe(model, "bottleneck", input_shape=(16, 16, 3))
    explainers = {
        "gradient": vanilla_gradient(apply_fn),
        "gradient_x_input": gradient_x_input(apply_fn),
        "integrated_gradients": integrated_gradients(apply_fn, num_steps=4),
        "smoothgrad": smoothgrad(vanilla_gradient(apply_fn), num_samples=3),
        "seg_grad_cam": seg_grad_cam(probe),
        "grad_cam_plus_plus": grad_cam_plus_plus(probe),
        "layer_cam": layer_cam(probe),
        "eigen_cam": eigen_cam(probe),
    }
    for name, explain in explainers.items():
        saliency = np.asarray(jax.jit(explain)(jax.random.key(7), params, x, target))
        assert np.all(np.isnan(saliency)), name
        clean = jax.jit(explain)(jax.random.key(7), params, jnp.nan_to_num(x), target)
        assert np.all(np.isfinite(np.asarray(clean))), name


def test_a_bfloat16_image_is_explained(linear):
    weights, x, target = linear
    explain = vanilla_gradient(linear_apply)
    half = explain(None, weights, x.astype(jnp.bfloat16), target)
    full = explain(None, weights, x, target)
    # Computed in the promoted dtype of image and weights (float32 here).
    np.testing.assert_allclose(
        np.asarray(half, np.float32), np.asarray(full), rtol=1e-2, atol=1e-2
    )
