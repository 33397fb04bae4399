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

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common, reproduction
from experiments.ablation_regions_findings import evaluate_finding
from experiments.ablation_regions_metrics import measure, summarise
from experiments.ablation_regions_report import make_figures, report_markdown
from experiments.reporting import Timer
from segxai_jax.explainers.ablation import MODES
from segxai_jax.models import unet_apply_fn
from segxai_jax.training import ensure_writable_dir


def _options(config, probe_names) -> dict:
    check = reproduction
    layers = tuple(config.layers) or tuple(probe_names)
    check.check_choices(layers, "layers", probe_names)
    thresholds = tuple(config.region_thresholds)
    if not thresholds:
        raise ValueError("config.region_thresholds: expected at least one value")
    for t in thresholds:
        check.check_fraction(t, "region_thresholds")
    if config.mode not in MODES:
        raise ValueError(f"config.mode: expected one of {MODES}, got {config.mode!r}")
    if config.figure_layer not in probe_names:
        raise ValueError(
            f"config.figure_layer: expected one of {tuple(probe_names)}, got "
            f"{config.figure_layer!r}"
        )
    return {
        "num_images": check.check_int(config.num_images, "num_images"),
        "layers": layers,
        "thresholds": tuple(float(t) for t in thresholds),
        "mode": config.mode,
        "ablation_value": float(config.ablation_value),
        "scale": float(config.scale),
        "chunk_size": check.check_int(config.chunk_size, "chunk_size"),
        "figure_layer": config.figure_layer,
        "num_figure_images": check.check_int(
            config.num_figure_images, "num_figure_images"
        ),
    }


def run(config, workdir: str | Path) -> dict:
    """Runs the region study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    opts = _options(config, reproduction.teacher_probe_names(config.teacher, workdir))
    timer = Timer()
    data, model, params, teacher = reproduction.load_data_and_teacher(
        config, workdir, timer
    )
    spec = data["spec"]
    count = min(opts["num_images"], len(data["test"]["image"]))
    images = jnp.asarray(data["test"]["image"][:count])
    apply_fn = unet_apply_fn(model)
    logits = jax.jit(jax.vmap(apply_fn, (None, 0)))(params, images)
    targets = common.largest_digit_targets(
        np.asarray(logits.argmax(-1)), data["test"]["mask"][:count], spec.num_classes
    )
    with timer("ablation"):
        raw = measure(model, params, images, targets, opts)
    summary = summarise(raw, opts)
    findings = [evaluate_finding(summary, opts)]
    with timer("figures"):
        figures = make_figures(workdir, model, params, images, targets, summary, opts)
    results = {
        "teacher": teacher,
        "images": {
            "split": "test",
            "count": count,
            "target_classes": np.asarray(targets.class_id).tolist(),
        },
        "options": opts,
        "channels": {
            layer: int(w)
            for layer, w in zip(
                model.config.probe_names, model.config.stage_widths, strict=True
            )
        },
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
