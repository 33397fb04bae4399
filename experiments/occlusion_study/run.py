"""Occlusion fills and patch sizes: reproducing Gipiskis & Kurasova (CISTI 2023).

The paper slides occlusion patches of several colours and sizes over the
inputs of segmentation models and reports (as summarised in the seed paper,
sec. 5, and in ``ALGORITHMS.md``):

1. the results depend on the occlusion colour (fill) and size;
2. a black patch can be segmented as part of the object;
3. Gaussian-based fills distort the output less;
4. segmentation scores change little under occlusion (less than the scores of
   perturbation explanations in classification), so maps need min-max
   rescaling to be readable.

This experiment measures each claim on TextureDigits test images with a
trained U-Net teacher. Target: the digit class with the largest predicted
area, its predicted region ``M`` frozen as ROI, score ``S_c(x; M)`` = summed
logits (the seed paper's target). For every fill and patch size ``k`` (stride
``k // 2``) ONE sweep over the windows records, per window:

* the drop of ``S_c`` (the occlusion map is the per-pixel mean over covering
  windows, exactly :func:`segxai_jax.explainers.occlusion`; checked against it
  on one image per patch size, see ``library_check`` in ``results.json``);
* the mean class probability over ``M``; the Dice of class ``c`` against the
  clean prediction;
* classification-style scores of the same network (there is no separate
  classifier): the probability of class ``c`` from a softmax over the ten
  digit classes of the logits pooled over the image, by global average (a
  GAP classification head) or by max; probabilities are compared by their
  absolute spread (a relative one explodes when another digit dominates);
* how many of the occluded pixels that the clean prediction called background
  are now predicted as some digit ("fill segmented as a digit");
* the share of pixels OUTSIDE the patch whose predicted label changed
  (distortion beyond the occluded area).

Deletion AUC (RISE) of every map is measured with the same settings for all
fills (choice: mean probability of class ``c`` over ``M`` as the score, 16
steps, and two substrates, ``"black"`` and ``"blur"``, so that no fill is
favoured by being its own deletion substrate in both; a random map is the
baseline). Map similarity between fills: Spearman rank correlation and SSIM
(min-max normalised maps), averaged over images.

Not tested: the paper's link between fill effects and the object's colours
and foreground/background ratio.

References:
  Gipiskis, Kurasova. Occlusion-based approach for interpretable semantic
  segmentation. CISTI 2023.
  Petsiuk, Das, Saenko. RISE. BMVC 2018 (deletion curves).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.occlusion_study.config import Config
from experiments.occlusion_study.findings import evaluate_findings
from experiments.occlusion_study.measure import deletion_aucs, map_similarity, summarise
from experiments.occlusion_study.report import make_figures, report_markdown
from experiments.occlusion_study.sweeps import Plan, check_library, run_sweeps
from experiments.shared.data import load_data
from experiments.shared.options import config_to_dict
from experiments.shared.results import Timer, write_results
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import needs_training, resolve_teacher, teacher_scores
from segxai_jax.models import unet_apply_fn
from segxai_jax.training import ensure_writable_dir


def resolve(settings: Config, workdir=None) -> Config:
    """Checks of fields together."""
    del workdir
    if settings.reference_patch not in settings.patch_sizes:
        raise ValueError(
            "config.reference_patch: expected one of config.patch_sizes "
            f"{settings.patch_sizes}, got {settings.reference_patch!r}"
        )
    return settings


def run(settings: Config, workdir: str | Path) -> dict:
    """Runs the occlusion study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    settings = resolve(settings)
    fields = dataclasses.fields(Plan)
    plan = Plan(**{f.name: getattr(settings, f.name) for f in fields})
    timer = Timer()
    with timer("data"):
        splits = ("test", "validation")
        if needs_training(settings.teacher, workdir, settings.data, settings.seed):
            splits = ("train", "validation", "test")
        data = load_data(settings.data, splits=splits)
    spec = data["spec"]
    if max(settings.patch_sizes) > spec.image_size:
        raise ValueError(
            f"config.patch_sizes: expected at most the image size {spec.image_size}, "
            f"got {settings.patch_sizes}"
        )
    with timer("teacher"):
        model, params, teacher = resolve_teacher(
            settings.teacher, settings.data, data, workdir, seed=settings.seed
        )
    teacher["test_scores"] = teacher_scores(
        model, params, data["test"], spec.num_classes
    )
    apply_fn = unet_apply_fn(model)
    count = min(settings.num_images, len(data["test"]["image"]))
    images = jnp.asarray(data["test"]["image"][:count])
    batch_apply = jax.jit(jax.vmap(apply_fn, (None, 0)))
    clean_logits = batch_apply(params, images)

    def predict(xs):
        return np.asarray(batch_apply(params, xs).argmax(-1))

    predicted = np.asarray(clean_logits.argmax(-1))
    targets = largest_digit_targets(
        predicted, data["test"]["mask"][:count], spec.num_classes
    )
    # Choice: the "dataset mean" fill is the validation split's channel mean.
    dataset_mean = np.asarray(data["validation"]["image"].mean(axis=(0, 1, 2)))
    key = jax.random.key(settings.seed)
    key_noise, key_random, key_deletion = jax.random.split(key, 3)

    with timer("occlusion"):
        sweeps = run_sweeps(
            apply_fn,
            params,
            images,
            clean_logits,
            targets,
            dataset_mean,
            key_noise,
            plan,
        )
    with timer("library_check"):
        library_check = check_library(
            apply_fn, params, images[0], targets, sweeps, plan
        )
    with timer("deletion"):
        deletion = deletion_aucs(
            apply_fn,
            params,
            images,
            targets,
            sweeps,
            key_random,
            key_deletion,
            spec.num_classes,
            plan,
            dataset_mean,
        )
    with timer("similarity"):
        similarity = map_similarity(sweeps, plan)
    summaries = summarise(sweeps, plan)
    findings = evaluate_findings(summaries, deletion, similarity, plan)
    with timer("figures"):
        figures = make_figures(
            workdir,
            images,
            sweeps,
            similarity,
            summaries,
            plan,
            spec,
            dataset_mean,
            key_noise,
            predict,
        )
    results = {
        "teacher": teacher,
        "images": {
            "split": "test",
            "count": count,
            "target_classes": np.asarray(targets.class_id).tolist(),
        },
        "config": config_to_dict(settings),
        "dataset_mean": dataset_mean.tolist(),
        "forward_passes": {
            str(p): len(settings.fills)
            * count
            * sweeps[(settings.fills[0], p)]["windows"]
            for p in settings.patch_sizes
        },
        "library_check": library_check,
        "summaries": summaries,
        "deletion": deletion,
        "similarity": similarity,
    }
    return write_results(
        workdir,
        results,
        findings=findings,
        figures=figures,
        seconds=timer.seconds,
        report=lambda completed: report_markdown(completed, spec),
    )
