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

from experiments.ablation_regions.findings import evaluate_finding
from experiments.ablation_regions.measure import measure_layer, summarise
from experiments.ablation_regions.report import make_figures, report_markdown
from experiments.shared.options import (
    check_choices,
    check_fraction,
    check_int,
    check_real,
)
from experiments.shared.study import run_study
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import load_data_and_teacher, teacher_probe_names
from experiments.shared.units import Unit
from segxai_jax.explainers.ablation import MODES
from segxai_jax.models import unet_apply_fn
from segxai_jax.training import ensure_writable_dir


@dataclasses.dataclass(frozen=True)
class Options:
    """The study's settings, checked (see config.py for their meaning)."""

    num_images: int
    layers: tuple[str, ...]
    thresholds: tuple[float, ...]
    mode: str
    ablation_value: float
    scale: float
    chunk_size: int
    figure_layer: str
    num_figure_images: int

    @classmethod
    def from_config(cls, config, workdir=None) -> Options:
        """The checked options; errors name ``config.<field>``."""
        probe_names = teacher_probe_names(config.teacher, workdir)
        layers = tuple(config.layers) or tuple(probe_names)
        check_choices(layers, "layers", probe_names)
        thresholds = tuple(config.region_thresholds)
        if not thresholds:
            raise ValueError("config.region_thresholds: expected at least one value")
        for t in thresholds:
            check_fraction(t, "region_thresholds")
        if config.mode not in MODES:
            raise ValueError(
                f"config.mode: expected one of {MODES}, got {config.mode!r}"
            )
        if config.figure_layer not in probe_names:
            raise ValueError(
                f"config.figure_layer: expected one of {tuple(probe_names)}, got "
                f"{config.figure_layer!r}"
            )
        return cls(
            num_images=check_int(config.num_images, "num_images"),
            layers=layers,
            thresholds=tuple(float(t) for t in thresholds),
            mode=config.mode,
            ablation_value=check_real(config.ablation_value, "ablation_value"),
            scale=check_real(config.scale, "scale"),
            chunk_size=check_int(config.chunk_size, "chunk_size"),
            figure_layer=config.figure_layer,
            num_figure_images=check_int(config.num_figure_images, "num_figure_images"),
        )


# The study in units (see experiments.shared.study): one unit per (ROI
# threshold, layer), i.e. one layer's foreground/background deactivations on
# every image.
NAME = "ablation_regions"
AXES = ("layers", "thresholds")
PRESENTATION = ("figure_layer", "num_figure_images")


def units(opts: Options) -> list[Unit]:
    return [
        Unit(f"t{threshold:g}-{layer}", {"threshold": threshold, "layer": layer})
        for threshold in opts.thresholds
        for layer in opts.layers
    ]


def prepare(config, workdir, timer) -> dict:
    """The teacher, the first ``num_images`` test images and their targets."""
    opts = Options.from_config(config, workdir)
    data, model, params, teacher = load_data_and_teacher(config, workdir, timer)
    count = min(opts.num_images, len(data["test"]["image"]))
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


def run_unit(opts: Options, unit: Unit, context: dict):
    threshold, layer = unit.settings["threshold"], unit.settings["layer"]
    effects = measure_layer(
        context["model"],
        context["params"],
        context["images"],
        context["targets"],
        opts,
        threshold,
        layer,
    )
    return effects, None


def aggregate(opts: Options, records) -> dict:
    raw = {
        (r.unit.settings["threshold"], r.unit.settings["layer"]): r.result
        for r in records
    }
    return summarise(raw, opts)


def findings(summary: dict, opts: Options):
    return [evaluate_finding(summary, opts)]


def figures(workdir, opts: Options, records, context: dict) -> dict:
    """The bar chart and the maps, once every layer of the first threshold ran."""
    first = {
        r.unit.settings["layer"]
        for r in records
        if r.unit.settings["threshold"] == opts.thresholds[0]
    }
    if first != set(opts.layers):
        return {}
    return make_figures(
        Path(workdir),
        context["model"],
        context["params"],
        context["images"],
        context["targets"],
        aggregate(opts, records),
        opts,
    )


def results(opts: Options, summary: dict, records, context: dict) -> dict:
    del records
    model = context["model"]
    return {
        "teacher": context["teacher"],
        "images": {
            "split": "test",
            "count": int(len(context["images"])),
            "target_classes": np.asarray(context["targets"].class_id).tolist(),
        },
        "options": dataclasses.asdict(opts),
        "channels": {
            layer: int(w)
            for layer, w in zip(
                model.config.probe_names, model.config.stage_widths, strict=True
            )
        },
        "summary": summary,
    }


def report(completed: dict, opts: Options) -> str:
    return report_markdown(completed, opts)


def run(config, workdir: str | Path, *, minutes: float | None = None) -> dict:
    """Runs the missing (threshold, layer) units; returns results.json."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    return run_study(sys.modules[__name__], config, workdir, minutes=minutes)
