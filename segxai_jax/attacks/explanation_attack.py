"""Adversarial manipulation of explanations: the three-term attack.

Dombrowski et al. (2019) showed that an imperceptible change of the input can
move a gradient explanation to an arbitrary target map while the output stays
the same; Gipiškis et al. (2023) carried the attack over to segmentation. For a
batch of images ``x`` the attack minimises, per image, over ``x'``::

    gamma_explanation * ||h(x') - h_t||^2          (explanation to the target)
  + gamma_output      * ||f(x') - f(x)||^2          (output unchanged)
  + gamma_input       * ||x' - x||^2                (input change small)

with an optax optimiser (Adam by default), clamping ``x'`` to ``[0, 1]`` after
every step and, optionally, projecting it onto the L-inf ball of radius
``linf_budget`` around ``x`` before the clamp. Choices (documented here, used
everywhere in :mod:`segxai_jax.attacks`):

* ``h`` is any differentiable explainer of the library; its map is turned into
  a heatmap by :func:`normalize_heatmap` (sum of ``|h|`` over channels, divided
  by the sum: Dombrowski et al.'s normalisation), and so is ``h_t``.
* ``f`` is the softmax of the logits ``[H, W, K]`` of the model AS DEPLOYED
  (``apply_at(None)``, ReLU for the project's U-Net): the output to preserve is
  the one that is evaluated. ``f(x)`` is computed once, at :meth:`init`.
* The squared norms are sums over all pixels (and channels/classes), as in the
  formula; the prefactors absorb the scale (heatmaps sum to 1, hence
  Dombrowski's ``1e11``).
* The softplus-beta schedule. With ReLU the input gradient of a ReLU network
  is piecewise constant in ``x``, so the gradient of a gradient explanation
  with respect to the input is zero almost everywhere and the explanation term
  gives the optimiser nothing to follow. During the attack ``h`` is therefore
  computed with every ReLU replaced by ``softplus_beta(z) = log(1 + exp(beta
  z)) / beta``, beta growing geometrically from ``softplus_schedule[0]`` (10)
  to ``softplus_schedule[1]`` (100) over the steps, so the smooth surrogate
  approaches the deployed network; the final evaluation
  (:mod:`segxai_jax.attacks.evaluation`) uses the ReLU model.

The model enters through two factories of the activation temperature, so the
library never imports a model: ``apply_at(softplus_beta) -> apply_fn(params, x
[H, W, C]) -> logits [H, W, K]`` and ``explainer_at(softplus_beta) ->
explain(key, params, x, target) -> map``; ``softplus_beta=None`` means the
model's own activation and the value may be a traced scalar (the project's
U-Net swaps it without recompiling; :func:`unet_apply_at`).

References:
  Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be
  manipulated and geometry is to blame. NeurIPS 2019, arXiv:1906.07983.
  Gipiškis, Chiaro, Annunziata, Piccialli. The impact of adversarial attacks on
  interpretable semantic segmentation in cyber-physical systems. IEEE Systems
  Journal 17(4), 2023.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct

from segxai_jax import random_draws, validation
from segxai_jax.attacks.config import (
    VALUE_RANGE,
    ApplyAt,
    AttackConfig,
    _check_images,
    _check_targets,
    check_swappable,
    softplus_beta_schedule,
)
from segxai_jax.attacks.target_maps import check_target_maps
from segxai_jax.postprocess import normalize_sum, reduce_channels
from segxai_jax.targets import Target
from segxai_jax.validation import is_concrete

ExplainerAt = Callable[[Any], Callable[..., jax.Array]]


def normalize_heatmap(saliency: jax.Array) -> jax.Array:
    """Dombrowski et al.'s heatmap: ``|h|`` summed over channels, summing to 1.

    Args:
      saliency: an input attribution ``[H, W, C]`` or a map ``[H, W]``.

    Returns:
      ``[H, W]``, non-negative, summing to 1 (all zeros for an all-zero map).
    """
    if saliency.ndim == 3:
        heat = reduce_channels(saliency, "abs_sum")
    elif saliency.ndim == 2:
        heat = jnp.abs(saliency)
    else:
        raise ValueError(
            f"saliency: expected [H, W, C] or [H, W], got shape {saliency.shape}"
        )
    return normalize_sum(heat)


def project(x_adv: jax.Array, x: jax.Array, linf_budget: float | None) -> jax.Array:
    """Projects onto the L-inf ball around ``x`` (if a budget), then clamps to [0, 1].

    Both constraints hold exactly afterwards: ``clip`` returns its bounds
    themselves, and for ``x`` in ``[0, 1]`` clamping a point of the ball keeps
    it in the ball (the ball and ``[0, 1]`` intersect around ``x``).
    """
    if linf_budget is not None:
        if validation.is_concrete(linf_budget):
            validation.check_real(
                linf_budget, "linf_budget", minimum=0.0, exclusive_minimum=True
            )
        x_adv = jnp.clip(x_adv, x - linf_budget, x + linf_budget)
    return jnp.clip(x_adv, *VALUE_RANGE)


@struct.dataclass
class AttackState:
    """State of an attack on a batch of ``B`` images.

    Attributes:
      x_adv: current adversarial images ``[B, H, W, C]``.
      x: clean images ``[B, H, W, C]``.
      target_maps: target heatmaps, normalised, ``[B, H, W]``.
      targets: what is explained per image (``class_id [B]``, ``mask [B, H,
        W]``; the ROI stays frozen).
      clean_probs: softmax output of the deployed model on ``x``, ``[B, H, W,
        K]``.
      explain_keys: one key per image for the explainer, fixed for the whole
        attack unless ``fresh_explainer_keys`` folds the step into it.
      opt_state: the optimiser's state.
      step: steps taken, int32 scalar.
      search_key: the key of the gradient-free attack's search directions
        (``None`` for the gradient attack).
    """

    x_adv: jax.Array
    x: jax.Array
    target_maps: jax.Array
    targets: Target
    clean_probs: jax.Array
    explain_keys: jax.Array
    opt_state: Any
    step: jax.Array
    search_key: jax.Array | None = None


class AttackInfo(NamedTuple):
    """What one :meth:`ExplanationAttack.update` measured, before its step.

    Attributes:
      loss: total loss per image ``[B]``.
      explanation: ``||h(x') - h_t||^2`` per image ``[B]`` (unweighted).
      output: ``||f(x') - f(x)||^2`` per image ``[B]`` (unweighted).
      input: ``||x' - x||^2`` per image ``[B]`` (unweighted).
      softplus_beta: the beta of this step (NaN without a schedule).
    """

    loss: jax.Array
    explanation: jax.Array
    output: jax.Array
    input: jax.Array
    softplus_beta: jax.Array


class ExplanationAttack(NamedTuple):
    """The pure functions of an attack (see :func:`explanation_attack`).

    Attributes:
      init: ``init(key, params, x [B, H, W, C], target_maps [B, H, W], targets)
        -> AttackState``.
      update: ``update(params, state) -> (state, AttackInfo)``: one step; pure
        and jittable (``jax.jit(attack.update)`` compiles once for all steps).
      run: ``run(key, params, x, target_maps, targets) -> (state, history)``:
        ``init`` plus ``num_steps`` jitted updates; ``history`` is an
        :class:`AttackInfo` of arrays ``[num_steps, B]`` (beta: ``[num_steps]``).
      config: the hyper-parameters.
    """

    init: Callable[..., AttackState]
    update: Callable[..., tuple[AttackState, AttackInfo]]
    run: Callable[..., tuple[AttackState, AttackInfo]]
    config: AttackConfig


def unet_apply_at(model) -> ApplyAt:
    """``apply_at`` for the project's :class:`~segxai_jax.models.UNet`.

    Returns:
      ``apply_at(softplus_beta) -> apply_fn(params, x [H, W, C]) -> logits``;
      ``None`` keeps the configured activation.
    """
    from segxai_jax.models import UNet, unet_apply_fn

    validation.check_instance(model, "model", UNet, "a segxai_jax.models.UNet")

    def apply_at(softplus_beta):
        return unet_apply_fn(model, softplus_beta=softplus_beta)

    return apply_at


def explanation_attack(
    apply_at: ApplyAt,
    explainer_at: ExplainerAt,
    *,
    config: AttackConfig | None = None,
    optimizer: optax.GradientTransformation | None = None,
    fresh_explainer_keys: bool = False,
) -> ExplanationAttack:
    """Builds the attack that moves explanations to targets, output unchanged.

    Args:
      apply_at: ``apply_at(softplus_beta) -> apply_fn(params, x [H, W, C]) ->
        logits [H, W, K]``; ``None`` = the deployed model (used for the output
        term and :mod:`~segxai_jax.attacks.evaluation`).
      explainer_at: ``explainer_at(softplus_beta) -> explain(key, params, x,
        target) -> [H, W, C] or [H, W]``, differentiable in ``x`` (vanilla
        gradient, SmoothGrad with its fixed per-image key, Seg-Grad-CAM...).
      config: hyper-parameters (default :class:`AttackConfig()`).
      optimizer: any optax transformation of the images; default
        ``optax.adam(config.learning_rate)``.
      fresh_explainer_keys: False (default) explains with one fixed key per
        image for the whole attack (SmoothGrad then sees the same noise at
        every step and the attack can fit that noise); True folds the step
        into each image's key, so a stochastic explainer draws fresh noise
        every step and the attack must move its expectation (as an attacker
        facing a deployed SmoothGrad would).

    Returns:
      An :class:`ExplanationAttack` ``(init, update, run, config)``.

    Raises:
      ValueError: naming the argument, for a perturbation-based explainer
        (``explain.perturbed``: use :func:`gradient_free_attack`), images
        outside ``[0, 1]`` or not
        ``[B, H, W, C]``, target maps of another shape or not finite, targets
        not one per image, or (at ``init``, outside ``jit``) a schedule with a
        model whose activation cannot be swapped.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from segxai_jax.explainers import vanilla_gradient
      >>> from segxai_jax.targets import make_target
      >>> def apply_at(beta):  # a per-pixel two-layer net with a swappable act.
      ...     act = jax.nn.relu if beta is None else (
      ...         lambda z: jax.nn.softplus(beta * z) / beta)
      ...     return lambda w, x: act(x @ w[0]) @ w[1]
      >>> explainer_at = lambda beta: vanilla_gradient(apply_at(beta))
      >>> attack = explanation_attack(apply_at, explainer_at, config=AttackConfig(
      ...     num_steps=3, learning_rate=1e-2, linf_budget=0.05))
      >>> w = (jax.random.normal(jax.random.key(1), (3, 4)), jnp.ones((4, 2)))
      >>> x = jax.random.uniform(jax.random.key(2), (2, 16, 16, 3))
      >>> targets = make_target(jnp.ones(2, int), jnp.ones((2, 16, 16)))
      >>> maps = jnp.zeros((2, 16, 16)).at[:, :4, :4].set(1.0)  # a corner
      >>> state, history = attack.run(jax.random.key(0), w, x, maps, targets)
      >>> history.loss.shape, bool(jnp.abs(state.x_adv - x).max() <= 0.05)
      ((3, 2), True)

    References:
      Dombrowski et al. Explanations can be manipulated and geometry is to
      blame. NeurIPS 2019. Gipiškis et al. The impact of adversarial attacks on
      interpretable semantic segmentation in cyber-physical systems. IEEE
      Systems Journal 2023.
    """
    config = AttackConfig() if config is None else config
    if not isinstance(config, AttackConfig):
        raise ValueError(f"config: expected an AttackConfig, got {config!r}")
    if not callable(apply_at) or not callable(explainer_at):
        raise ValueError("apply_at, explainer_at: expected callables of softplus_beta")
    if getattr(explainer_at(None), "perturbed", False):
        raise ValueError(
            "explainer_at: expected an explainer differentiable in its input; this "
            "one is perturbation-based (its map comes from forward passes of "
            "perturbed inputs or activations: occlusion, Seg-Ablation-CAM, RISE), "
            "so attack it with gradient_free_attack(apply_fn, explain, config=...)"
        )
    optimizer = optax.adam(config.learning_rate) if optimizer is None else optimizer
    validation.check_bool(fresh_explainer_keys, "fresh_explainer_keys")
    schedule = config.softplus_schedule
    budget = config.linf_budget

    def beta_at(step):
        if schedule is None:
            return None
        return softplus_beta_schedule(
            step,
            num_steps=config.num_steps,
            beta_start=schedule[0],
            beta_end=schedule[1],
        )

    def init(key, params, x, target_maps, targets) -> AttackState:
        _check_images(x)
        _check_targets(targets, x.shape)
        target_maps = check_target_maps(target_maps, x.shape)
        if schedule is not None and is_concrete(x):
            check_swappable(apply_at, params, x[0], schedule)
        key_start, key_explain = jax.random.split(key)
        x_adv = x
        if config.random_start:
            noise = random_draws.uniform(
                key_start, x.shape, x.dtype, minval=-budget, maxval=budget
            )
            x_adv = project(x + noise, x, budget)
        deployed = apply_at(None)
        clean_probs = jax.vmap(lambda xi: jax.nn.softmax(deployed(params, xi)))(x)
        return AttackState(
            x_adv=x_adv,
            x=x,
            target_maps=jax.vmap(normalize_heatmap)(target_maps),
            targets=targets,
            clean_probs=clean_probs,
            explain_keys=jax.random.split(key_explain, x.shape[0]),
            opt_state=optimizer.init(x_adv),
            step=jnp.zeros((), jnp.int32),
        )

    def update(params, state: AttackState) -> tuple[AttackState, AttackInfo]:
        beta = beta_at(state.step)
        explain = explainer_at(beta)
        deployed = apply_at(None)

        def terms_of(x_adv, x, target_map, target, clean_probs, key):
            heat = normalize_heatmap(explain(key, params, x_adv, target))
            probs = jax.nn.softmax(deployed(params, x_adv))
            return (
                jnp.sum(jnp.square(heat - target_map)),
                jnp.sum(jnp.square(probs - clean_probs)),
                jnp.sum(jnp.square(x_adv - x)),
            )

        keys = state.explain_keys
        if fresh_explainer_keys:
            keys = jax.vmap(jax.random.fold_in, (0, None))(keys, state.step)

        def loss_fn(x_adv):
            explanation, output, change = jax.vmap(terms_of)(
                x_adv,
                state.x,
                state.target_maps,
                state.targets,
                state.clean_probs,
                keys,
            )
            per_image = (
                config.gamma_explanation * explanation
                + config.gamma_output * output
                + config.gamma_input * change
            )
            # Images do not interact: the gradient of the sum is per image.
            return jnp.sum(per_image), (per_image, explanation, output, change)

        grads, (per_image, explanation, output, change) = jax.grad(
            loss_fn, has_aux=True
        )(state.x_adv)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.x_adv)
        x_adv = project(optax.apply_updates(state.x_adv, updates), state.x, budget)
        info = AttackInfo(
            loss=per_image,
            explanation=explanation,
            output=output,
            input=change,
            softplus_beta=jnp.float32(jnp.nan) if beta is None else beta,
        )
        new_state = state.replace(x_adv=x_adv, opt_state=opt_state, step=state.step + 1)
        return new_state, info

    return with_run(init, update, config)


def with_run(init, update, config: AttackConfig) -> ExplanationAttack:
    """The attack with ``run``: ``init``, then ``config.num_steps`` jitted updates."""
    jitted_update = jax.jit(update)

    def run(key, params, x, target_maps, targets):
        state = init(key, params, x, target_maps, targets)
        history = []
        for _ in range(config.num_steps):
            state, info = jitted_update(params, state)
            history.append(info)
        stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *history)
        return state, stacked

    return ExplanationAttack(init=init, update=update, run=run, config=config)
