"""The measurements of the CAM-NAS study: searches, trained winners, summaries.

Each search method (:data:`SEARCHED`) runs one checkpointed evolutionary (or
random) search per seed; every winner, and the hand-designed student, is then
trained from scratch with ``config.student_train`` and scored on
``config.eval``: mIoU, pixel accuracy and the similarity of its bottleneck
Seg-Grad-CAMs to the teacher's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.shared.stats import mean_ci
from experiments.shared.teacher import teacher_scores
from segxai_jax import make_probe, seg_grad_cam
from segxai_jax.metrics.similarity import inverse_euclidean
from segxai_jax.models import UNet, UNetConfig, count_flops, count_params
from segxai_jax.nas import (
    Budget,
    EvolutionarySearch,
    EvolutionHyperparams,
    SearchSpace,
    init_supernet,
    make_explanation_fitness,
    make_population_evaluator,
    make_warmup,
    make_zen_proxy,
    run_search,
    student_explainer,
    teacher_maps,
)
from segxai_jax.training import train

METHODS = (
    "cam_nas_init",
    "cam_nas_warmup",
    "random_search",
    "zen_proxy",
    "hand_designed",
)
SEARCHED = METHODS[:4]

# What :func:`summarise` puts a confidence interval on, per method.
METRICS = (
    "miou",
    "similarity",
    "params",
    "flops",
    "best_fitness",
    "search_seconds",
    "candidates_per_second",
)


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every search and student training of one run shares.

    Attributes:
      options: the run's :class:`experiments.cam_nas.run.Options`.
      space: the students' search space.
      budget: the parameter budget of every student.
      data: ``load_data`` output (train, validation and test splits).
      data_config: ``config.data`` as a dict (part of the students' fingerprint).
      image_shape: ``(H, W, C)`` of the images.
      teacher_dir: the teacher's folder (part of the searches' fingerprint).
      probe_images, probe_targets, probe_maps: the fitness probe batch, its
        targets and the teacher's Seg-Grad-CAMs at ``options.probe.point``.
      eval_images, eval_targets, eval_maps: the evaluation batch, its targets
        and the teacher's bottleneck Seg-Grad-CAMs.
    """

    options: Any
    space: SearchSpace
    budget: Budget
    data: dict
    data_config: dict
    image_shape: tuple[int, ...]
    teacher_dir: str
    probe_images: Any
    probe_targets: Any
    probe_maps: Any
    eval_images: Any
    eval_targets: Any
    eval_maps: Any


def search_space(space, teacher_config: UNetConfig) -> SearchSpace:
    """The :class:`SearchSpace` of ``config.space`` for the teacher's task.

    Args:
      space: ``depths``, ``widths``, ``blocks`` and ``kernels`` (the
        ``config.space`` options).
      teacher_config: gives the class count, input channels, input
        normalisation and bottleneck head of every student.

    Raises:
      ValueError: naming ``config.space``.
    """
    try:
        return SearchSpace(
            num_classes=teacher_config.num_classes,
            depths=tuple(space.depths),
            widths=tuple(tuple(w) for w in space.widths),
            blocks=tuple(space.blocks),
            kernels=tuple(space.kernels),
            in_channels=teacher_config.in_channels,
            input_norm=teacher_config.input_norm,
            bottleneck_head=teacher_config.bottleneck_head,
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"config.space: {error}") from error


def hand_designed(teacher: UNetConfig, budget: Budget) -> UNetConfig:
    """The teacher with widths ``round(m * w)`` for the largest ``m`` in budget.

    ``m`` is searched on a grid of 1/64 steps; widths stay >= 1.
    """
    best = None
    for step in range(1, 65):
        widths = tuple(max(1, round(w * step / 64)) for w in teacher.widths)
        candidate = dataclasses.replace(teacher, widths=widths)
        if budget.max_params is None or count_params(candidate) <= budget.max_params:
            best = candidate
    if best is None:
        raise ValueError(f"budget: no width scaling of the teacher fits {budget}")
    return best


def cam_maps(model, params, point, images, targets):
    """Seg-Grad-CAMs ``[B, H, W]`` of ``model`` at ``point``, one per target."""
    probe = make_probe(model, point, input_shape=tuple(images.shape[1:]))
    return teacher_maps(seg_grad_cam(probe), params, images, targets)


def _similarity(maps_a, maps_b) -> np.ndarray:
    return np.asarray(jax.jit(jax.vmap(inverse_euclidean))(maps_a, maps_b))


def _warmup_batches(split, warmup, seed):
    count = warmup.steps * warmup.batch_size
    rng = np.random.default_rng(seed)
    index = rng.choice(len(split["image"]), count, replace=False)
    shape = (warmup.steps, warmup.batch_size)
    images = jnp.asarray(split["image"][index]).reshape(
        *shape, *split["image"].shape[1:]
    )
    masks = jnp.asarray(split["mask"][index]).reshape(*shape, *split["mask"].shape[1:])
    return images, masks


def _fitness(method, seed, setup: Setup):
    """The population fitness of a search method (the CAM-NAS one or the proxy)."""
    space, options = setup.space, setup.options
    if method == "zen_proxy":
        return make_zen_proxy(
            space, jax.random.key(seed + 1000), image_shape=setup.image_shape
        )
    explain = student_explainer(space, seg_grad_cam, options.probe.point)
    warm = {}
    if method == "cam_nas_warmup":
        images, masks = _warmup_batches(setup.data["train"], options.warmup, seed)
        warm = {
            "warmup": make_warmup(space, learning_rate=options.warmup.learning_rate),
            "warmup_images": images,
            "warmup_masks": masks,
        }
    return make_explanation_fitness(
        space,
        explain,
        images=setup.probe_images,
        targets=setup.probe_targets,
        teacher_maps=setup.probe_maps,
        **warm,
    )


def search_method(method, seed, setup: Setup, workdir):
    """Runs one search; returns its winner config and search statistics."""
    space, budget, options = setup.space, setup.budget, setup.options
    s = options.search
    strategy = EvolutionarySearch(
        space,
        budget,
        population_size=s.population_size,
        archive_size=s.archive_size,
        tournament_size=s.tournament_size,
        sampling="random" if method == "random_search" else "evolution",
    )
    hyper = EvolutionHyperparams(
        crossover_rate=jnp.float32(s.crossover_rate),
        immigrant_rate=jnp.float32(s.immigrant_rate),
    )
    weights = init_supernet(jax.random.key(seed), space)
    evaluate = make_population_evaluator(_fitness(method, seed, setup))
    probe, warmup = options.probe, options.warmup
    result = run_search(
        strategy,
        lambda genomes: evaluate(weights, genomes),
        seed=seed,
        generations=s.generations,
        hyperparams=hyper,
        workdir=workdir / "search" / method / f"seed{seed}",
        fingerprint={
            # What defines this search only (not the seed list or the evaluation),
            # so that a run with more or fewer seeds resumes the searches it shares.
            "method": method,
            "space": dataclasses.asdict(space),
            "budget": dataclasses.asdict(budget),
            "search": dataclasses.asdict(s),
            "probe": [probe.point, probe.num_images, probe.split],
            "warmup": [warmup.steps, warmup.batch_size, warmup.learning_rate]
            if method == "cam_nas_warmup"
            else None,
            "teacher": setup.teacher_dir,
        },
        description=f"{method} seed {seed}",
    )
    genome = np.asarray(result.state.best_genome)
    seconds = sum(h["seconds"] for h in result.history)
    evaluated = int(result.state.num_evaluated)
    return space.to_config(genome), {
        "genome": genome.tolist(),
        "best_fitness": float(result.state.best_fitness),
        "history": [
            {k: h[k] for k in ("generation", "best_fitness", "mean_fitness")}
            for h in result.history
        ],
        "search_seconds": seconds,
        "num_evaluated": evaluated,
        "candidates_per_second": evaluated / seconds if seconds > 0 else None,
        "resumed_from": result.resumed_from,
    }


def train_and_score(student: UNetConfig, method, seed, setup: Setup, workdir) -> dict:
    """Trains ``student`` (checkpointed, resumed) and scores it on ``config.eval``."""
    options = setup.options
    model = UNet(student)
    result = train(
        model,
        setup.data["train"],
        setup.data["validation"],
        config=options.student_train.train_config(seed),
        num_classes=student.num_classes,
        workdir=workdir / "students" / method / f"seed{seed}",
        run_fingerprint={
            "model": dataclasses.asdict(student),
            "data": setup.data_config,
        },
        progress=False,
    )
    params = result.state.params
    scores = teacher_scores(
        model, params, setup.data[options.eval.split], student.num_classes
    )
    maps = cam_maps(model, params, "bottleneck", setup.eval_images, setup.eval_targets)
    similarity = _similarity(setup.eval_maps, maps)
    return {
        "config": dataclasses.asdict(student),
        "params": count_params(student),
        "flops": count_flops(student, height=setup.image_shape[0]),
        "miou": scores["miou"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "similarity": float(similarity.mean()),
    }


def values_of(entries, key) -> list:
    """``entry[key]`` of every run, NaN where it is missing or ``None``."""
    return [np.nan if e.get(key) is None else e[key] for e in entries]


def summarise(runs: dict) -> dict:
    """Per method: mean and 95 % CI over seeds of every metric it has."""
    return {
        method: {
            key: mean_ci(values_of(entries, key))
            for key in METRICS
            if any(key in e for e in entries)
        }
        for method, entries in runs.items()
    }
