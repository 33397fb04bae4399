"""The gradient-free (evolution-strategy) attack: estimator, constraints, refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.attacks import (
    AttackConfig,
    SearchConfig,
    es_gradient,
    explanation_attack,
    gradient_free_attack,
    search_directions,
    square_pattern,
    unet_apply_at,
)
from segxai_jax.explainers import occlusion, seg_ablation_cam, vanilla_gradient
from segxai_jax.models import UNet, UNetConfig, unet_apply_fn
from segxai_jax.probes import make_probe
from segxai_jax.targets import make_target

SIZE, BATCH = 16, 2
CONFIG = AttackConfig(
    num_steps=8,
    learning_rate=2e-2,
    gamma_output=1.0,
    softplus_schedule=None,
    linf_budget=0.1,
)


@pytest.fixture(scope="module")
def setup():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), seed=0)
    x = jax.random.uniform(jax.random.key(1), (BATCH, SIZE, SIZE, 3))
    mask = jnp.zeros((SIZE, SIZE)).at[4:12, 4:12].set(1.0)
    targets = make_target(jnp.array([1, 2]), jnp.stack([mask, mask]))
    maps = jnp.broadcast_to(square_pattern((SIZE, SIZE), size=5), (BATCH, SIZE, SIZE))
    return model, params, x, targets, maps


def occlusion_of(model):
    return occlusion(unet_apply_fn(model), patch_size=4, stride=4)


def test_es_gradient_is_unbiased_for_a_linear_loss():
    """E[g] = w for L(x) = <w, x> with full-resolution directions."""
    w = jax.random.normal(jax.random.key(0), (4, 4, 1))
    sigma = 0.1

    def estimate(key):
        u = search_directions(key, (4, 4, 1), 8, None)
        plus = jnp.sum((sigma * u) * w, axis=(1, 2, 3))
        losses = jnp.concatenate([plus, -plus])  # L(x + s u) - L(x) and the mirror
        return es_gradient(losses, u, sigma)

    mean = jax.vmap(estimate)(jax.random.split(jax.random.key(1), 4000)).mean(0)
    np.testing.assert_allclose(mean, w, atol=0.1)


def test_coarse_directions_are_smooth_and_of_the_image_shape():
    u = search_directions(jax.random.key(0), (16, 16, 3), 5, 4)
    assert u.shape == (5, 16, 16, 3)
    # Bilinear upsampling of a 4x4 lattice: neighbouring pixels nearly equal.
    assert float(jnp.abs(jnp.diff(u, axis=1)).mean()) < float(jnp.abs(u).mean()) / 2
    with pytest.raises(ValueError, match="grid"):
        search_directions(jax.random.key(0), (16, 16, 3), 5, 17)


def test_attack_lowers_the_loss_keeps_constraints_and_repeats(setup):
    model, params, x, targets, maps = setup
    attack = gradient_free_attack(
        unet_apply_fn(model),
        occlusion_of(model),
        config=CONFIG,
        search=SearchConfig(population=8, sigma=0.02, grid=4),
    )
    state, history = attack.run(jax.random.key(0), params, x, maps, targets)
    assert history.loss.shape == (CONFIG.num_steps, BATCH)
    assert np.all(np.asarray(history.loss[-1]) < np.asarray(history.loss[0]))
    delta = np.asarray(state.x_adv - x)
    assert np.abs(delta).max() <= 0.1 + 1e-7
    assert 0.0 <= float(state.x_adv.min()) and float(state.x_adv.max()) <= 1.0
    again, _ = attack.run(jax.random.key(0), params, x, maps, targets)
    np.testing.assert_array_equal(state.x_adv, again.x_adv)
    # jit == no jit for one step.
    start = attack.init(jax.random.key(3), params, x, maps, targets)
    jitted, _ = jax.jit(attack.update)(params, start)
    eager, _ = attack.update(params, start)
    np.testing.assert_allclose(jitted.x_adv, eager.x_adv, atol=1e-6)


def test_seg_ablation_cam_is_attacked_without_gradients(setup):
    model, params, x, targets, maps = setup
    probe = make_probe(model, "enc0", input_shape=(SIZE, SIZE, 3))
    attack = gradient_free_attack(
        unet_apply_fn(model),
        seg_ablation_cam(probe),
        config=CONFIG.__class__(**{**CONFIG.__dict__, "num_steps": 2}),
        search=SearchConfig(population=2, grid=4),
    )
    _, history = attack.run(jax.random.key(0), params, x, maps, targets)
    assert np.all(np.isfinite(np.asarray(history.loss)))


def test_gradient_attack_refuses_perturbation_based_explainers(setup):
    model = setup[0]
    apply_at = unet_apply_at(model)
    for explain in (
        occlusion_of(model),
        seg_ablation_cam(make_probe(model, "enc0", input_shape=(SIZE, SIZE, 3))),
    ):
        with pytest.raises(ValueError, match="gradient_free_attack"):
            explanation_attack(apply_at, lambda beta, e=explain: e)
    # A gradient explainer is accepted.
    explanation_attack(apply_at, lambda beta: vanilla_gradient(apply_at(beta)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"config": AttackConfig(num_steps=2)}, "softplus_schedule"),
        ({"search": {"population": 4}}, "search"),
        ({"config": "fast"}, "config"),
    ],
)
def test_bad_settings_name_the_argument(setup, kwargs, match):
    model = setup[0]
    arguments = {"config": CONFIG, **kwargs}
    with pytest.raises((TypeError, ValueError, AttributeError), match=match):
        gradient_free_attack(unet_apply_fn(model), occlusion_of(model), **arguments)


@pytest.mark.parametrize(
    ("field", "value"), [("population", 0), ("sigma", 0.0), ("grid", -1)]
)
def test_bad_search_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SearchConfig(**{field: value})
