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

import dataclasses
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.attack_explanations.findings import evaluate_findings
from experiments.attack_explanations.measure import attack_one, summarise
from experiments.attack_explanations.report import make_figure, report_markdown
from experiments.shared.options import check_choices, check_int
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher, teacher_probe_names
from experiments.shared.units import Unit
from segxai_jax import attacks
from segxai_jax.training import ensure_writable_dir

EXPLAINERS = ("gradient", "smoothgrad", "seg_grad_cam")
TARGETS = ("other_image", "square", "shifted")


@dataclasses.dataclass(frozen=True)
class Options:
    """The attack study's settings, checked (see config.py for their meaning)."""

    seeds: tuple[int, ...]
    num_images: int
    explainers: tuple[str, ...]
    target: str
    square_size: int
    shift: tuple[int, ...]
    smoothgrad_samples: int
    noise_level: float
    cam_layer: str
    attack: attacks.AttackConfig
    defence_beta: float
    defence_samples: int
    defence_noise: float
    num_figure_images: int

    @classmethod
    def from_config(cls, config, workdir=None) -> Options:
        """The checked options; errors name ``config.<field>``."""
        probe_names = teacher_probe_names(config.teacher, workdir)
        seeds = tuple(config.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"config.seeds: expected distinct ints, got {seeds}")
        for seed in seeds:
            check_int(seed, "seeds", minimum=0)
        if config.target not in TARGETS:
            raise ValueError(
                f"config.target: expected one of {TARGETS}, got {config.target!r}"
            )
        if config.cam_layer not in probe_names:
            raise ValueError(
                f"config.cam_layer: expected one of {tuple(probe_names)}, got "
                f"{config.cam_layer!r}"
            )
        num_images = check_int(config.num_images, "num_images")
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
        except (ValueError, TypeError) as error:
            raise ValueError(f"config.attack.{error}") from error
        return cls(
            seeds=seeds,
            num_images=num_images,
            explainers=check_choices(config.explainers, "explainers", EXPLAINERS),
            target=config.target,
            square_size=check_int(config.square_size, "square_size"),
            shift=tuple(int(s) for s in config.shift),
            smoothgrad_samples=check_int(
                config.smoothgrad.num_samples, "smoothgrad.num_samples"
            ),
            noise_level=float(config.smoothgrad.noise_level),
            cam_layer=config.cam_layer,
            attack=attack_config,
            defence_beta=float(config.defence.softplus_beta),
            defence_samples=check_int(
                config.defence.smoothgrad_samples, "defence.smoothgrad_samples"
            ),
            defence_noise=float(config.defence.noise_level),
            num_figure_images=check_int(
                config.num_figure_images, "num_figure_images", minimum=0
            ),
        )


def _select_images(test: dict, count: int, seed: int) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(test["image"]))
    return np.sort(order[: min(count, len(order))])


# The study in units (see experiments.shared.study): one unit per (seed,
# explainer), i.e. one attacked image subset with one explainer.
NAME = "attack_explanations"
AXES = ("seeds", "explainers")
PRESENTATION = ("num_figure_images",)
SIDECAR = ("x", "x_adv", "clean_maps", "adv_maps", "target_maps")


def units(opts: Options) -> list[Unit]:
    """One unit per (seed, explainer), seed-major."""
    return [
        Unit(f"seed{seed}-{name}", {"seed": seed, "explainer": name}, kind=name)
        for seed in opts.seeds
        for name in opts.explainers
    ]


def prepare(config, workdir, timer) -> dict:
    """The test split, the teacher and its jitted batch prediction."""
    data, model, params, teacher = load_data_and_teacher(config, workdir, timer)
    predict = jax.jit(jax.vmap(attacks.unet_apply_at(model)(None), (None, 0)))
    return {
        "data": data,
        "model": model,
        "params": params,
        "teacher": teacher,
        "predict": predict,
    }


def run_unit(opts: Options, unit: Unit, context: dict):
    """Attacks the seed's test images with one explainer.

    Returns:
      ``(result, sidecar)``: per-image metrics, defences and the loss history;
      the images and maps for the figure in the sidecar.
    """
    seed, name = unit.settings["seed"], unit.settings["explainer"]
    data, params = context["data"], context["params"]
    index = _select_images(data["test"], opts.num_images, seed)
    x = jnp.asarray(data["test"]["image"][index])
    labels = jnp.asarray(data["test"]["mask"][index])
    targets = largest_digit_targets(
        np.asarray(context["predict"](params, x).argmax(-1)),
        np.asarray(labels),
        data["spec"].num_classes,
    )
    # Keyed by the method, so its numbers do not depend on the others run.
    key = jax.random.fold_in(jax.random.key(seed), EXPLAINERS.index(name))
    raw = attack_one(context["model"], params, name, x, labels, targets, key, opts)
    result = {
        "images": index.tolist(),
        "metrics": raw["metrics"],
        "defences": raw["defences"],
        "history": raw["history"],
    }
    sidecar = dict(zip(SIDECAR, (*raw["images"], *raw["maps"]), strict=True))
    return result, sidecar


def _runs_by_explainer(opts: Options, records) -> dict[str, list]:
    raw = {name: [] for name in opts.explainers}
    for record in records:
        raw[record.unit.settings["explainer"]].append(record)
    return {name: runs for name, runs in raw.items() if runs}


def aggregate(opts: Options, records) -> dict:
    """Mean [95 % CI] per explainer over its finished units' attacks."""
    raw = _runs_by_explainer(opts, records)
    return summarise({k: [r.result for r in v] for k, v in raw.items()}, opts)


def findings(summary: dict, opts: Options):
    return evaluate_findings(summary, opts)


def figures(workdir, opts: Options, records, context: dict) -> dict:
    """One figure per explainer from its first unit whose sidecar is present."""
    del context
    out = {}
    if opts.num_figure_images <= 0:
        return out
    for name, runs in _runs_by_explainer(opts, records).items():
        for record in runs:
            arrays = record.sidecar()
            if arrays is None:
                continue
            run = {
                "images": (arrays["x"], arrays["x_adv"]),
                "maps": tuple(arrays[k] for k in SIDECAR[2:]),
            }
            out[name] = make_figure(workdir, name, run, opts)
            break
    return out


def results(opts: Options, summary: dict, records, context: dict) -> dict:
    per_seed = {}
    for record in records:
        per_seed.setdefault(record.unit.settings["seed"], record.result["images"])
    return {
        "teacher": context["teacher"],
        "images": {"split": "test", "per_seed": per_seed},
        "options": dataclasses.asdict(opts),
        "summary": summary,
    }


def report(completed: dict, opts: Options) -> str:
    return report_markdown(completed, opts)


def run(config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the attack study's missing units; returns what ``results.json`` holds."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], config, workdir, minutes=minutes)
