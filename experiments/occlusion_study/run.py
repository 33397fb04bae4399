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

from experiments.occlusion_study.findings import evaluate_findings
from experiments.occlusion_study.measure import deletion_aucs, map_similarity, summarise
from experiments.occlusion_study.report import make_figures, report_markdown
from experiments.occlusion_study.sweeps import check_library, run_sweeps
from experiments.shared.data import load_data
from experiments.shared.options import check_choices, check_fraction, check_int
from experiments.shared.results import Timer, write_results
from experiments.shared.targets import largest_digit_targets
from experiments.shared.teacher import needs_training, resolve_teacher, teacher_scores
from segxai_jax.explainers import FILL_KINDS
from segxai_jax.models import unet_apply_fn
from segxai_jax.training import ensure_writable_dir

# Every kind whose substrate does not depend on the patch (one sweep per
# patch size compiles once and takes the substrate as an argument).
SUPPORTED_FILLS = tuple(k for k in FILL_KINDS if k != "patch_mean")


@dataclasses.dataclass(frozen=True)
class Options:
    """The study's settings, checked (see config.py for their meaning)."""

    num_images: int
    patches: tuple[int, ...]
    fills: tuple[str, ...]
    deletion_fills: tuple[str, ...]
    deletion_steps: int
    chunk_size: int
    num_figure_images: int
    fake_digit_threshold: float
    reference_patch: int

    @classmethod
    def from_config(cls, config, workdir=None) -> Options:
        """The checked options; errors name ``config.<field>``."""
        patches = tuple(config.patch_sizes)
        if not patches:
            raise ValueError("config.patch_sizes: expected at least one patch size")
        for p in patches:
            check_int(p, "patch_sizes", minimum=2)
        if config.reference_patch not in patches:
            raise ValueError(
                "config.reference_patch: expected one of config.patch_sizes "
                f"{patches}, got {config.reference_patch!r}"
            )
        fills = check_choices(config.fills, "fills", SUPPORTED_FILLS)
        if len(fills) < 2:
            raise ValueError(f"config.fills: expected at least two fills, got {fills}")
        return cls(
            num_images=check_int(config.num_images, "num_images"),
            patches=patches,
            fills=fills,
            deletion_fills=check_choices(
                config.deletion.fills, "deletion.fills", SUPPORTED_FILLS
            ),
            deletion_steps=check_int(config.deletion.num_steps, "deletion.num_steps"),
            chunk_size=check_int(config.chunk_size, "chunk_size"),
            num_figure_images=check_int(config.num_figure_images, "num_figure_images"),
            fake_digit_threshold=check_fraction(
                config.fake_digit_threshold, "fake_digit_threshold"
            ),
            reference_patch=int(config.reference_patch),
        )


def run(config, workdir: str | Path) -> dict:
    """Runs the occlusion study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    options = Options.from_config(config, workdir)
    timer = Timer()
    with timer("data"):
        splits = ("test", "validation")
        if needs_training(config.teacher, workdir, config.data, config.seed):
            splits = ("train", "validation", "test")
        data = load_data(config.data, splits=splits)
    spec = data["spec"]
    if max(options.patches) > spec.image_size:
        raise ValueError(
            f"config.patch_sizes: expected at most the image size {spec.image_size}, "
            f"got {options.patches}"
        )
    with timer("teacher"):
        model, params, teacher = resolve_teacher(
            config.teacher, config.data, data, workdir, seed=config.seed
        )
    teacher["test_scores"] = teacher_scores(
        model, params, data["test"], spec.num_classes
    )
    apply_fn = unet_apply_fn(model)
    count = min(options.num_images, len(data["test"]["image"]))
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
    key = jax.random.key(config.seed)
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
            options,
        )
    with timer("library_check"):
        library_check = check_library(
            apply_fn, params, images[0], targets, sweeps, options
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
            options,
            dataset_mean,
        )
    with timer("similarity"):
        similarity = map_similarity(sweeps, options)
    summaries = summarise(sweeps, options)
    findings = evaluate_findings(summaries, deletion, similarity, options)
    with timer("figures"):
        figures = make_figures(
            workdir,
            images,
            sweeps,
            similarity,
            summaries,
            options,
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
        "options": dataclasses.asdict(options),
        "dataset_mean": dataset_mean.tolist(),
        "forward_passes": {
            str(p): len(options.fills)
            * count
            * sweeps[(options.fills[0], p)]["windows"]
            for p in options.patches
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
        report=lambda completed: report_markdown(completed, options, spec),
    )
