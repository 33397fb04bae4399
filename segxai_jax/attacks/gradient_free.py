"""The three-term attack without input gradients: an evolution strategy.

Perturbation-based explanations (Seg-Ablation-CAM, occlusion) are computed
from many forward passes; differentiating the explanation with respect to the
input means back-propagating through all of them twice, and scores built on
the argmax (occlusion with ``score="iou"``) have no input gradient at all.
:func:`gradient_free_attack` minimises the same per-image loss as
:func:`~segxai_jax.attacks.explanation_attack`::

    gamma_explanation * ||h(x') - h_t||^2 + gamma_output * ||f(x') - f(x)||^2
  + gamma_input * ||x' - x||^2

from loss VALUES only, with an antithetic evolution strategy (NES; Wierstra
et al., JMLR 2014; Ilyas et al., ICML 2018 for black-box attacks): each step
draws ``population`` directions ``u_i``, evaluates the loss at ``x' +/- sigma
u_i`` and at ``x'`` itself, all ``2 * population + 1`` candidates of every
image in ONE vmapped call, estimates the gradient as::

    g = sum_i (L(x' + sigma u_i) - L(x' - sigma u_i)) u_i / (2 population sigma)

and feeds it to the optimiser (Adam), then projects as the gradient attack
does (L-inf ball, ``[0, 1]``). The directions are drawn on a coarse
``grid x grid`` lattice and upsampled bilinearly to the image (``grid=None``:
one value per pixel): a 64x64x3 image has 12,288 dimensions, and a search in
a 768-dimensional subspace gets a usable estimate from tens of samples.

The explainer is the deployed one (no softplus surrogate: no gradient flows,
so there is nothing to smooth): ``softplus_schedule`` must be ``None``.

References:
  Wierstra, Schaul, Glasmachers, Sun, Peters, Schmidhuber. Natural evolution
  strategies. JMLR 15, 2014.
  Ilyas, Engstrom, Athalye, Lin. Black-box adversarial attacks with limited
  queries and information. ICML 2018.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from segxai_jax import random_draws, validation
from segxai_jax.attacks.config import AttackConfig, _check_images, _check_targets
from segxai_jax.attacks.explanation_attack import (
    AttackInfo,
    AttackState,
    ExplanationAttack,
    normalize_heatmap,
    project,
    with_run,
)
from segxai_jax.attacks.target_maps import check_target_maps


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """The evolution strategy of :func:`gradient_free_attack`.

    Attributes:
      population: antithetic pairs per step (``2 * population + 1`` loss
        evaluations per image and step).
      sigma: standard deviation of the search perturbations, in input units
        (images in ``[0, 1]``).
      grid: directions are drawn on a ``grid x grid`` lattice and upsampled
        bilinearly; ``None`` draws one value per pixel.
    """

    population: int = 16
    sigma: float = 0.01
    grid: int | None = 16

    def __post_init__(self):
        validation.check_int(self.population, "population", minimum=1)
        validation.check_real(self.sigma, "sigma", minimum=0.0, exclusive_minimum=True)
        if self.grid is not None:
            validation.check_int(self.grid, "grid", minimum=1)


def search_directions(key, image_shape, count: int, grid: int | None) -> jax.Array:
    """``count`` standard-normal directions ``[count, H, W, C]``, coarse if ``grid``."""
    height, width, channels = image_shape
    if grid is None:
        return random_draws.normal(key, (count, height, width, channels))
    if grid > min(height, width):
        raise ValueError(
            f"grid: expected at most the image size {min(height, width)}, got {grid}"
        )
    coarse = random_draws.normal(key, (count, grid, grid, channels))
    return jax.image.resize(coarse, (count, height, width, channels), "linear")


def es_gradient(losses: jax.Array, directions: jax.Array, sigma: float) -> jax.Array:
    """Antithetic NES estimate from ``losses [2P]`` (+ then -) and ``u [P, ...]``."""
    population = directions.shape[0]
    differences = losses[:population] - losses[population:]
    return jnp.tensordot(differences, directions, 1) / (2 * population * sigma)


def gradient_free_attack(
    apply_fn: Callable,
    explain: Callable,
    *,
    config: AttackConfig,
    search: SearchConfig | None = None,
    optimizer: optax.GradientTransformation | None = None,
) -> ExplanationAttack:
    """Builds the three-term attack for explainers without useful input gradients.

    Args:
      apply_fn: the deployed model, ``apply_fn(params, x [H, W, C]) -> logits
        [H, W, K]``.
      explain: ``explain(key, params, x, target) -> [H, W(, C)]``, any
        explainer (it is only evaluated); one fixed key per image.
      config: the loss weights, steps, learning rate and L-inf budget
        (:class:`AttackConfig` with ``softplus_schedule=None``).
      search: the evolution strategy (default :class:`SearchConfig()`).
      optimizer: optax transformation of the images; default Adam.

    Returns:
      An :class:`~segxai_jax.attacks.ExplanationAttack` ``(init, update, run,
      config)`` with the gradient attack's contracts; ``update`` draws its
      directions from the state's step and the key given to ``init``.

    Raises:
      ValueError: a ``softplus_schedule`` (the deployed explainer is
        attacked), bad search settings, or (at ``init``) bad images, targets
        or target maps, each naming the argument.
    """
    validation.check_instance(config, "config", AttackConfig)
    if config.softplus_schedule is not None:
        raise ValueError(
            "config.softplus_schedule: expected None for the gradient-free attack "
            "(it evaluates the deployed explainer and no gradient flows, so there "
            "is nothing to smooth), got "
            f"{config.softplus_schedule}"
        )
    search = SearchConfig() if search is None else search
    validation.check_instance(search, "search", SearchConfig)
    validation.check_callable(apply_fn, "apply_fn", "apply_fn(params, x)", 2)
    validation.check_callable(explain, "explain", "explain(key, params, x, t)", 4)
    optimizer = optax.adam(config.learning_rate) if optimizer is None else optimizer
    budget = config.linf_budget

    def init(key, params, x, target_maps, targets) -> AttackState:
        _check_images(x)
        _check_targets(targets, x.shape)
        target_maps = check_target_maps(target_maps, x.shape)
        search_directions(key, x.shape[1:], 1, search.grid)  # checks the grid
        key_start, key_explain, key_search = jax.random.split(key, 3)
        x_adv = x
        if config.random_start:
            noise = random_draws.uniform(
                key_start, x.shape, x.dtype, minval=-budget, maxval=budget
            )
            x_adv = project(x + noise, x, budget)
        clean_probs = jax.vmap(lambda xi: jax.nn.softmax(apply_fn(params, xi)))(x)
        return AttackState(
            x_adv=x_adv,
            x=x,
            target_maps=jax.vmap(normalize_heatmap)(target_maps),
            targets=targets,
            clean_probs=clean_probs,
            explain_keys=jax.random.split(key_explain, x.shape[0]),
            opt_state=optimizer.init(x_adv),
            step=jnp.zeros((), jnp.int32),
            search_key=key_search,
        )

    def terms_of(params, candidate, x, target_map, target, clean_probs, key):
        heat = normalize_heatmap(explain(key, params, candidate, target))
        probs = jax.nn.softmax(apply_fn(params, candidate))
        return (
            jnp.sum(jnp.square(heat - target_map)),
            jnp.sum(jnp.square(probs - clean_probs)),
            jnp.sum(jnp.square(candidate - x)),
        )

    def update(params, state: AttackState) -> tuple[AttackState, AttackInfo]:
        count = search.population
        step_key = jax.random.fold_in(state.search_key, state.step)
        image_keys = jax.random.split(step_key, state.x.shape[0])

        def one_image(x_adv, x, target_map, target, clean_probs, key, explain_key):
            u = search_directions(key, x.shape, count, search.grid)
            candidates = jnp.concatenate(
                [x_adv[None], x_adv + search.sigma * u, x_adv - search.sigma * u]
            )
            # The whole population of this image in one vmapped evaluation.
            explanation, output, change = jax.vmap(
                terms_of, (None, 0, None, None, None, None, None)
            )(params, candidates, x, target_map, target, clean_probs, explain_key)
            losses = (
                config.gamma_explanation * explanation
                + config.gamma_output * output
                + config.gamma_input * change
            )
            grad = es_gradient(losses[1:], u, search.sigma)
            return grad, (losses[0], explanation[0], output[0], change[0])

        grads, (loss, explanation, output, change) = jax.vmap(one_image)(
            state.x_adv,
            state.x,
            state.target_maps,
            state.targets,
            state.clean_probs,
            image_keys,
            state.explain_keys,
        )
        updates, opt_state = optimizer.update(grads, state.opt_state, state.x_adv)
        x_adv = project(optax.apply_updates(state.x_adv, updates), state.x, budget)
        info = AttackInfo(
            loss=loss,
            explanation=explanation,
            output=output,
            input=change,
            softplus_beta=jnp.float32(jnp.nan),
        )
        new_state = state.replace(x_adv=x_adv, opt_state=opt_state, step=state.step + 1)
        return new_state, info

    return with_run(init, update, config)
