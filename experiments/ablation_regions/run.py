"""Foreground vs background deactivation per layer (the Seg-Ablation-CAM study).

Gipiskis et al. (EUROCON 2023) deactivate regions of a layer's activation
maps, inside the object (foreground) and outside it (background), and report
that foreground deactivations matter more for the output (seed paper, sec. 5).
This experiment measures that on TextureDigits test images with a trained
U-Net teacher, at every probe point of the network (encoder stages,
bottleneck, decoder stages).

Per image the target is the digit class ``c`` with the largest predicted area
and its predicted region ``M`` (frozen); at each layer the foreground is the
set of cells of the layer's ``u x v`` grid whose ROI share exceeds
``region_threshold`` (0 = any overlap), the background its complement (see
:func:`segxai_jax.explainers.ablation_region`). With
:func:`segxai_jax.explainers.ablation_effects`, both regions are deactivated
(set to ``ablation_value``) in all channels at once and in each channel alone,
and we record:

* the relative change of the target ``|S - S'| / |S|`` (``S`` = summed logits
  of class ``c`` over ``M``), and its signed version (a deactivation can also
  raise ``S``); "matters more" is read as "changes the output more", so the
  magnitude decides;
* ``1 - Dice`` of the class-``c`` region against the clean prediction;
* both per area: divided by the region's share of the grid, because the
  background is usually much larger than the foreground;
* the mean over single-channel deactivations of the magnitude.

Foreground minus background is compared per image (paired), with a Student-t
95 % confidence interval over images.

References:
  Gipiskis, Chiaro, Annunziata, Piccialli. Ablation studies in activation maps
  for explainable semantic segmentation in Industry 4.0. IEEE EUROCON 2023.
  Desai, Ramaswamy. Ablation-CAM. WACV 2020.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.ablation_regions.config import Config
from experiments.ablation_regions.findings import evaluate_finding
from experiments.ablation_regions.measure import measure_layer, summarise
from experiments.ablation_regions.report import make_figures, report_markdown
from experiments.shared.options import check_choices
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher, teacher_probe_names
from experiments.shared.units import Unit
from segxai_jax.models import unet_apply_fn
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir) -> Config:
    """``layers=()`` as every probe point; layer names checked against the teacher."""
    probe_names = teacher_probe_names(settings.teacher, workdir)
    layers = tuple(settings.layers) or tuple(probe_names)
    check_choices(layers, "layers", probe_names)
    if settings.figure_layer not in probe_names:
        raise ValueError(
            f"config.figure_layer: expected one of {tuple(probe_names)}, got "
            f"{settings.figure_layer!r}"
        )
    return dataclasses.replace(settings, layers=layers)


# The study in units (see experiments.shared.study): one unit per (ROI
# threshold, layer), i.e. one layer's foreground/background deactivations on
# every image.
NAME = "ablation_regions"
AXES = ("layers", "region_thresholds")
PRESENTATION = ("figure_layer", "num_figure_images")


def units(settings: Config) -> list[Unit]:
    return [
        Unit(f"t{threshold:g}-{layer}", {"threshold": threshold, "layer": layer})
        for threshold in settings.region_thresholds
        for layer in settings.layers
    ]


def prepare(settings: Config, workdir, timer) -> dict:
    """The teacher, the first ``num_images`` test images and their targets."""
    data, model, params, teacher = load_data_and_teacher(
        settings.teacher, settings.data, workdir, timer, seed=settings.seed
    )
    count = min(settings.num_images, len(data["test"]["image"]))
    images = jnp.asarray(data["test"]["image"][:count])
    logits = jax.jit(jax.vmap(unet_apply_fn(model), (None, 0)))(params, images)
    targets = largest_digit_targets(
        np.asarray(logits.argmax(-1)),
        data["test"]["mask"][:count],
        data["spec"].num_classes,
    )
    return {
        "model": model,
        "params": params,
        "teacher": teacher,
        "images": images,
        "targets": targets,
    }


def run_unit(settings: Config, unit: Unit, context: dict):
    threshold, layer = unit.settings["threshold"], unit.settings["layer"]
    effects = measure_layer(
        context["model"],
        context["params"],
        context["images"],
        context["targets"],
        threshold,
        layer,
        **deactivation(settings),
    )
    return effects, None


def aggregate(settings: Config, records) -> dict:
    raw = {
        (r.unit.settings["threshold"], r.unit.settings["layer"]): r.result
        for r in records
    }
    return summarise(raw)


def findings(summary: dict, settings: Config):
    return [evaluate_finding(summary, settings.region_thresholds[0], settings.layers)]


def figures(workdir, settings: Config, records, context: dict) -> dict:
    """The bar chart and the maps, once every layer of the first threshold ran."""
    first = {
        r.unit.settings["layer"]
        for r in records
        if r.unit.settings["threshold"] == settings.region_thresholds[0]
    }
    if first != set(settings.layers):
        return {}
    return make_figures(
        Path(workdir),
        context["model"],
        context["params"],
        context["images"],
        context["targets"],
        aggregate(settings, records),
        threshold=settings.region_thresholds[0],
        layers=settings.layers,
        figure_layer=settings.figure_layer,
        num_figure_images=settings.num_figure_images,
        deactivation=deactivation(settings),
    )


def results(settings: Config, summary: dict, records, context: dict) -> dict:
    del records
    model = context["model"]
    return {
        "teacher": context["teacher"],
        "images": {
            "split": "test",
            "count": int(len(context["images"])),
            "target_classes": np.asarray(context["targets"].class_id).tolist(),
        },
        "channels": {
            layer: int(w)
            for layer, w in zip(
                model.config.probe_names, model.config.stage_widths, strict=True
            )
        },
        "summary": summary,
    }


def report(completed: dict) -> str:
    return report_markdown(completed)


def deactivation(settings: Config) -> dict:
    """How a region is deactivated (keywords of ``ablation_effects``)."""
    return {
        "mode": settings.mode,
        "ablation_value": settings.ablation_value,
        "scale": settings.scale,
        "chunk_size": settings.chunk_size,
    }


def run(settings: Config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing (threshold, layer) units; returns results.json."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], settings, workdir, minutes=minutes)
