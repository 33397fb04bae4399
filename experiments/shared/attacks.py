"""One attack on explanations as the attack studies run it.

Shared by ``attack_explanations`` and ``attack_three_term``: the explainer
factories of the project's U-Net (vanilla gradient, SmoothGrad, Seg-Grad-CAM),
the target maps of each kind, and :func:`attack_one`, which attacks a batch
and measures it with the deployed (ReLU) model and two re-explanations.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import attacks
from segxai_jax.explainers import seg_grad_cam, vanilla_gradient
from segxai_jax.explainers import smoothgrad as smoothgrad_explainer
from segxai_jax.probes import make_probe

DEFENCES = ("softplus", "smoothgrad")
EXPLAINER_TITLES = {
    "gradient": "vanilla gradient",
    "smoothgrad": "SmoothGrad",
    "seg_grad_cam": "Seg-Grad-CAM",
}
SIMILARITIES = ("pearson", "ssim", "mse")  # mse: lower is closer


@dataclasses.dataclass(frozen=True)
class AttackPlan:
    """What one attack needs besides the model and the images.

    Attributes:
      cam_layer: Seg-Grad-CAM's probe point.
      smoothgrad: the attacked SmoothGrad (``num_samples``, ``noise_level``).
      target: the target kind; ``shift`` and ``square_size`` its geometry.
      attack: the attack's hyper-parameters.
      defence: the re-explanations (``softplus_beta``, ``smoothgrad_samples``,
        ``noise_level``).
      fresh_explainer_keys: draw the attacked explainer's noise afresh at
        every step (see :func:`segxai_jax.attacks.explanation_attack`).
    """

    cam_layer: str
    smoothgrad: Any
    target: str
    shift: tuple[int, ...]
    square_size: int
    attack: attacks.AttackConfig
    defence: Any
    fresh_explainer_keys: bool = False


def explainer_factories(model, name: str, image_shape, *, cam_layer, smoothgrad):
    """``(explainer_at, base_at)``: the attacked explainer and its base method.

    ``cam_layer``: Seg-Grad-CAM's probe point; ``smoothgrad``: the attacked
    SmoothGrad's ``num_samples`` and ``noise_level``.

    ``base_at`` is the method SmoothGrad wraps in the SmoothGrad defence (the
    gradient for ``smoothgrad``, the explainer itself otherwise).
    """
    apply_at = attacks.unet_apply_at(model)

    def gradient_at(beta):
        return vanilla_gradient(apply_at(beta))

    def cam_at(beta):
        probe = make_probe(
            model,
            cam_layer,
            input_shape=image_shape,
            apply_kwargs={"softplus_beta": beta},
        )
        return seg_grad_cam(probe)

    def smoothgrad_at(beta):
        return smoothgrad_explainer(
            gradient_at(beta),
            num_samples=smoothgrad.num_samples,
            noise_level=smoothgrad.noise_level,
        )

    return {
        "gradient": (gradient_at, gradient_at),
        "smoothgrad": (smoothgrad_at, gradient_at),
        "seg_grad_cam": (cam_at, cam_at),
    }[name]


def target_maps_for(clean_maps, target: str, *, shift, square_size: int):
    """The target heatmaps ``h_t [B, H, W]`` of the ``target`` kind."""
    if target == "other_image":
        return attacks.other_image_maps(clean_maps)
    if target == "shifted":
        return attacks.shifted_maps(clean_maps, offset=shift)
    square = attacks.square_pattern(clean_maps.shape[1:], size=square_size)
    return jnp.broadcast_to(square, clean_maps.shape)


def attack_one(
    model, params, name, x, labels, targets, key, *, plan: AttackPlan
) -> dict:
    """Attacks one batch with one explainer; returns per-image metrics and maps."""
    explainer_at, base_at = explainer_factories(
        model, name, x.shape[1:], cam_layer=plan.cam_layer, smoothgrad=plan.smoothgrad
    )
    apply_fn = attacks.unet_apply_at(model)(None)
    key_attack, key_eval = jax.random.split(key)
    deployed = explainer_at(None)
    clean_maps = jax.jit(attacks.explain_images, static_argnums=0)(
        deployed, key_eval, params, x, targets
    )
    target_maps = target_maps_for(
        clean_maps, plan.target, shift=plan.shift, square_size=plan.square_size
    )
    attack = attacks.explanation_attack(
        attacks.unet_apply_at(model),
        explainer_at,
        config=plan.attack,
        fresh_explainer_keys=plan.fresh_explainer_keys,
    )
    state, history = attack.run(key_attack, params, x, target_maps, targets)
    x_adv = state.x_adv
    defences = {
        "softplus": explainer_at(plan.defence.softplus_beta),
        "smoothgrad": smoothgrad_explainer(
            base_at(None),
            num_samples=plan.defence.smoothgrad_samples,
            noise_level=plan.defence.noise_level,
        ),
    }

    @jax.jit
    def evaluate(params, key_eval, x, x_adv, target_maps, targets, labels):
        # One program for all measurements: fewer compilations.
        measured = attacks.evaluate_attack(
            apply_fn, deployed, key_eval, params, x, x_adv, target_maps, targets, labels
        )
        defended = {
            defence: attacks.explanation_metrics(
                explain, key_eval, params, x, x_adv, target_maps, targets
            )[0]
            for defence, explain in defences.items()
        }
        return measured, defended

    (metrics, _, adv_maps), defended = evaluate(
        params, key_eval, x, x_adv, target_maps, targets, labels
    )
    return {
        "metrics": {k: np.asarray(v) for k, v in metrics.items()},
        "defences": {
            d: {k: np.asarray(v) for k, v in m.items()} for d, m in defended.items()
        },
        "history": {
            "loss": np.asarray(history.loss).mean(1),
            "explanation": np.asarray(history.explanation).mean(1),
            "output": np.asarray(history.output).mean(1),
            "softplus_beta": np.asarray(history.softplus_beta),
        },
        "images": (np.asarray(x), np.asarray(x_adv)),
        "maps": (np.asarray(clean_maps), np.asarray(adv_maps), np.asarray(target_maps)),
    }
