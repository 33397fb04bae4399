"""CAM-NAS for segmentation: search students whose explanations match the teacher.

The seed paper's proposal (Fig. 1) is tested on TextureDigits with the
quickstart's U-Net teacher: U-Net students of :class:`segxai_jax.nas.SearchSpace`
under a parameter budget (a fraction of the teacher's), searched by
Zen-NAS-style evolution with the CAM-NAS fitness (inverse Euclidean distance of
min-max normalised Seg-Grad-CAMs at the bottleneck, teacher vs student, same
class ROIs frozen from the teacher's prediction, on a fixed validation probe
batch). Methods, each with the same number of evaluated candidates per seed:

* ``cam_nas_init``: fitness at the shared random initialisation (CAM-NAS);
* ``cam_nas_warmup``: fitness after ``warmup.steps`` Adam steps of every
  candidate (the whole population trained in the same vmapped call);
* ``random_search``: uniform random genomes within budget, the best by the
  CAM-NAS init fitness (the baseline Zen-NAS compares with);
* ``zen_proxy``: the same evolution with a teacher-free, label-free
  Zen-score-like proxy;
* ``hand_designed``: no search: the teacher's architecture with all widths
  scaled by the largest factor that fits the budget.

Every winner is trained from scratch with the same recipe and seed and scored
on test images: mIoU and the similarity of its Seg-Grad-CAMs to the
teacher's. Per method: mean and Student-t 95 % CI over seeds; the hypothesis
"CAM-NAS winner >= random-search winner in mIoU" is checked with a paired CI.

References:
  Zhang, Wang, Joe. CAM-NAS, Applied Sciences 13(17), 9686, 2023.
  Lin et al. Zen-NAS. ICCV 2021.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments import common, reproduction
from experiments.cam_nas_report import make_figures, report_markdown, summarise
from experiments.reporting import Timer
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
from segxai_jax.training import TrainConfig, ensure_writable_dir, train

METHODS = (
    "cam_nas_init",
    "cam_nas_warmup",
    "random_search",
    "zen_proxy",
    "hand_designed",
)
SEARCHED = METHODS[:4]


def _options(config) -> dict:
    check = reproduction
    methods = check.check_choices(config.methods, "methods", METHODS)
    seeds = tuple(int(s) for s in config.seeds)
    if not seeds:
        raise ValueError("config.seeds: expected at least one seed")
    search = {
        k: check.check_int(config.search[k], f"search.{k}")
        for k in ("population_size", "archive_size", "generations", "tournament_size")
    }
    for k in ("crossover_rate", "immigrant_rate"):
        search[k] = check.check_fraction(
            config.search[k], f"search.{k}", upper_inclusive=True
        )
    fraction = config.budget.params_fraction
    if not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise ValueError(
            f"config.budget.params_fraction: expected a number in (0, 1], got "
            f"{fraction!r}"
        )
    return {
        "methods": methods,
        "seeds": seeds,
        "search": search,
        "params_fraction": float(fraction),
        "point": config.probe.point,
        "num_probe_images": check.check_int(
            config.probe.num_images, "probe.num_images"
        ),
        "probe_split": config.probe.split,
        "warmup_steps": check.check_int(config.warmup.steps, "warmup.steps"),
        "warmup_batch_size": check.check_int(
            config.warmup.batch_size, "warmup.batch_size"
        ),
        "warmup_learning_rate": float(config.warmup.learning_rate),
        "num_eval_images": check.check_int(config.eval.num_images, "eval.num_images"),
        "eval_split": config.eval.split,
    }


def _space(config, teacher_config: UNetConfig) -> SearchSpace:
    try:
        return SearchSpace(
            num_classes=teacher_config.num_classes,
            depths=tuple(config.space.depths),
            widths=tuple(tuple(w) for w in config.space.widths),
            blocks=tuple(config.space.blocks),
            kernels=tuple(config.space.kernels),
            in_channels=teacher_config.in_channels,
            input_norm=teacher_config.input_norm,
            bottleneck_head=teacher_config.bottleneck_head,
        )
    except ValueError as error:
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


def _maps(model, params, point, images, targets):
    probe = make_probe(model, point, input_shape=tuple(images.shape[1:]))
    return teacher_maps(seg_grad_cam(probe), params, images, targets)


def _similarity(maps_a, maps_b) -> np.ndarray:
    return np.asarray(jax.jit(jax.vmap(inverse_euclidean))(maps_a, maps_b))


def _warmup_batches(split, opts, seed):
    count = opts["warmup_steps"] * opts["warmup_batch_size"]
    rng = np.random.default_rng(seed)
    index = rng.choice(len(split["image"]), count, replace=False)
    shape = (opts["warmup_steps"], opts["warmup_batch_size"])
    images = jnp.asarray(split["image"][index]).reshape(
        *shape, *split["image"].shape[1:]
    )
    masks = jnp.asarray(split["mask"][index]).reshape(*shape, *split["mask"].shape[1:])
    return images, masks


def _search_method(method, seed, ctx, workdir):
    """Runs one search; returns its winner config and search statistics."""
    space, budget, opts = ctx["space"], ctx["budget"], ctx["opts"]
    s = opts["search"]
    strategy = EvolutionarySearch(
        space,
        budget,
        population_size=s["population_size"],
        archive_size=s["archive_size"],
        tournament_size=s["tournament_size"],
        sampling="random" if method == "random_search" else "evolution",
    )
    hyper = EvolutionHyperparams(
        crossover_rate=jnp.float32(s["crossover_rate"]),
        immigrant_rate=jnp.float32(s["immigrant_rate"]),
    )
    weights = init_supernet(jax.random.key(seed), space)
    if method == "zen_proxy":
        fitness = make_zen_proxy(
            space, jax.random.key(seed + 1000), image_shape=ctx["image_shape"]
        )
    else:
        explain = student_explainer(space, seg_grad_cam, opts["point"])
        warm = {}
        if method == "cam_nas_warmup":
            images, masks = _warmup_batches(ctx["data"]["train"], opts, seed)
            warm = {
                "warmup": make_warmup(
                    space, learning_rate=opts["warmup_learning_rate"]
                ),
                "warmup_images": images,
                "warmup_masks": masks,
            }
        fitness = make_explanation_fitness(
            space,
            explain,
            images=ctx["probe_images"],
            targets=ctx["probe_targets"],
            teacher_maps=ctx["probe_maps"],
            **warm,
        )
    evaluate = make_population_evaluator(fitness)
    result = run_search(
        strategy,
        lambda genomes: evaluate(weights, genomes),
        seed=seed,
        generations=s["generations"],
        hyperparams=hyper,
        workdir=workdir / "search" / method / f"seed{seed}",
        fingerprint={
            # What defines this search only (not the seed list or the evaluation),
            # so that a run with more or fewer seeds resumes the searches it shares.
            "method": method,
            "space": dataclasses.asdict(space),
            "budget": dataclasses.asdict(budget),
            "search": opts["search"],
            "probe": [opts[k] for k in ("point", "num_probe_images", "probe_split")],
            "warmup": [
                opts[k]
                for k in ("warmup_steps", "warmup_batch_size", "warmup_learning_rate")
            ]
            if method == "cam_nas_warmup"
            else None,
            "teacher": ctx["teacher_dir"],
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


def _train_and_score(student: UNetConfig, method, seed, ctx, workdir) -> dict:
    opts = ctx["opts"]
    model = UNet(student)
    train_config = TrainConfig(seed=seed, **ctx["student_train"])
    result = train(
        model,
        ctx["data"]["train"],
        ctx["data"]["validation"],
        config=train_config,
        num_classes=student.num_classes,
        workdir=workdir / "students" / method / f"seed{seed}",
        run_fingerprint={
            "model": dataclasses.asdict(student),
            "data": ctx["data_config"],
        },
        progress=False,
    )
    params = result.state.params
    scores = reproduction.teacher_scores(
        model, params, ctx["data"][opts["eval_split"]], student.num_classes
    )
    maps = _maps(model, params, "bottleneck", ctx["eval_images"], ctx["eval_targets"])
    similarity = _similarity(ctx["eval_maps"], maps)
    return {
        "config": dataclasses.asdict(student),
        "params": count_params(student),
        "flops": count_flops(student, height=ctx["image_shape"][0]),
        "miou": scores["miou"],
        "pixel_accuracy": scores["pixel_accuracy"],
        "similarity": float(similarity.mean()),
    }


def run(config, workdir: str | Path) -> dict:
    """Runs the CAM-NAS study; returns what is written to ``results.json``."""
    workdir = ensure_writable_dir(workdir, name="workdir")
    opts = _options(config)
    _space(config, UNetConfig(num_classes=2))  # bad space options fail before work
    timer = Timer()
    with timer("data"):
        data = common.load_data(config.data)
    spec = data["spec"]
    with timer("teacher"):
        teacher_model, teacher_params, teacher = reproduction.resolve_teacher(
            config.teacher, config.data, data, workdir, seed=opts["seeds"][0]
        )
    teacher_config = teacher_model.config
    if opts["point"] not in teacher_config.probe_names:
        raise ValueError(
            f"config.probe.point: expected one of {teacher_config.probe_names}, got "
            f"{opts['point']!r}"
        )
    teacher["test_scores"] = reproduction.teacher_scores(
        teacher_model, teacher_params, data["test"], spec.num_classes
    )
    teacher["params"] = count_params(teacher_config)
    space = _space(config, teacher_config)
    image_shape = tuple(data["test"]["image"].shape[1:])
    budget = Budget.fraction_of(
        teacher_config, params=opts["params_fraction"], image_size=image_shape[0]
    )
    apply = jax.jit(
        jax.vmap(lambda p, x: teacher_model.apply({"params": p}, x[None])[0], (None, 0))
    )

    def images_and_targets(split, count):
        images = jnp.asarray(data[split]["image"][:count])
        predicted = np.asarray(apply(teacher_params, images).argmax(-1))
        targets = common.largest_digit_targets(
            predicted, data[split]["mask"][:count], spec.num_classes
        )
        return images, targets

    probe_images, probe_targets = images_and_targets(
        opts["probe_split"], opts["num_probe_images"]
    )
    eval_images, eval_targets = images_and_targets(
        opts["eval_split"], opts["num_eval_images"]
    )
    ctx = {
        "opts": opts,
        "space": space,
        "budget": budget,
        "data": data,
        "data_config": config.data.to_dict(),
        "image_shape": image_shape,
        "teacher_dir": teacher["dir"],
        "probe_images": probe_images,
        "probe_targets": probe_targets,
        "probe_maps": _maps(
            teacher_model, teacher_params, opts["point"], probe_images, probe_targets
        ),
        "eval_images": eval_images,
        "eval_targets": eval_targets,
        "eval_maps": _maps(
            teacher_model, teacher_params, "bottleneck", eval_images, eval_targets
        ),
        "student_train": config.student_train.to_dict(),
    }
    runs = {method: [] for method in opts["methods"]}
    for seed in opts["seeds"]:
        for method in opts["methods"]:
            tic = time.perf_counter()
            if method == "hand_designed":
                student, info = hand_designed(teacher_config, budget), {}
            else:
                with timer("search"):
                    student, info = _search_method(method, seed, ctx, workdir)
            with timer("train_students"):
                scored = _train_and_score(student, method, seed, ctx, workdir)
            runs[method].append(
                {"seed": seed, **info, **scored, "seconds": time.perf_counter() - tic}
            )
    summary = summarise(runs, opts)
    findings = summary.pop("findings")
    with timer("figures"):
        figures = make_figures(workdir, runs, summary, teacher)
    results = {
        "teacher": teacher,
        "options": opts,
        "space": dataclasses.asdict(space),
        "budget": dataclasses.asdict(budget),
        "runs": runs,
        "summary": summary,
    }
    return reproduction.write_results(
        workdir,
        results,
        findings=findings,
        figures=figures,
        seconds=timer.seconds,
        report=report_markdown,
    )
