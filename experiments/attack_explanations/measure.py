"""The attacks themselves: explainers, target maps, one attack, summaries."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.shared.stats import mean_ci, paired_difference
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
    """

    cam_layer: str
    smoothgrad: Any
    target: str
    shift: tuple[int, ...]
    square_size: int
    attack: attacks.AttackConfig
    defence: Any


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
        attacks.unet_apply_at(model), explainer_at, config=plan.attack
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


def _pooled(runs, key) -> dict[str, np.ndarray]:
    """Per-image values of every metric, concatenated over the seeds."""
    names = runs[0][key] if key == "metrics" else runs[0]["defences"][key]
    source = (
        (lambda r: r["metrics"]) if key == "metrics" else (lambda r: r["defences"][key])
    )
    return {m: np.concatenate([source(r)[m] for r in runs]) for m in names}


def _moved(values: dict) -> dict:
    """Paired change towards the target, positive = closer (per similarity)."""
    moved = {}
    for metric in SIMILARITIES:
        after = values[f"to_target_{metric}"]
        before = values[f"before_to_target_{metric}"]
        moved[metric] = (
            paired_difference(before, after)
            if metric == "mse"
            else paired_difference(after, before)
        )
    return moved


def summarise(raw: dict) -> dict:
    """Mean [95 % CI] over all ``seeds x images`` attacks, per explainer."""
    summary = {}
    for name, runs in raw.items():
        values = _pooled(runs, "metrics")
        entry = {
            "metrics": {m: mean_ci(v) for m, v in values.items()},
            "moved": _moved(values),
            "per_seed_mean": {
                m: [float(np.mean(r["metrics"][m])) for r in runs] for m in values
            },
            "per_image": {m: v.tolist() for m, v in values.items()},
            "history": {
                k: np.mean([r["history"][k] for r in runs], axis=0).tolist()
                for k in runs[0]["history"]
            },
            "defences": {},
        }
        for defence in DEFENCES:
            defended = _pooled(runs, defence)
            entry["defences"][defence] = {
                "metrics": {m: mean_ci(v) for m, v in defended.items()},
                "moved": _moved(defended),
                # > 0: the defence moved less towards the target than no defence.
                "less_moved_pearson": paired_difference(
                    values["to_target_pearson"] - values["before_to_target_pearson"],
                    defended["to_target_pearson"]
                    - defended["before_to_target_pearson"],
                ),
            }
        summary[name] = entry
    return summary
