"""Saliency-guided replay compression for class-incremental segmentation.

The question (seed paper, third application): at an equal replay-memory
budget in bytes, does storing exemplars compressed around their salient
region (a salient patch, Saha & Roy 2023; a salient box at full resolution
with the rest downsampled, CIM, Luo et al. 2023) beat storing fewer full
images, and beat the same compression at a random place?

Protocol. TextureDigits generated in memory (:func:`generate_split` with the
config's sizes), the ten digits split into tasks of ``classes_per_task``
classes, MiB labelling (only the current task's classes are labelled,
:mod:`segxai_jax.continual.stream`). Every strategy x budget x seed trains a
U-Net from scratch through the tasks with a replay memory of
``budget_images`` times the bytes of one full exemplar; exemplars are
explained by the current model (Seg-Grad-CAM at the bottleneck, target = the
task class with the largest area, ROI = its ground-truth pixels), compressed
and inserted with the memory policy after each task. Bounds: fine-tuning
without replay and joint training on all classes (``epochs_per_task`` epochs
over all images: each image is seen as often as in the stream). Measured per
run: final mIoU over all classes on the test split, average forgetting,
backward transfer, exemplars stored. Seeds change the model initialisation,
batch order and memory sampling; the data is fixed.

Each run checkpoints after every task into ``<workdir>/runs/<name>/``; a
killed experiment resumes where it stopped.

References:
  Saha, Roy. Saliency guided experience packing for replay in continual
  learning. WACV 2023.
  Luo et al. Class-incremental exemplar compression for class-incremental
  learning (CIM). CVPR 2023.
  Cermelli et al. Modeling the background for incremental learning in
  semantic segmentation (MiB). CVPR 2020.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments import reproduction
from experiments.continual_replay_report import (
    evaluate_findings,
    make_figures,
    report_markdown,
    summarise,
)
from experiments.reporting import Timer
from segxai_jax.continual import (
    ContinualConfig,
    default_explainer,
    downsample_size_for_bytes,
    exemplar_bytes,
    joint_tasks,
    make_compressor,
    saliency_fn,
    split_classes,
    train_stream,
)
from segxai_jax.data.texture_digits import (
    NUM_CLASSES,
    TextureDigitsConfig,
    generate_split,
)
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import ensure_writable_dir

BOUNDS = ("finetune", "joint")


def load_stream_data(data_config) -> dict:
    """Train and test arrays (images float32 in [0, 1], masks int32)."""
    generator = TextureDigitsConfig(
        name="continual",
        image_size=data_config.image_size,
        num_train=data_config.num_train,
        num_validation=1,
        num_test=data_config.num_test,
        min_digits=data_config.min_digits,
        max_digits=data_config.max_digits,
        min_digit_size=data_config.get("min_digit_size") or None,
        max_digit_size=data_config.get("max_digit_size") or None,
        seed=data_config.seed,
    )
    out = {}
    for split in ("train", "test"):
        arrays = generate_split(generator, split)
        out[split] = {
            "image": arrays["image"].astype(np.float32) / np.float32(255.0),
            "mask": arrays["mask"].astype(np.int32),
        }
    return out


def make_strategy_compressor(strategy, hw, full_bytes: int):
    """The compressor of one strategy config entry (``None`` for the bounds)."""
    kind = strategy.kind
    if kind in BOUNDS:
        return None
    if kind == "downsample":
        reference = make_compressor(
            "box",
            image_shape=hw,
            box_size=strategy.box_size,
            factor=strategy.factor,
        )
        target = exemplar_bytes(reference.example) - exemplar_bytes({})
        return make_compressor(
            "downsample", image_shape=hw, size=downsample_size_for_bytes(target, hw)
        )
    options = {
        k: strategy[k]
        for k in ("patch_size", "box_size", "factor", "placement", "outside")
        if k in strategy
    }
    return make_compressor(kind, image_shape=hw, **options)


def _options(config) -> dict:
    check = reproduction
    names = [s.name for s in config.strategies]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"config.strategies: expected unique names, got {names}")
    for s in config.strategies:
        if s.kind not in (*BOUNDS, "full", "patch", "box", "downsample"):
            raise ValueError(f"config.strategies: unknown kind {s.kind!r}")
    budgets = tuple(check.check_int(b, "budget_images") for b in config.budget_images)
    seeds = tuple(check.check_int(s, "seeds", minimum=0) for s in config.seeds)
    if not budgets or not seeds:
        raise ValueError("config.budget_images and config.seeds: expected values")
    return {
        "strategies": names,
        "budget_images": budgets,
        "seeds": seeds,
        "classes_per_task": check.check_int(
            config.classes_per_task, "classes_per_task"
        ),
    }


def run(config, workdir: str | Path) -> dict:
    """Runs every strategy x budget x seed; returns what goes to results.json."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    opts = _options(config)
    timer = Timer()
    with timer("data"):
        data = load_stream_data(config.data)
    hw = tuple(data["train"]["image"].shape[1:3])
    tasks = split_classes(NUM_CLASSES, classes_per_task=opts["classes_per_task"])
    model = UNet(UNetConfig(num_classes=NUM_CLASSES, **config.model.to_dict()))
    saliency = saliency_fn(
        default_explainer(model, image_shape=(*hw, 3), layer=config.saliency_layer),
        num_classes=NUM_CLASSES,
    )
    full_bytes = exemplar_bytes(make_compressor("full", image_shape=hw).example)
    runs, last_params = [], None
    for seed in opts["seeds"]:
        for strategy in config.strategies:
            comp = make_strategy_compressor(strategy, hw, full_bytes)
            budgets = (0,) if comp is None else opts["budget_images"]
            for budget in budgets:
                name = f"{strategy.name}_b{budget}_s{seed}"
                train_config = ContinualConfig(seed=seed, **config.train.to_dict())
                stream_tasks = tasks
                if strategy.kind == "joint":
                    # every image seen epochs_per_task times, as in the stream
                    stream_tasks = joint_tasks(tasks)
                with timer(f"train_{strategy.name}"):
                    result = train_stream(
                        model,
                        data["train"],
                        data["test"],
                        tasks=stream_tasks,
                        num_classes=NUM_CLASSES,
                        config=train_config,
                        compressor=comp,
                        budget_bytes=budget * full_bytes,
                        saliency=saliency,
                        workdir=workdir / "runs" / name,
                        fingerprint={
                            "model": config.model.to_dict(),
                            "data": config.data.to_dict(),
                            "compressor": None if comp is None else comp.name,
                        },
                    )
                runs.append(
                    {
                        "name": name,
                        "strategy": strategy.name,
                        "compressor": None if comp is None else comp.name,
                        "budget_images": budget,
                        "budget_bytes": budget * full_bytes,
                        "seed": seed,
                        "final_miou": result["final_miou"],
                        "final_iou": result["final_iou"],
                        "average_forgetting": result["average_forgetting"],
                        "backward_transfer": result["backward_transfer"],
                        "accuracy": result["accuracy"],
                        "memory": result["memory"],
                        "seconds": sum(h["seconds"] for h in result["history"]),
                    }
                )
                if comp is not None and seed == opts["seeds"][0]:
                    last_params = result["state"].params
    summary = summarise(runs, opts)
    findings = evaluate_findings(summary, opts)
    with timer("figures"):
        figures = make_figures(
            workdir,
            summary,
            opts,
            data=data,
            strategies=config.strategies,
            hw=hw,
            full_bytes=full_bytes,
            params=last_params,
            saliency=saliency,
            tasks=tasks,
        )
    results = {
        "options": opts,
        "tasks": [list(t) for t in tasks],
        "full_exemplar_bytes": full_bytes,
        "data": config.data.to_dict(),
        "model": config.model.to_dict(),
        "train": config.train.to_dict(),
        "runs": runs,
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
