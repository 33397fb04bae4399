"""The measurements of the proxy study: sampled architectures, proxies, trained mIoU.

* :func:`sample_architectures`: distinct students drawn uniformly from the
  space (each gene uniform over its choices), rejected when over the budget;
* :func:`proxy_scores`: every proxy (:mod:`experiments.shared.nas_fitness`)
  of every sampled architecture, a chunk of the population per compiled
  call, on one shared random initialisation of the supernet;
* :func:`train_and_score`: each architecture materialised, trained from
  scratch with the short recipe and scored on the evaluation split; the
  scores are cached per architecture so that a killed study resumes.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from experiments.cam_nas.measure import warmup_batches
from experiments.shared.nas_fitness import (
    EXPLAINERS,
    explanation_fitness,
    relation_fitness,
)
from experiments.shared.teacher import teacher_scores
from segxai_jax.models import UNet, UNetConfig, count_flops, count_params
from segxai_jax.nas import (
    SearchSpace,
    active_genes,
    genome_cost,
    init_supernet,
    make_warmup,
    make_zen_proxy,
)
from segxai_jax.nas.budget import budget_limits, within_budget
from segxai_jax.training import train, write_atomic

PROXY_NAMES = {
    "seg_grad_cam": "Seg-Grad-CAM",
    "xgrad_cam": "XGrad-CAM",
    "seg_ablation_cam": "Seg-Ablation-CAM",
    "gradient": "vanilla gradient",
}


def describe(proxy: str) -> str:
    """A proxy's name in words, for tables and figures."""
    if proxy in ("params", "flops"):
        return {"params": "#params", "flops": "FLOPs"}[proxy]
    if proxy == "zen":
        return "Zen-like (input sensitivity)"
    if proxy == "relation_init":
        return "DisWOT-like sample relations, init"
    name, time = proxy.rsplit("_", 1)
    when = "at init" if time == "init" else "after warm-up"
    return f"{PROXY_NAMES[name]} similarity, {when}"


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every proxy and training shares.

    Attributes:
      proxies, population_chunk, probe, warmup, student_train, eval: the
        config's fields and sections of those names.
      space, budget: the students' space and budget.
      data: ``load_data`` output.
      data_config: ``config.data`` as a dict (part of the students' fingerprint).
      teacher_model, teacher_params: the teacher.
      probe_images, probe_targets: the proxies' probe batch and its targets.
    """

    proxies: tuple[str, ...]
    population_chunk: int
    probe: Any
    warmup: Any
    student_train: Any
    eval: Any
    space: SearchSpace
    budget: Any
    data: dict
    data_config: dict
    teacher_model: Any
    teacher_params: Any
    probe_images: Any
    probe_targets: Any


def sample_architectures(space: SearchSpace, budget, count: int, seed: int):
    """``count`` distinct genomes ``[count, G]`` uniform over the space within budget.

    Genomes that encode the same U-Net (inert genes of unused levels) count
    once.

    Raises:
      ValueError: naming ``config.num_architectures`` when the space holds
        fewer distinct students within the budget than asked for (found by
        100,000 draws).
    """
    limits = budget_limits(space, budget)
    fits = jax.jit(jax.vmap(lambda g: within_budget(space, limits, g)))
    # Inert genes set to 0: two genomes encode the same U-Net iff equal then.
    canonical = jax.jit(jax.vmap(lambda g: jnp.where(active_genes(space, g), g, 0)))
    rng = np.random.default_rng(seed)
    chosen, seen = [], set()
    for _ in range(100):
        draws = rng.integers(0, space.num_choices, (1000, space.genome_length))
        draws = jnp.asarray(draws, jnp.int32)
        ok = np.asarray(fits(draws))
        for genome in np.asarray(canonical(draws))[ok]:
            key = tuple(genome.tolist())
            if key not in seen:
                seen.add(key)
                chosen.append(genome.astype(np.int32))
            if len(chosen) == count:
                return np.stack(chosen)
    raise ValueError(
        f"config.num_architectures: the space holds only {len(chosen)} distinct "
        f"students within the budget, asked for {count}"
    )


def _chunks(genomes: np.ndarray, size: int):
    """Fixed-size chunks (the last padded with its final row) and their lengths."""
    for start in range(0, len(genomes), size):
        chunk = genomes[start : start + size]
        pad = size - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)])
        yield jnp.asarray(chunk), size - pad


def proxy_scores(setup: Setup, genomes: np.ndarray, seed: int) -> dict:
    """``{proxy: [N] floats}`` for every proxy of ``setup.options.proxies``.

    Every learned proxy starts from ONE random initialisation of the supernet
    (``seed``), as a training-free proxy scores a search's population; the
    warm-up proxies first train each candidate's own copy for
    ``options.warmup.steps`` Adam steps (the same batches for every
    candidate), once per candidate, and score every explainer on the result.
    """
    options, space = setup, setup.space
    names = options.proxies
    weights = init_supernet(jax.random.key(seed), space)
    out = {name: [] for name in names}
    if "params" in names or "flops" in names:
        params, units = jax.jit(jax.vmap(lambda g: genome_cost(space, g)))(
            jnp.asarray(genomes)
        )
        unit = space.flop_unit(setup.budget.image_size)
        if "params" in names:
            out["params"] = np.asarray(params, np.float64)
        if "flops" in names:
            out["flops"] = np.asarray(units, np.float64) * unit
    common = dict(
        space=space,
        teacher_model=setup.teacher_model,
        teacher_params=setup.teacher_params,
        point=options.probe.point,
        images=setup.probe_images,
    )
    fitnesses = {}
    for name in names:
        base = name.rpartition("_")[0]
        if base in EXPLAINERS and base not in fitnesses:
            fitnesses[base] = explanation_fitness(
                base, targets=setup.probe_targets, **common
            )
    if "relation_init" in names:
        fitnesses["relation"] = relation_fitness(**common)
    if "zen" in names:
        fitnesses["zen"] = make_zen_proxy(
            space, jax.random.key(seed + 1000), image_shape=setup.probe_images.shape[1:]
        )
    at_init = {
        key: jax.jit(jax.vmap(f.fn, (None, 0, None))) for key, f in fitnesses.items()
    }
    trained = {
        key: jax.jit(jax.vmap(f.fn, (0, 0, None))) for key, f in fitnesses.items()
    }
    wants_warmup = any(n.endswith("_warmup") for n in names)
    if wants_warmup:
        images, masks = warmup_batches(setup.data["train"], options.warmup, seed)
        warm = jax.jit(
            jax.vmap(
                make_warmup(space, learning_rate=options.warmup.learning_rate),
                (None, 0, None, None),
            )
        )
    chunks = list(_chunks(genomes, options.population_chunk))
    for chunk, valid in tqdm(chunks, desc="proxies", unit="chunk"):
        warmed = warm(weights, chunk, images, masks) if wants_warmup else None
        for name in names:
            if name in ("params", "flops"):
                continue
            base, _, time = name.rpartition("_")
            key = {"relation_init": "relation", "zen": "zen"}.get(name, base)
            if time == "warmup":
                values = trained[key](warmed, chunk, fitnesses[key].data)
            else:
                values = at_init[key](weights, chunk, fitnesses[key].data)
            out[name].extend(np.asarray(values)[:valid].tolist())
    return {
        name: np.asarray(values, np.float64).tolist() for name, values in out.items()
    }


def train_and_score(index: int, genome, setup: Setup, workdir, seed: int) -> dict:
    """Trains architecture ``index`` with the short recipe; cached in its folder.

    Returns:
      ``{"index", "genome", "config", "params", "flops", "miou",
      "pixel_accuracy", "val_miou", "train_seconds"}``.
    """
    config = setup.space.to_config(np.asarray(genome))
    folder = workdir / "students" / f"arch{index:03d}"
    scores_file = folder / "scores.json"
    described = json.loads(json.dumps(dataclasses.asdict(config)))
    if scores_file.exists():
        cached = json.loads(scores_file.read_text())
        if cached.get("config") == described:
            return cached
    entry = {
        "index": index,
        "genome": np.asarray(genome).tolist(),
        **train_student(config, folder, setup, seed),
    }
    write_atomic(scores_file, json.dumps(entry, indent=1) + "\n")
    return json.loads(json.dumps(entry))


def train_student(config: UNetConfig, folder, setup: Setup, seed: int) -> dict:
    """Trains one U-Net with the short recipe (checkpointed in ``folder``).

    Returns:
      ``{"config", "params", "flops", "miou", "pixel_accuracy", "val_miou",
      "train_seconds"}`` (mIoU and pixel accuracy on ``options.eval.split``).
    """
    options = setup
    described = dataclasses.asdict(config)
    model = UNet(config)
    result = train(
        model,
        setup.data["train"],
        setup.data["validation"],
        config=options.student_train.train_config(seed),
        num_classes=config.num_classes,
        workdir=folder,
        run_fingerprint={"model": described, "data": setup.data_config},
        progress=False,
    )
    scores = teacher_scores(
        model, result.state.params, setup.data[options.eval.split], config.num_classes
    )
    size = setup.budget.image_size
    return {
        "config": described,
        "params": count_params(config),
        "flops": count_flops(config, height=size, width=size),
        "miou": scores["miou"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "val_miou": result.history[-1]["val_miou"],
        "train_seconds": sum(h.get("train_seconds", 0.0) for h in result.history),
    }
