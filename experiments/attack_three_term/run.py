"""The three-term attack on explanations, in units; detection from the same units.

The seed paper's description of the attack (its reference [7]; Gipiškis et
al., IEEE Syst. J. 2023, after Dombrowski et al., NeurIPS 2019): minimise,
over ``x'``, ``gamma_explanation ||h(x') - h_t||^2 + gamma_output ||f(x') -
f(x)||^2 + gamma_input ||x' - x||^2`` (:func:`segxai_jax.attacks.
explanation_attack`), here with ``gamma_input > 0`` always. A unit is one
(phase, budget, target kind, explainer, image subset):

* ``phase``: ``short`` (200 steps, every seed) or ``long`` (1500 steps);
* ``budget``: ``none`` (the input term alone limits the change) or ``linf``;
* target kinds: another image's map, a square, the own map shifted;
* explainers: vanilla gradient, SmoothGrad (fresh noise every step),
  Seg-Grad-CAM at ``cam_layer``.

Each unit attacks ``num_images`` test images (drawn by the seed as in
``attack_explanations``), measures the result with the deployed ReLU model
(similarity of ``h(x')`` to the target before and after, the output change,
the input change) and scores the clean and the attacked images with the
detectors of :mod:`experiments.attack_three_term.detection`. Statistics pool
the images of the seeds of a (phase, budget, target, explainer) cell: mean
and Student-t 95 % CI, paired rise of the similarity to the target, and
detection AUROC with a bootstrap 95 % CI over images.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.attack_three_term.config import (
    ALL_EXPLAINERS,
    EXPLAINERS,
    GRADIENT_FREE,
    Config,
)
from experiments.attack_three_term.detection import (
    detector_scores,
    perturbation_re_explainers,
    re_explainers,
)
from experiments.attack_three_term.findings import evaluate_findings
from experiments.attack_three_term.gradient_free import (
    attack_without_gradients,
    perturbation_explainer_at,
)
from experiments.attack_three_term.report import report_markdown
from experiments.shared.attacks import AttackPlan, attack_one
from experiments.shared.stats import auroc_ci, mean_ci, paired_difference
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher, teacher_probe_names
from experiments.shared.units import Unit
from segxai_jax import attacks
from segxai_jax.training import ensure_writable_dir

NAME = "attack_three_term"
AXES = (
    "seeds",
    "explainers",
    "targets",
    "budgets",
    "long_seeds",
    "long_budgets",
    "gradient_free.explainers",
    "gradient_free.seeds",
    "gradient_free.budgets",
    "gradient_free.targets",
)
PRESENTATION = ()
# A unit depends on these top-level fields only, so the gradient-free phase's
# settings do not touch the gradient units and the other way round.
_COMMON = (
    "seed",
    "data",
    "teacher",
    "num_images",
    "square_size",
    "shift",
    "attack",
    "defence",
    "ablation_layer",
)
_GRADIENT = (*_COMMON, "smoothgrad", "cam_layer", "long_steps")
DEPENDS = {
    **{
        f"{phase}-{name}": _GRADIENT
        for phase in ("short", "long")
        for name in EXPLAINERS
    },
    **{f"gradient_free-{name}": (*_COMMON, "gradient_free") for name in GRADIENT_FREE},
}
SIDECAR = ("x_adv", "clean_maps", "adv_maps", "target_maps")
HISTORY_POINTS = 200  # loss curves are kept at most this long
SUMMARISED = (
    "before_to_target_pearson",
    "to_target_pearson",
    "to_original_pearson",
    "pixel_agreement",
    "miou_to_clean",
    "miou_change",
    "input_l2",
    "input_linf",
    "input_psnr",
)


def resolve(settings: Config, workdir) -> Config:
    """Each explainer in its phase; the layers must exist in the teacher."""
    wrong = [n for n in settings.explainers if n not in EXPLAINERS]
    if wrong:
        raise ValueError(
            f"config.explainers: {wrong} are perturbation-based (no useful input "
            "gradient): list them under config.gradient_free.explainers; the "
            f"gradient phases attack {EXPLAINERS}"
        )
    wrong = [n for n in settings.gradient_free.explainers if n not in GRADIENT_FREE]
    if wrong:
        raise ValueError(
            f"config.gradient_free.explainers: {wrong} have input gradients: attack "
            "them through their gradients (config.explainers); the gradient-free "
            f"phase attacks {GRADIENT_FREE}"
        )
    probe_names = teacher_probe_names(settings.teacher, workdir)
    for name in ("cam_layer", "ablation_layer"):
        if getattr(settings, name) not in probe_names:
            raise ValueError(
                f"config.{name}: expected one of {tuple(probe_names)}, got "
                f"{getattr(settings, name)!r}"
            )
    return settings


def _select_images(test: dict, count: int, seed: int) -> np.ndarray:
    """The seed's test images (the same draw as ``attack_explanations``)."""
    order = np.random.default_rng(seed).permutation(len(test["image"]))
    return np.sort(order[: min(count, len(order))])


def units(settings: Config) -> list[Unit]:
    """Short units first (budget, target, explainer, seed), then the
    gradient-free ones, then the long ones (the order of value)."""
    free, targets = settings.gradient_free, settings.targets
    phases = (
        ("short", settings.budgets, settings.seeds, settings.explainers, targets),
        ("gradient_free", free.budgets, free.seeds, free.explainers, free.targets),
        (
            "long",
            settings.long_budgets,
            settings.long_seeds,
            settings.explainers,
            targets,
        ),
    )
    out = []
    for phase, budgets, seeds, explainers, phase_targets in phases:
        for budget in budgets:
            for target in phase_targets:
                for name in explainers:
                    for seed in seeds:
                        cell = {
                            "phase": phase,
                            "budget": budget,
                            "target": target,
                            "explainer": name,
                        }
                        out.append(
                            Unit(
                                f"{phase}-{budget}-{target}-{name}-seed{seed}",
                                {**cell, "seed": seed},
                                kind=f"{phase}-{name}",
                            )
                        )
    return out


def prepare(settings: Config, workdir, timer) -> dict:
    """The test split, the teacher and its jitted batch prediction."""
    data, model, params, teacher = load_data_and_teacher(
        settings.teacher, settings.data, workdir, timer, seed=settings.seed
    )
    predict = jax.jit(jax.vmap(attacks.unet_apply_at(model)(None), (None, 0)))
    return {
        "data": data,
        "model": model,
        "params": params,
        "teacher": teacher,
        "predict": predict,
    }


def attack_settings(settings: Config, phase: str, budget: str):
    """The unit's :class:`~segxai_jax.attacks.AttackConfig`."""
    linf = settings.attack.linf_budget if budget == "linf" else None
    if phase == "gradient_free":
        free = settings.gradient_free
        return dataclasses.replace(
            settings.attack,
            num_steps=free.num_steps,
            learning_rate=free.learning_rate,
            softplus_schedule=None,
            linf_budget=linf,
        )
    steps = settings.long_steps if phase == "long" else settings.attack.num_steps
    return dataclasses.replace(settings.attack, num_steps=steps, linf_budget=linf)


def _thin(curve: np.ndarray) -> np.ndarray:
    stride = max(1, -(-len(curve) // HISTORY_POINTS))
    return np.asarray(curve)[::stride]


def run_unit(settings: Config, unit: Unit, context: dict):
    """Attacks one seed's images with one explainer towards one target kind."""
    s = unit.settings
    data, params, model = context["data"], context["params"], context["model"]
    index = _select_images(data["test"], settings.num_images, s["seed"])
    x = jnp.asarray(data["test"]["image"][index])
    labels = jnp.asarray(data["test"]["mask"][index])
    targets = largest_digit_targets(
        np.asarray(context["predict"](params, x).argmax(-1)),
        np.asarray(labels),
        data["spec"].num_classes,
    )
    key = jax.random.fold_in(
        jax.random.key(s["seed"]), ALL_EXPLAINERS.index(s["explainer"])
    )
    plan = AttackPlan(
        cam_layer=settings.cam_layer,
        smoothgrad=settings.smoothgrad,
        target=s["target"],
        shift=settings.shift,
        square_size=settings.square_size,
        attack=attack_settings(settings, s["phase"], s["budget"]),
        defence=settings.defence,
        fresh_explainer_keys=settings.smoothgrad.fresh_noise,
    )
    if s["phase"] == "gradient_free":
        free = settings.gradient_free
        explainer_at = perturbation_explainer_at(
            model,
            s["explainer"],
            x.shape[1:],
            layer=settings.ablation_layer,
            patch=free.occlusion_patch,
            stride=free.occlusion_stride,
        )
        search = attacks.SearchConfig(
            population=free.population, sigma=free.sigma, grid=free.grid
        )
        raw = attack_without_gradients(
            model,
            params,
            explainer_at,
            x,
            labels,
            targets,
            key,
            plan=plan,
            search=search,
        )
        detectors = perturbation_re_explainers(model, explainer_at, settings.defence)
    else:
        raw = attack_one(
            model, params, s["explainer"], x, labels, targets, key, plan=plan
        )
        detectors = re_explainers(
            model, s["explainer"], x.shape[1:], plan, settings.ablation_layer
        )
    x_adv = raw["images"][1]
    clean_maps, adv_maps, target_maps = raw["maps"]
    detection = detector_scores(
        detectors,
        params,
        x,
        jnp.asarray(x_adv),
        jnp.asarray(clean_maps),
        jnp.asarray(adv_maps),
        targets,
        jax.random.fold_in(key, len(ALL_EXPLAINERS)),
    )
    result = {
        "images": index.tolist(),
        "metrics": raw["metrics"],
        "detection": detection,
        "history": {k: _thin(v) for k, v in raw["history"].items()},
    }
    sidecar = dict(
        zip(SIDECAR, (x_adv, clean_maps, adv_maps, target_maps), strict=True)
    )
    return result, sidecar


def cell_of(unit: Unit) -> tuple[str, str, str, str]:
    s = unit.settings
    return (s["phase"], s["budget"], s["target"], s["explainer"])


def aggregate(settings: Config, records) -> dict:
    """Per (phase, budget, target, explainer): pooled images of its seeds."""
    cells, rises, seeds_of = {}, {}, {}
    for record in records:
        cells.setdefault(cell_of(record.unit), []).append(record.result)
        seeds_of.setdefault(cell_of(record.unit), []).append(
            record.unit.settings["seed"]
        )
        m = record.result["metrics"]
        rise = np.asarray(m["to_target_pearson"]) - np.asarray(
            m["before_to_target_pearson"]
        )
        rises.setdefault(cell_of(record.unit), {})[record.unit.settings["seed"]] = rise
    summary = {}
    for (phase, budget, target, name), runs in sorted(cells.items()):
        pooled = {
            m: np.concatenate([np.asarray(r["metrics"][m]) for r in runs])
            for m in SUMMARISED
        }
        detection, scores = {}, {}
        for detector in runs[0]["detection"]:
            clean, attacked = (
                np.concatenate([np.asarray(r["detection"][detector][w]) for r in runs])
                for w in ("clean", "attacked")
            )
            detection[detector] = auroc_ci(clean, attacked)
            # Kept for the per-attack-kind pooling of the findings; a clean
            # image's score does not depend on the target, so it is named.
            scores[detector] = {
                "clean": clean.tolist(),
                "attacked": attacked.tolist(),
                "clean_ids": [
                    f"{name}/{seed}/{int(i)}"
                    for seed, r in zip(
                        seeds_of[(phase, budget, target, name)], runs, strict=True
                    )
                    for i in r["images"]
                ],
            }
        summary[f"{phase}/{budget}/{target}/{name}"] = {
            "phase": phase,
            "budget": budget,
            "target": target,
            "explainer": name,
            "seeds": len(runs),
            "metrics": {m: mean_ci(v) for m, v in pooled.items()},
            "rise_pearson": paired_difference(
                pooled["to_target_pearson"], pooled["before_to_target_pearson"]
            ),
            "detection": detection,
            "detection_scores": scores,
        }
        if name == "smoothgrad" and (phase, budget, target, "gradient") in rises:
            # Does SmoothGrad move less than the gradient on the same images?
            mine, theirs = (
                rises[(phase, budget, target, name)],
                rises[(phase, budget, target, "gradient")],
            )
            common = sorted(set(mine) & set(theirs))
            summary[f"{phase}/{budget}/{target}/{name}"]["rise_minus_gradient"] = (
                paired_difference(
                    np.concatenate([mine[s] for s in common]),
                    np.concatenate([theirs[s] for s in common]),
                )
                if common
                else None
            )
    return summary


def findings(summary: dict, settings: Config):
    return evaluate_findings(summary)


def figures(workdir, settings: Config, records, context: dict) -> dict:
    return {}


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    seconds = {}
    for record in records:
        seconds.setdefault(record.unit.kind, []).append(record.seconds)
    return {
        "teacher": context["teacher"],
        "summary": summary,
        "unit_seconds": {k: mean_ci(v) for k, v in sorted(seconds.items())},
    }


def report(completed: dict) -> str:
    return report_markdown(completed)


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the study's missing units; returns what ``results.json`` holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
