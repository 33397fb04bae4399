"""The gradient-free phase: perturbation-based explanations attacked by an ES.

Seg-Ablation-CAM and occlusion build their maps from forward passes of
perturbed activations or inputs; :func:`segxai_jax.attacks.
gradient_free_attack` minimises the same three-term loss from loss values
alone (antithetic evolution strategy, the population of every image in one
vmapped call). Measured like the gradient attacks (deployed ReLU model), with
the detectors of :func:`~experiments.attack_three_term.detection.
perturbation_re_explainers`.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from experiments.shared.attacks import target_maps_for
from segxai_jax import attacks
from segxai_jax.explainers import occlusion, seg_ablation_cam
from segxai_jax.probes import make_probe


def perturbation_explainer_at(model, name: str, image_shape, *, layer, patch, stride):
    """``explainer_at(softplus_beta)`` of Seg-Ablation-CAM or occlusion."""
    apply_at = attacks.unet_apply_at(model)

    def explainer_at(beta):
        if name == "occlusion":
            return occlusion(apply_at(beta), patch_size=patch, stride=stride)
        probe = make_probe(
            model, layer, input_shape=image_shape, apply_kwargs={"softplus_beta": beta}
        )
        return seg_ablation_cam(probe)

    return explainer_at


def attack_without_gradients(
    model, params, explainer_at, x, labels, targets, key, *, plan, search
) -> dict:
    """Attacks one batch; returns per-image metrics, loss history and maps.

    Args:
      explainer_at: :func:`perturbation_explainer_at`'s factory.
      plan: the unit's :class:`~experiments.shared.attacks.AttackPlan` (target
        kind and geometry, the attack's weights, steps and budget).
      search: :class:`segxai_jax.attacks.SearchConfig`.
    """
    apply_fn = attacks.unet_apply_at(model)(None)
    deployed = explainer_at(None)
    key_attack, key_eval = jax.random.split(key)
    clean_maps = jax.jit(attacks.explain_images, static_argnums=0)(
        deployed, key_eval, params, x, targets
    )
    target_maps = target_maps_for(
        clean_maps, plan.target, shift=plan.shift, square_size=plan.square_size
    )
    config = dataclasses.replace(plan.attack, softplus_schedule=None)
    attack = attacks.gradient_free_attack(
        apply_fn, deployed, config=config, search=search
    )
    state, history = attack.run(key_attack, params, x, target_maps, targets)

    @jax.jit
    def evaluate(params, x, x_adv, target_maps, targets, labels):
        return attacks.evaluate_attack(
            apply_fn, deployed, key_eval, params, x, x_adv, target_maps, targets, labels
        )

    metrics, _, adv_maps = evaluate(
        params, x, state.x_adv, target_maps, targets, labels
    )
    return {
        "metrics": {k: np.asarray(v) for k, v in metrics.items()},
        "history": {
            "loss": np.asarray(history.loss).mean(1),
            "explanation": np.asarray(history.explanation).mean(1),
            "output": np.asarray(history.output).mean(1),
        },
        "images": (np.asarray(x), np.asarray(state.x_adv)),
        "maps": (np.asarray(clean_maps), np.asarray(adv_maps), np.asarray(target_maps)),
    }
