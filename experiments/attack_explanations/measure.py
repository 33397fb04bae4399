"""The attacks themselves: explainers, target maps, one attack, summaries."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.shared.stats import mean_ci, paired_difference
from segxai_jax import attacks
from segxai_jax.explainers import seg_grad_cam, smoothgrad, vanilla_gradient
from segxai_jax.probes import make_probe

DEFENCES = ("softplus", "smoothgrad")
EXPLAINER_TITLES = {
    "gradient": "vanilla gradient",
    "smoothgrad": "SmoothGrad",
    "seg_grad_cam": "Seg-Grad-CAM",
}
SIMILARITIES = ("pearson", "ssim", "mse")  # mse: lower is closer


def explainer_factories(model, name: str, opts: dict, image_shape):
    """``(explainer_at, base_at)``: the attacked explainer and its base method.

    ``base_at`` is the method SmoothGrad wraps in the SmoothGrad defence (the
    gradient for ``smoothgrad``, the explainer itself otherwise).
    """
    apply_at = attacks.unet_apply_at(model)

    def gradient_at(beta):
        return vanilla_gradient(apply_at(beta))

    def cam_at(beta):
        probe = make_probe(
            model,
            opts.cam_layer,
            input_shape=image_shape,
            apply_kwargs={"softplus_beta": beta},
        )
        return seg_grad_cam(probe)

    def smoothgrad_at(beta):
        return smoothgrad(
            gradient_at(beta),
            num_samples=opts.smoothgrad_samples,
            noise_level=opts.noise_level,
        )

    return {
        "gradient": (gradient_at, gradient_at),
        "smoothgrad": (smoothgrad_at, gradient_at),
        "seg_grad_cam": (cam_at, cam_at),
    }[name]


def target_maps_for(clean_maps, opts: dict):
    """The target heatmaps ``h_t [B, H, W]`` of ``opts.target``."""
    if opts.target == "other_image":
        return attacks.other_image_maps(clean_maps)
    if opts.target == "shifted":
        return attacks.shifted_maps(clean_maps, offset=opts.shift)
    square = attacks.square_pattern(clean_maps.shape[1:], size=opts.square_size)
    return jnp.broadcast_to(square, clean_maps.shape)


def attack_one(model, params, name, x, labels, targets, key, opts) -> dict:
    """Attacks one batch with one explainer; returns per-image metrics and maps."""
    explainer_at, base_at = explainer_factories(model, name, opts, x.shape[1:])
    apply_fn = attacks.unet_apply_at(model)(None)
    key_attack, key_eval = jax.random.split(key)
    deployed = explainer_at(None)
    clean_maps = jax.jit(attacks.explain_images, static_argnums=0)(
        deployed, key_eval, params, x, targets
    )
    target_maps = target_maps_for(clean_maps, opts)
    attack = attacks.explanation_attack(
        attacks.unet_apply_at(model), explainer_at, config=opts.attack
    )
    state, history = attack.run(key_attack, params, x, target_maps, targets)
    x_adv = state.x_adv
    defences = {
        "softplus": explainer_at(opts.defence_beta),
        "smoothgrad": smoothgrad(
            base_at(None),
            num_samples=opts.defence_samples,
            noise_level=opts.defence_noise,
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


def summarise(raw: dict, opts: dict) -> dict:
    """Mean [95 % CI] over all ``seeds x images`` attacks, per explainer."""
    del opts
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
