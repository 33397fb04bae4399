"""Adversarial manipulation of segmentation explanations, and a defence.

Dombrowski et al. (NeurIPS 2019) moved image-classification explanations to
arbitrary targets with imperceptible input changes that keep the output;
Gipiškis et al. (IEEE Systems Journal 2023) showed the same for segmentation.
This experiment runs :func:`segxai_jax.attacks.explanation_attack` on
TextureDigits test images with the trained U-Net teacher, for each explainer in
``config.explainers``:

* ``gradient``: vanilla gradient of ``S_c`` (summed logits of the largest
  predicted digit over its predicted region, frozen);
* ``smoothgrad``: SmoothGrad of that gradient with fixed noise keys during the
  attack (a fresh key for the evaluation);
* ``seg_grad_cam``: Seg-Grad-CAM at ``config.cam_layer``.

Per seed: ``num_images`` test images drawn with that seed, their explanations
``h(x)`` with the ReLU model, targets ``h_t`` of ``config.target`` kind,
attack (softplus beta schedule), then measurements with the ReLU model
(:func:`segxai_jax.attacks.evaluate_attack`) and with two defences
re-explaining the same adversarial images: the beta-smoothed model
(``config.defence.softplus_beta``) and SmoothGrad around the deployed
explainer. Statistics pool the ``seeds x images`` attacks (mean and Student-t
95 % CI; paired differences for "moved towards the target").

References:
  Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be
  manipulated and geometry is to blame. NeurIPS 2019.
  Gipiškis, Chiaro, Annunziata, Piccialli. The impact of adversarial attacks on
  interpretable semantic segmentation in cyber-physical systems. IEEE Systems
  Journal 17(4), 2023.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from experiments import common, reproduction
from experiments.attack_explanations_report import (
    evaluate_findings,
    make_figure,
    report_markdown,
    summarise,
)
from experiments.reporting import Timer
from segxai_jax import attacks
from segxai_jax.explainers import seg_grad_cam, smoothgrad, vanilla_gradient
from segxai_jax.probes import make_probe
from segxai_jax.training import ensure_writable_dir

EXPLAINERS = ("gradient", "smoothgrad", "seg_grad_cam")
TARGETS = ("other_image", "square", "shifted")


def _options(config, probe_names) -> dict:
    check = reproduction
    seeds = tuple(config.seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"config.seeds: expected distinct ints, got {seeds}")
    for seed in seeds:
        check.check_int(seed, "seeds", minimum=0)
    if config.target not in TARGETS:
        raise ValueError(
            f"config.target: expected one of {TARGETS}, got {config.target!r}"
        )
    if config.cam_layer not in probe_names:
        raise ValueError(
            f"config.cam_layer: expected one of {tuple(probe_names)}, got "
            f"{config.cam_layer!r}"
        )
    num_images = check.check_int(config.num_images, "num_images")
    if config.target == "other_image" and num_images < 2:
        raise ValueError(
            "config.num_images: expected >= 2 with target 'other_image', got "
            f"{num_images}"
        )
    attack = config.attack.to_dict()
    attack["softplus_schedule"] = (
        None
        if attack["softplus_schedule"] is None
        else tuple(attack["softplus_schedule"])
    )
    try:
        attack_config = attacks.AttackConfig(**attack)
    except ValueError as error:
        raise ValueError(f"config.attack.{error}") from error
    return {
        "seeds": seeds,
        "num_images": num_images,
        "explainers": check.check_choices(config.explainers, "explainers", EXPLAINERS),
        "target": config.target,
        "square_size": check.check_int(config.square_size, "square_size"),
        "shift": tuple(int(s) for s in config.shift),
        "smoothgrad_samples": check.check_int(
            config.smoothgrad.num_samples, "smoothgrad.num_samples"
        ),
        "noise_level": float(config.smoothgrad.noise_level),
        "cam_layer": config.cam_layer,
        "attack": attack_config,
        "defence_beta": float(config.defence.softplus_beta),
        "defence_samples": check.check_int(
            config.defence.smoothgrad_samples, "defence.smoothgrad_samples"
        ),
        "defence_noise": float(config.defence.noise_level),
        "num_figure_images": check.check_int(
            config.num_figure_images, "num_figure_images", minimum=0
        ),
    }


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
            opts["cam_layer"],
            input_shape=image_shape,
            apply_kwargs={"softplus_beta": beta},
        )
        return seg_grad_cam(probe)

    def smoothgrad_at(beta):
        return smoothgrad(
            gradient_at(beta),
            num_samples=opts["smoothgrad_samples"],
            noise_level=opts["noise_level"],
        )

    return {
        "gradient": (gradient_at, gradient_at),
        "smoothgrad": (smoothgrad_at, gradient_at),
        "seg_grad_cam": (cam_at, cam_at),
    }[name]


def target_maps_for(clean_maps, opts: dict):
    """The target heatmaps ``h_t [B, H, W]`` of ``opts["target"]``."""
    if opts["target"] == "other_image":
        return attacks.other_image_maps(clean_maps)
    if opts["target"] == "shifted":
        return attacks.shifted_maps(clean_maps, offset=opts["shift"])
    square = attacks.square_pattern(clean_maps.shape[1:], size=opts["square_size"])
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
        attacks.unet_apply_at(model), explainer_at, config=opts["attack"]
    )
    state, history = attack.run(key_attack, params, x, target_maps, targets)
    x_adv = state.x_adv
    defences = {
        "softplus": explainer_at(opts["defence_beta"]),
        "smoothgrad": smoothgrad(
            base_at(None),
            num_samples=opts["defence_samples"],
            noise_level=opts["defence_noise"],
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


def _select_images(test: dict, count: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(test["image"]))
    return np.sort(order[: min(count, len(order))])


def run(config, workdir: str | Path) -> dict:
    """Runs the attack study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    opts = _options(config, reproduction.teacher_probe_names(config.teacher, workdir))
    timer = Timer()
    data, model, params, teacher = reproduction.load_data_and_teacher(
        config, workdir, timer
    )
    spec = data["spec"]
    predict = jax.jit(jax.vmap(attacks.unet_apply_at(model)(None), (None, 0)))
    raw = {name: [] for name in opts["explainers"]}
    selected = {}
    progress = tqdm(
        total=len(opts["seeds"]) * len(opts["explainers"]), desc="attacks", unit="run"
    )
    for seed in opts["seeds"]:
        index = _select_images(data["test"], opts["num_images"], seed)
        selected[seed] = index.tolist()
        x = jnp.asarray(data["test"]["image"][index])
        labels = jnp.asarray(data["test"]["mask"][index])
        targets = common.largest_digit_targets(
            np.asarray(predict(params, x).argmax(-1)),
            np.asarray(labels),
            spec.num_classes,
        )
        for name in opts["explainers"]:
            # Keyed by the method, so its numbers do not depend on the others run.
            key = jax.random.fold_in(jax.random.key(seed), EXPLAINERS.index(name))
            with timer(f"attack {name}"):
                raw[name].append(
                    attack_one(model, params, name, x, labels, targets, key, opts)
                )
            progress.update()
    progress.close()
    summary = summarise(raw, opts)
    findings = evaluate_findings(summary, opts)
    with timer("figures"):
        figures = {
            name: make_figure(workdir, name, raw[name][0], opts)
            for name in opts["explainers"]
            if opts["num_figure_images"] > 0
        }
    results = {
        "teacher": teacher,
        "images": {"split": "test", "per_seed": selected},
        "options": {**opts, "attack": opts["attack"].__dict__},
        "summary": summary,
    }
    return reproduction.write_results(
        workdir,
        results,
        findings=findings,
        figures=figures,
        seconds=timer.seconds,
        report=lambda completed: report_markdown(completed, opts),
    )
