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
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from experiments.attack_explanations.findings import evaluate_findings
from experiments.attack_explanations.measure import attack_one, summarise
from experiments.attack_explanations.report import make_figure, report_markdown
from experiments.shared.options import check_choices, check_int
from experiments.shared.results import Timer, write_results
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher, teacher_probe_names
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


def run(config, workdir: str | Path) -> dict:
    """Runs the attack study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    opts = Options.from_config(config, workdir)
    timer = Timer()
    data, model, params, teacher = load_data_and_teacher(config, workdir, timer)
    spec = data["spec"]
    predict = jax.jit(jax.vmap(attacks.unet_apply_at(model)(None), (None, 0)))
    raw = {name: [] for name in opts.explainers}
    selected = {}
    progress = tqdm(
        total=len(opts.seeds) * len(opts.explainers), desc="attacks", unit="run"
    )
    for seed in opts.seeds:
        index = _select_images(data["test"], opts.num_images, seed)
        selected[seed] = index.tolist()
        x = jnp.asarray(data["test"]["image"][index])
        labels = jnp.asarray(data["test"]["mask"][index])
        targets = largest_digit_targets(
            np.asarray(predict(params, x).argmax(-1)),
            np.asarray(labels),
            spec.num_classes,
        )
        for name in opts.explainers:
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
            for name in opts.explainers
            if opts.num_figure_images > 0
        }
    results = {
        "teacher": teacher,
        "images": {"split": "test", "per_seed": selected},
        "options": dataclasses.asdict(opts),
        "summary": summary,
    }
    return write_results(
        workdir,
        results,
        findings=findings,
        figures=figures,
        seconds=timer.seconds,
        report=lambda completed: report_markdown(completed, opts),
    )
