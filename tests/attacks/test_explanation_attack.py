"""The three-term attack on explanations: schedule, constraints, determinism, errors."""

import dataclasses
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _testing import numpy_init

from segxai_jax.attacks import (
    AttackConfig,
    explanation_attack,
    normalize_heatmap,
    project,
    softplus_beta_schedule,
    square_pattern,
    unet_apply_at,
)
from segxai_jax.explainers import seg_grad_cam, smoothgrad, vanilla_gradient
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.probes import make_probe
from segxai_jax.targets import make_target

SIZE, BATCH = 16, 2


@pytest.fixture(scope="module")
def setup():
    """A tiny ReLU U-Net (piecewise linear: no normalisation), 2 images."""
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8), norm="none"))
    params = numpy_init(model, (SIZE, SIZE, 3), seed=0)
    x = jax.random.uniform(jax.random.key(1), (BATCH, SIZE, SIZE, 3))
    mask = jnp.zeros((SIZE, SIZE)).at[4:12, 4:12].set(1.0)
    targets = make_target(jnp.array([1, 2]), jnp.stack([mask, mask]))
    maps = jnp.broadcast_to(square_pattern((SIZE, SIZE), size=5), (BATCH, SIZE, SIZE))
    return model, params, x, targets, maps


def gradient_at(model):
    apply_at = unet_apply_at(model)
    return lambda beta: vanilla_gradient(apply_at(beta))


def make_attack(model, explainer_at=None, **overrides):
    fields = {"num_steps": 6, "learning_rate": 1e-2, "gamma_output": 1.0}
    config = AttackConfig(**{**fields, **overrides})
    return explanation_attack(
        unet_apply_at(model), explainer_at or gradient_at(model), config=config
    )


def test_relu_second_order_gradient_is_zero_softplus_is_not(setup):
    """Why the schedule exists: d/dx of a ReLU gradient explanation is zero a.e."""
    model, params, x, targets, maps = setup
    explain_at = gradient_at(model)
    weights = jax.random.normal(jax.random.key(2), (SIZE, SIZE))
    target = jax.tree.map(lambda leaf: leaf[0], targets)

    def objective(beta):
        def of_x(xi):
            heat = normalize_heatmap(explain_at(beta)(None, params, xi, target))
            return jnp.sum(weights * heat)

        return jax.jit(jax.grad(of_x))(x[0])

    relu = np.asarray(objective(None))
    smooth = np.asarray(objective(10.0))
    assert np.all(relu == 0.0)
    assert np.all(np.isfinite(smooth))
    assert np.mean(smooth != 0.0) > 0.9 and np.abs(smooth).max() > 1e-6


def test_schedule_is_geometric_from_start_to_end():
    betas = np.array(
        [
            softplus_beta_schedule(t, num_steps=5, beta_start=10.0, beta_end=100.0)
            for t in range(7)
        ]
    )
    np.testing.assert_allclose(betas[[0, 4]], [10.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(betas[1:5] / betas[:4], 10 ** (1 / 4), rtol=1e-5)
    np.testing.assert_allclose(betas[5:], 100.0, rtol=1e-6)  # clipped after T - 1


def test_loss_decreases_and_the_explanation_moves_to_the_target(setup):
    model, params, x, targets, maps = setup
    # A constant beta keeps the objective fixed, so its decrease is meaningful.
    attack = make_attack(
        model, num_steps=25, softplus_schedule=(30.0, 30.0), gamma_explanation=1e4
    )
    _, history = attack.run(jax.random.key(0), params, x, maps, targets)
    loss = np.asarray(history.loss)  # [steps, B]
    assert np.all(np.isfinite(loss))
    assert np.all(loss[-1] < 0.85 * loss[0]), loss[[0, -1]]
    assert np.all(np.asarray(history.explanation)[-1] < history.explanation[0])
    np.testing.assert_allclose(history.softplus_beta, 30.0, rtol=1e-6)


def smoothgrad_at(model):
    apply_at = unet_apply_at(model)

    def explainer_at(beta):
        return smoothgrad(
            vanilla_gradient(apply_at(beta)), num_samples=2, noise_level=0.1
        )

    return explainer_at


def test_clamp_projection_exact_same_seed_same_result(setup):
    """SmoothGrad's noise and the random start both draw from the attack's key."""
    model, params, x, targets, maps = setup
    budget = 0.03
    # A large step so that both constraints bind.
    attack = make_attack(
        model,
        smoothgrad_at(model),
        num_steps=3,
        learning_rate=0.5,
        linf_budget=budget,
        random_start=True,
    )
    first, _ = attack.run(jax.random.key(3), params, x, maps, targets)
    again, _ = attack.run(jax.random.key(3), params, x, maps, targets)
    other, _ = attack.run(jax.random.key(4), params, x, maps, targets)
    np.testing.assert_array_equal(first.x_adv, again.x_adv)
    assert not np.array_equal(first.x_adv, other.x_adv)

    x = np.asarray(x)
    lower = np.maximum(x - np.float32(budget), 0.0)
    upper = np.minimum(x + np.float32(budget), 1.0)
    for state in (first, other):
        x_adv = np.asarray(state.x_adv)
        assert x_adv.dtype == np.float32
        assert np.all((x_adv >= lower) & (x_adv <= upper))
        assert np.all((x_adv >= 0.0) & (x_adv <= 1.0))
        # The bounds are reached: the projection and the clamp did the work.
        assert np.mean((x_adv == lower) | (x_adv == upper)) > 0.5
        assert np.any(x_adv == 0.0) and np.any(x_adv == 1.0)


def test_project_alone_is_exact_at_the_edges():
    x = jnp.array([0.0, 0.01, 0.5, 0.99, 1.0])
    far = jnp.array([-1.0, 1.0, -1.0, 2.0, 2.0])
    out = project(far, x, 0.1)
    np.testing.assert_array_equal(
        out, jnp.clip(jnp.clip(far, x - 0.1, x + 0.1), 0.0, 1.0)
    )
    assert float(jnp.max(jnp.abs(out - x))) <= 0.1 + 1e-7


def pixel_net_at(beta):
    """A per-pixel two-layer net with a swappable activation (cheap to run eagerly)."""

    def act(z):
        return jax.nn.relu(z) if beta is None else jax.nn.softplus(beta * z) / beta

    return lambda w, x: act(x @ w[0]) @ w[1]


def test_jit_equals_no_jit_and_compiles_once(setup):
    _, _, x, targets, maps = setup
    params = tuple(
        jax.random.normal(k, s)
        for k, s in zip(
            jax.random.split(jax.random.key(5)), ((3, 6), (6, 3)), strict=True
        )
    )
    config = AttackConfig(num_steps=4, learning_rate=1e-2, linf_budget=0.1)
    # Plain gradient steps: Adam's first steps are ~lr * sign(g), which turns
    # rounding differences of near-zero gradients into differences of lr.
    attack = explanation_attack(
        pixel_net_at,
        lambda beta: vanilla_gradient(pixel_net_at(beta)),
        config=config,
        optimizer=optax.sgd(1e-9),
    )
    state = attack.init(jax.random.key(0), params, x, maps, targets)
    update = jax.jit(chex.assert_max_traces(attack.update, n=1))
    jitted, eager = state, state
    for _ in range(2):
        jitted, info_jit = update(params, jitted)
        eager, info_eager = attack.update(params, eager)
    np.testing.assert_allclose(jitted.x_adv, eager.x_adv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(info_jit.loss, info_eager.loss, rtol=1e-4)
    assert not np.array_equal(jitted.x_adv, x)
    jitted, info_jit = update(params, jitted)  # a third step: no new trace
    assert int(jitted.step) == 3
    # The traced beta follows the schedule without recompiling.
    expected = softplus_beta_schedule(2, num_steps=4, beta_start=10.0, beta_end=100.0)
    np.testing.assert_allclose(info_jit.softplus_beta, expected, rtol=1e-6)


def test_seg_grad_cam_attack_takes_finite_steps(setup):
    """Seg-Grad-CAM's probe is rebuilt with a traced beta inside the step."""
    model, params, x, targets, maps = setup

    def explainer_at(beta):
        probe = make_probe(
            model,
            "bottleneck",
            input_shape=(SIZE, SIZE, 3),
            apply_kwargs={"softplus_beta": beta},
        )
        return seg_grad_cam(probe)

    attack = make_attack(model, explainer_at, num_steps=2)
    state, history = attack.run(jax.random.key(0), params, x, maps, targets)
    assert np.all(np.isfinite(history.loss))
    assert not np.array_equal(state.x_adv, x)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("gamma_explanation", math.nan, "gamma_explanation: expected a finite"),
        ("gamma_output", math.inf, "gamma_output: expected a finite"),
        ("gamma_input", -1.0, "gamma_input: expected a finite number >= 0"),
        ("linf_budget", 0.0, "linf_budget: expected a finite number > 0"),
        ("linf_budget", -0.1, "linf_budget: expected a finite number > 0"),
        ("num_steps", 0, "num_steps: expected an int >= 1"),
        ("learning_rate", math.nan, "learning_rate"),
        ("softplus_schedule", (100.0, 10.0), "softplus_schedule: expected beta_start"),
        ("softplus_schedule", (0.0, 10.0), r"softplus_schedule\[0\]"),
        ("random_start", True, "random_start: expected linf_budget"),
    ],
)
def test_bad_hyperparameters_name_the_argument(field, value, match):
    with pytest.raises(ValueError, match=match):
        AttackConfig(**{field: value})


def test_config_is_keyword_only_and_frozen():
    config = AttackConfig(linf_budget=1)
    assert config.linf_budget == 1.0 and isinstance(config.linf_budget, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_steps = 3
    with pytest.raises(TypeError):
        AttackConfig(10)


def test_target_map_of_wrong_shape_is_rejected(setup):
    model, params, x, targets, maps = setup
    attack = make_attack(model)
    for bad in (maps[0], maps[:1], jnp.zeros((BATCH, SIZE, SIZE + 1))):
        with pytest.raises(ValueError, match=r"target_maps: expected shape \(2, 16"):
            attack.init(jax.random.key(0), params, x, bad, targets)
    with pytest.raises(ValueError, match="target_maps: expected finite"):
        attack.init(
            jax.random.key(0), params, x, maps.at[0, 0, 0].set(jnp.nan), targets
        )
    with pytest.raises(ValueError, match="target_maps: expected maps with a non-zero"):
        attack.init(jax.random.key(0), params, x, maps.at[1].set(0.0), targets)


def test_schedule_without_a_swappable_activation_is_rejected(setup):
    model, params, x, targets, maps = setup
    fixed = unet_apply_at(model)(None)  # ignores beta: a plain ReLU model
    config = AttackConfig(num_steps=2)
    attack = explanation_attack(
        lambda beta: fixed, lambda beta: vanilla_gradient(fixed), config=config
    )
    with pytest.raises(ValueError, match="apply_at: the softplus-beta schedule"):
        attack.init(jax.random.key(0), params, x, maps, targets)
    # An apply function instead of a factory of beta.
    attack = explanation_attack(fixed, lambda beta: vanilla_gradient(fixed))
    with pytest.raises(ValueError, match=r"apply_at: expected apply_at\(softplus"):
        attack.init(jax.random.key(0), params, x, maps, targets)
    # Without the schedule the same model is accepted.
    attack = explanation_attack(
        lambda beta: fixed,
        lambda beta: vanilla_gradient(fixed),
        config=AttackConfig(num_steps=1, softplus_schedule=None),
    )
    attack.init(jax.random.key(0), params, x, maps, targets)


def test_bad_images_and_targets_are_rejected(setup):
    model, params, x, targets, maps = setup
    attack = make_attack(model)
    with pytest.raises(ValueError, match=r"x: expected values in \[0.0, 1.0\]"):
        attack.init(jax.random.key(0), params, x * 2.0, maps, targets)
    with pytest.raises(ValueError, match=r"x: expected images \[B, H, W, C\]"):
        attack.init(jax.random.key(0), params, x[0], maps, targets)
    one = jax.tree.map(lambda leaf: leaf[0], targets)
    with pytest.raises(ValueError, match="targets: expected a Target with class_id"):
        attack.init(jax.random.key(0), params, x, maps, one)


def test_fresh_explainer_keys_redraw_the_noise_every_step(setup):
    """A key-only explainer: fixed keys give one map for all steps, fresh keys not."""
    model, params, x, targets, maps = setup

    def noise_at(beta):
        del beta
        return lambda key, params, xi, target: jax.random.uniform(key, xi.shape[:2])

    config = AttackConfig(
        num_steps=3, learning_rate=1e-2, gamma_output=1.0, softplus_schedule=None
    )
    apply_at = unet_apply_at(model)
    runs = {
        fresh: explanation_attack(
            apply_at, noise_at, config=config, fresh_explainer_keys=fresh
        ).run(jax.random.key(0), params, x, maps, targets)[1]
        for fresh in (False, True)
    }
    fixed, fresh = runs[False].explanation, runs[True].explanation
    np.testing.assert_array_equal(fixed[0], fixed[1])
    np.testing.assert_array_equal(fixed[1], fixed[2])
    assert np.all(np.asarray(fresh[1]) != np.asarray(fresh[0]))
    assert np.all(np.asarray(fresh[2]) != np.asarray(fresh[1]))
    with pytest.raises((TypeError, ValueError), match="fresh_explainer_keys"):
        explanation_attack(apply_at, noise_at, fresh_explainer_keys="yes")
