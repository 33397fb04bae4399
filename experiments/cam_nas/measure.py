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

from experiments.cam_nas.config import METHODS
from experiments.shared.nas_fitness import proxy_fitness
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
    budget_limits,
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

SEARCHED = METHODS[:5]

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
      probe, warmup, search, student_train, eval, proxy_search: the config's
        sections of those names.
      teacher_model, teacher_params: the teacher (for ``proxy_search``).
      space: the students' search space.
      budget: the parameter budget of every student.
      data: ``load_data`` output (train, validation and test splits).
      data_config: ``config.data`` as a dict (part of the students' fingerprint).
      image_shape: ``(H, W, C)`` of the images.
      teacher_dir: the teacher's folder (part of the searches' fingerprint).
      probe_images, probe_targets, probe_maps: the fitness probe batch, its
        targets and the teacher's Seg-Grad-CAMs at ``probe.point``.
      eval_images, eval_targets, eval_maps: the evaluation batch, its targets
        and the teacher's bottleneck Seg-Grad-CAMs.
    """

    probe: Any
    warmup: Any
    search: Any
    student_train: Any
    eval: Any
    proxy_search: Any
    teacher_model: Any
    teacher_params: Any
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


def check_budget_fractions(budget) -> dict:
    """``{"params_fraction", "flops_fraction"}``, at least one set, each in (0, 1]."""
    fractions = {
        "params_fraction": budget.params_fraction,
        "flops_fraction": budget.flops_fraction,
    }
    if all(v is None for v in fractions.values()):
        raise ValueError(
            "config.budget: expected params_fraction or flops_fraction (or both)"
        )
    for name, value in fractions.items():
        if value is not None and not 0 < value <= 1:
            raise ValueError(
                f"config.budget.{name}: expected a number in (0, 1], got {value!r}"
            )
    return fractions


def check_student_sections(budget, space, student_train, probe, probe_points) -> None:
    """Checks shared by the NAS studies: the budget, the space, the students'
    recipe and the probe point (one of the teacher's ``probe_points``)."""
    check_budget_fractions(budget)
    search_space(space, UNetConfig(num_classes=2))
    try:
        student_train.train_config(seed=0)
    except (TypeError, ValueError) as error:
        raise ValueError(f"config.student_train: {error}") from error
    if probe.point not in probe_points:
        raise ValueError(
            f"config.probe.point: expected one of {probe_points}, got {probe.point!r}"
        )


def make_budget(budget, teacher: UNetConfig, space: SearchSpace, image_size: int):
    """The :class:`Budget` of ``config.budget``, checked against the space.

    Args:
      budget: ``params_fraction`` and ``flops_fraction`` (either may be
        ``None``, not both), fractions in (0, 1] of the teacher's counts.
      teacher: the teacher's config (the reference counts).
      space: the students' space (the budget must admit one of them).
      image_size: ``H = W`` the FLOPs are counted for.

    Raises:
      ValueError: naming ``config.budget``: no bound, a fraction outside
        (0, 1], FLOPs that cannot be counted for this image size, or a budget
        below the smallest student of the space (whose counts it gives).
    """
    fractions = check_budget_fractions(budget)
    if fractions["flops_fraction"] is not None:
        try:
            space.flop_unit(image_size)
        except ValueError as error:
            raise ValueError(
                "config.budget.flops_fraction: the students' FLOPs cannot be "
                f"counted exactly for {image_size}x{image_size} images ({error})"
            ) from error
    result = Budget.fraction_of(
        teacher,
        params=fractions["params_fraction"],
        flops=fractions["flops_fraction"],
        image_size=image_size,
    )
    try:
        budget_limits(space, result)
    except ValueError as error:
        raise ValueError(f"config.budget: {error}") from error
    return result


def within(config: UNetConfig, budget: Budget) -> bool:
    """Whether a materialised student satisfies ``budget``."""
    size = budget.image_size
    h, w = (size, size) if isinstance(size, int) else size
    return (
        budget.max_params is None or count_params(config) <= budget.max_params
    ) and (
        budget.max_flops is None
        or count_flops(config, height=h, width=w) <= budget.max_flops
    )


def hand_designed(teacher: UNetConfig, budget: Budget) -> UNetConfig:
    """The teacher with widths ``round(m * w)`` for the largest ``m`` in budget.

    ``m`` is searched on a grid of 1/64 steps; widths stay >= 1; the budget's
    parameter and FLOP bounds both apply.
    """
    best = None
    for step in range(1, 65):
        widths = tuple(max(1, round(w * step / 64)) for w in teacher.widths)
        candidate = dataclasses.replace(teacher, widths=widths)
        if within(candidate, budget):
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


def warmup_batches(split, warmup, seed):
    """``warmup.steps`` batches of ``warmup.batch_size`` images drawn with ``seed``."""
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
    space, options = setup.space, setup
    if method == "zen_proxy":
        return make_zen_proxy(
            space, jax.random.key(seed + 1000), image_shape=setup.image_shape
        )
    if method == "proxy_search":
        proxy = options.proxy_search.proxy
        batches = None
        if proxy.endswith("_warmup"):
            batches = warmup_batches(setup.data["train"], options.warmup, seed)
        return proxy_fitness(
            proxy,
            space=space,
            teacher_model=setup.teacher_model,
            teacher_params=setup.teacher_params,
            point=options.probe.point,
            images=setup.probe_images,
            targets=setup.probe_targets,
            seed=seed,
            warmup_batches=batches,
            warmup_learning_rate=options.warmup.learning_rate,
        )
    explain = student_explainer(space, seg_grad_cam, options.probe.point)
    warm = {}
    if method == "cam_nas_warmup":
        images, masks = warmup_batches(setup.data["train"], options.warmup, seed)
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
    space, budget, options = setup.space, setup.budget, setup
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
    fingerprint = {
        # What defines this search only (not the seed list or the evaluation),
        # so that a run with more or fewer seeds resumes the searches it shares.
        "method": method,
        "space": dataclasses.asdict(space),
        "budget": dataclasses.asdict(budget),
        "search": dataclasses.asdict(s),
        "probe": [probe.point, probe.num_images, probe.split],
        "warmup": [warmup.steps, warmup.batch_size, warmup.learning_rate]
        if method == "cam_nas_warmup"
        or (method == "proxy_search" and options.proxy_search.proxy.endswith("_warmup"))
        else None,
        "teacher": setup.teacher_dir,
    }
    if method == "proxy_search":
        fingerprint["proxy"] = options.proxy_search.proxy
    result = run_search(
        strategy,
        lambda genomes: evaluate(weights, genomes),
        seed=seed,
        generations=s.generations,
        hyperparams=hyper,
        workdir=workdir / "search" / method / f"seed{seed}",
        fingerprint=fingerprint,
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
    options = setup
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
