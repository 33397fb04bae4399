"""The training runs of the replay-compression study and their summaries.

:func:`setup_stream` builds what every run shares (the U-Net, the saliency of
the exemplars, the task split, the bytes of one full exemplar);
:func:`train_run` trains one strategy x budget x seed through the stream
(it checkpoints after every task into ``<workdir>/runs/<name>/`` and a
finished one is restored); :func:`summarise` gives the mean and CI over seeds
per (strategy, budget) and the paired differences of final mIoU.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from experiments.continual_replay.config import BOUNDS, FEATURE_REPLAY
from experiments.shared.options import config_to_dict
from experiments.shared.stats import mean_ci, paired_difference
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
    unet_prototype_replay,
)
from segxai_jax.data.texture_digits import (
    NUM_CLASSES,
    TextureDigitsConfig,
    generate_split,
)
from segxai_jax.explainers import vanilla_gradient
from segxai_jax.models import UNet, UNetConfig, unet_apply_fn

METRICS = ("final_miou", "average_forgetting", "backward_transfer")
# (saliency-guided, baseline): the comparisons the hypothesis is about.
COMPARISONS = (
    ("box", "full"),
    ("patch", "full"),
    ("box_gradient", "full"),
    ("box", "random_box"),
    ("patch", "random_patch"),
    ("box_gradient", "random_box"),
    ("box", "downsample"),
    ("box_gradient", "downsample"),
    ("box", "prototypes"),
    ("box", "prototypes_held"),
    ("box", "instance"),
    ("patch", "instance"),
)
COMPRESSOR_OPTIONS = ("patch_size", "box_size", "factor", "placement", "outside")


def load_stream_data(data) -> dict:
    """Train and test arrays (images float32 in [0, 1], masks int32).

    Args:
      data: the checked ``config.data`` (:class:`.config.StreamSettings`); digit
        sizes 0 or ``None`` leave the generator's default.
    """
    generator = TextureDigitsConfig(
        name="continual",
        image_size=data.image_size,
        num_train=data.num_train,
        num_validation=1,
        num_test=data.num_test,
        min_digits=data.min_digits,
        max_digits=data.max_digits,
        min_digit_size=data.min_digit_size or None,
        max_digit_size=data.max_digit_size or None,
        seed=data.seed,
    )
    out = {}
    for split in ("train", "test"):
        arrays = generate_split(generator, split)
        out[split] = {
            "image": arrays["image"].astype(np.float32) / np.float32(255.0),
            "mask": arrays["mask"].astype(np.int32),
        }
    return out


def make_strategy_compressor(strategy, hw):
    """The compressor of one strategy (``None`` for the bounds).

    Args:
      strategy: one of the checked ``config.strategies``; options
        that are ``None`` keep the compressor's default.
      hw: ``(H, W)`` of the images.
    """
    kind = strategy.kind
    if kind in BOUNDS or kind in FEATURE_REPLAY:
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
        k: getattr(strategy, k)
        for k in COMPRESSOR_OPTIONS
        if getattr(strategy, k) is not None
    }
    return make_compressor(kind, image_shape=hw, **options)


class Stream(NamedTuple):
    """What every run of the study shares."""

    model: UNet
    saliency: Any  # f(params, images, masks, classes) -> [B, H, W] (Seg-Grad-CAM)
    tasks: tuple[tuple[int, ...], ...]
    hw: tuple[int, int]
    full_bytes: int  # one uncompressed exemplar
    gradient_saliency: Any = None  # the vanilla gradient's, same signature

    def saliency_of(self, strategy):
        """The saliency a strategy's compressor is placed with."""
        if getattr(strategy, "saliency", None) == "gradient":
            return self.gradient_saliency
        return self.saliency


def setup_stream(model_config, classes_per_task: int, saliency_layer: str, data):
    """The U-Net of ``model_config`` (the config's ``model`` section), its
    saliency at ``saliency_layer``, the tasks and the bytes of a full exemplar.
    """
    hw = tuple(data["train"]["image"].shape[1:3])
    tasks = split_classes(NUM_CLASSES, classes_per_task=classes_per_task)
    model = UNet(UNetConfig(num_classes=NUM_CLASSES, **config_to_dict(model_config)))
    saliency = saliency_fn(
        default_explainer(model, image_shape=(*hw, 3), layer=saliency_layer),
        num_classes=NUM_CLASSES,
    )
    full_bytes = exemplar_bytes(make_compressor("full", image_shape=hw).example)
    gradient = saliency_fn(
        vanilla_gradient(unet_apply_fn(model)), num_classes=NUM_CLASSES
    )
    return Stream(model, saliency, tasks, hw, full_bytes, gradient)


def train_run(
    stream: Stream,
    strategy,
    budget: int,
    seed: int,
    data,
    workdir,
    *,
    recipe: dict,
    fingerprint: dict,
):
    """Trains (or restores) one run: a strategy at a budget with a seed.

    Args:
      stream: :func:`setup_stream` output.
      strategy: one of the config's ``strategies``.
      budget: the memory budget in full exemplars (0 for the bounds).
      seed: the run's seed (initialisation, batch order, memory sampling).
      data: :func:`load_stream_data` output.
      workdir: the run checkpoints after every task into
        ``workdir/runs/<name>/`` and resumes from there.
      recipe: the config's ``train`` section as a dict (ContinualConfig but
        its seed).
      fingerprint: the ``model`` and ``data`` sections as dicts (a finished
        run of another model or data is refused).

    Returns:
      ``(record, params)``: the run's scores and its final parameters.
    """
    comp = make_strategy_compressor(strategy, stream.hw)
    name = f"{strategy.name}_b{budget}_s{seed}"
    train_config = ContinualConfig(seed=seed, **recipe)
    stream_tasks = stream.tasks
    if strategy.kind == "joint":
        # every image seen epochs_per_task times, as in the stream
        stream_tasks = joint_tasks(stream.tasks)
    result = train_stream(
        stream.model,
        data["train"],
        data["test"],
        tasks=stream_tasks,
        num_classes=NUM_CLASSES,
        config=train_config,
        compressor=comp,
        budget_bytes=budget * stream.full_bytes,
        saliency=stream.saliency_of(strategy),
        prototypes=(
            unet_prototype_replay(
                stream.model,
                (*stream.hw, 3),
                scope=strategy.prototype_scope or "head",
                distillation=strategy.distillation or 0.0,
            )
            if strategy.kind == "prototypes"
            else None
        ),
        workdir=Path(workdir) / "runs" / name,
        fingerprint={
            **fingerprint,
            "compressor": None if comp is None else comp.name,
        },
    )
    record = {
        "name": name,
        "strategy": strategy.name,
        "compressor": None if comp is None else comp.name,
        "budget_images": budget,
        "budget_bytes": budget * stream.full_bytes,
        "seed": seed,
        "final_miou": result["final_miou"],
        "final_iou": result["final_iou"],
        "average_forgetting": result["average_forgetting"],
        "backward_transfer": result["backward_transfer"],
        "accuracy": result["accuracy"],
        "memory": result["memory"],
        "seconds": sum(h["seconds"] for h in result["history"]),
    }
    return record, result["state"].params


def summarise(runs: list[dict], budget_images) -> dict:
    """Mean and CI over seeds per (strategy, budget); paired differences.

    Args:
      runs: :func:`train_run` records.
      budget_images: the budgets compared (in full exemplars), in order.
    """
    cells = defaultdict(list)
    for run in runs:
        cells[(run["strategy"], run["budget_images"])].append(run)
    table = {}
    for (strategy, budget), group in cells.items():
        group = sorted(group, key=lambda r: r["seed"])
        entry = {m: mean_ci([r[m] for r in group]) for m in METRICS}
        entry["per_seed"] = {m: [r[m] for r in group] for m in METRICS}
        entry["seeds"] = [r["seed"] for r in group]
        entry["exemplars_stored"] = float(
            np.mean([r["memory"]["exemplars_stored"] for r in group])
        )
        entry["exemplar_bytes"] = group[0]["memory"]["exemplar_bytes"]
        # Everything a run keeps between tasks, counted alike: stored
        # exemplars (with masks and overheads) and prototype statistics.
        entry["stored_bytes"] = float(
            np.mean(
                [
                    r["memory"].get("storage_bytes", 0)
                    + r["memory"].get("prototype_bytes", 0)
                    for r in group
                ]
            )
        )
        entry["budget_bytes"] = group[0]["budget_bytes"]
        entry["compressor"] = group[0]["compressor"]
        table.setdefault(strategy, {})[str(budget)] = entry
    differences = {}
    for a, b in COMPARISONS:
        if a not in table or b not in table:
            continue
        pooled_a, pooled_b = [], []
        for budget in budget_images:
            # Prototypes store no exemplars: their one run (budget 0) is the
            # baseline at every budget.
            other = "0" if set(table[b]) == {"0"} else str(budget)
            ea, eb = table[a].get(str(budget)), table[b].get(other)
            if ea is None or eb is None or ea["seeds"] != eb["seeds"]:
                continue
            va, vb = ea["per_seed"]["final_miou"], eb["per_seed"]["final_miou"]
            differences.setdefault(f"{a}-{b}", {})[str(budget)] = paired_difference(
                va, vb
            )
            pooled_a += va
            pooled_b += vb
        if pooled_a:
            # every (budget, seed) pair: more pairs than seeds alone, but pairs
            # of one seed share the model initialisation (not independent)
            differences[f"{a}-{b}"]["pooled"] = paired_difference(pooled_a, pooled_b)
    return {"table": table, "differences": differences}
