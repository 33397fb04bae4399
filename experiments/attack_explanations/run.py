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

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.attack_explanations.config import EXPLAINERS, Config
from experiments.attack_explanations.findings import evaluate_findings
from experiments.attack_explanations.measure import summarise
from experiments.attack_explanations.report import make_figure, report_markdown
from experiments.shared.attacks import AttackPlan, attack_one
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher, teacher_probe_names
from experiments.shared.units import Unit
from segxai_jax import attacks
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir) -> Config:
    """Checks that need the teacher or two fields together."""
    probe_names = teacher_probe_names(settings.teacher, workdir)
    if settings.cam_layer not in probe_names:
        raise ValueError(
            f"config.cam_layer: expected one of {tuple(probe_names)}, got "
            f"{settings.cam_layer!r}"
        )
    if settings.target == "other_image" and settings.num_images < 2:
        raise ValueError(
            "config.num_images: expected >= 2 with target 'other_image', got "
            f"{settings.num_images}"
        )
    return settings


def _select_images(test: dict, count: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(test["image"]))
    return np.sort(order[: min(count, len(order))])


# The study in units (see experiments.shared.study): one unit per (seed,
# explainer), i.e. one attacked image subset with one explainer.
NAME = "attack_explanations"
AXES = ("seeds", "explainers")
PRESENTATION = ("num_figure_images",)
SIDECAR = ("x", "x_adv", "clean_maps", "adv_maps", "target_maps")


def units(settings: Config) -> list[Unit]:
    """One unit per (seed, explainer), seed-major."""
    return [
        Unit(f"seed{seed}-{name}", {"seed": seed, "explainer": name}, kind=name)
        for seed in settings.seeds
        for name in settings.explainers
    ]


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


def run_unit(settings: Config, unit: Unit, context: dict):
    """Attacks the seed's test images with one explainer.

    Returns:
      ``(result, sidecar)``: per-image metrics, defences and the loss history;
      the images and maps for the figure in the sidecar.
    """
    seed, name = unit.settings["seed"], unit.settings["explainer"]
    data, params = context["data"], context["params"]
    index = _select_images(data["test"], settings.num_images, seed)
    x = jnp.asarray(data["test"]["image"][index])
    labels = jnp.asarray(data["test"]["mask"][index])
    targets = largest_digit_targets(
        np.asarray(context["predict"](params, x).argmax(-1)),
        np.asarray(labels),
        data["spec"].num_classes,
    )
    # Keyed by the method, so its numbers do not depend on the others run.
    key = jax.random.fold_in(jax.random.key(seed), EXPLAINERS.index(name))
    raw = attack_one(
        context["model"], params, name, x, labels, targets, key, plan=plan(settings)
    )
    result = {
        "images": index.tolist(),
        "metrics": raw["metrics"],
        "defences": raw["defences"],
        "history": raw["history"],
    }
    sidecar = dict(zip(SIDECAR, (*raw["images"], *raw["maps"]), strict=True))
    return result, sidecar


def _runs_by_explainer(settings: Config, records) -> dict[str, list]:
    raw = {name: [] for name in settings.explainers}
    for record in records:
        raw[record.unit.settings["explainer"]].append(record)
    return {name: runs for name, runs in raw.items() if runs}


def aggregate(settings: Config, records) -> dict:
    """Mean [95 % CI] per explainer over its finished units' attacks."""
    raw = _runs_by_explainer(settings, records)
    return summarise({k: [r.result for r in v] for k, v in raw.items()})


def findings(summary: dict, settings: Config):
    return evaluate_findings(summary)


def figures(workdir, settings: Config, records, context: dict) -> dict:
    """One figure per explainer from its first unit whose sidecar is present."""
    del context
    out = {}
    if settings.num_figure_images <= 0:
        return out
    for name, runs in _runs_by_explainer(settings, records).items():
        for record in runs:
            arrays = record.sidecar()
            if arrays is None:
                continue
            run = {
                "images": (arrays["x"], arrays["x_adv"]),
                "maps": tuple(arrays[k] for k in SIDECAR[2:]),
            }
            out[name] = make_figure(workdir, name, run, settings.num_figure_images)
            break
    return out


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    per_seed = {}
    for record in records:
        per_seed.setdefault(record.unit.settings["seed"], record.result["images"])
    return {
        "teacher": context["teacher"],
        "images": {"split": "test", "per_seed": per_seed},
        "summary": summary,
    }


def report(completed: dict) -> str:
    return report_markdown(completed)


def plan(settings: Config) -> AttackPlan:
    """What :func:`attack_one` needs of the settings."""
    return AttackPlan(
        cam_layer=settings.cam_layer,
        smoothgrad=settings.smoothgrad,
        target=settings.target,
        shift=settings.shift,
        square_size=settings.square_size,
        attack=settings.attack,
        defence=settings.defence,
    )


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the attack study's missing units; returns what ``results.json`` holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
