"""Fitness of a student: how well its explanations match the teacher's.

CAM-NAS scores a candidate by the inverse Euclidean distance between the
teacher's and the student's class activation maps of the same images. For
segmentation (seed paper, Fig. 1) the maps are Seg-Grad-CAMs of the same class
ROI (frozen from the teacher's prediction) at comparable probe points, resized
to the input so that networks of different depth compare pixel by pixel.

A fitness is a pure per-candidate function ``fn(weights, genome, data) ->
scalar`` plus the arrays ``data`` it reads (probe images, targets, teacher
maps, warm-up batches), so that :func:`~segxai_jax.nas.make_population_evaluator`
can ``vmap`` it over genomes, pass ``data`` once and shard the population.
Any explainer factory of :mod:`segxai_jax.explainers` and any similarity of
:mod:`segxai_jax.metrics` plugs in. Two scoring times:

* ``warmup=None``: at the shared random initialisation (training-free, as
  CAM-NAS);
* ``warmup=make_warmup(...)``: after ``K`` optimiser steps of the candidate's
  own copy of the weights on fixed batches; under ``vmap`` the whole
  population trains in the same compiled call.

:func:`make_zen_proxy` is a teacher-free, label-free baseline in the spirit of
Zen-NAS's expressivity score.

References:
  Zhang, Wang, Joe. CAM-NAS, Applied Sciences 13(17), 9686, 2023.
  Lin et al. Zen-NAS: a zero-shot NAS for high-performance image recognition.
  ICCV 2021.
  Vinogradova, Dibrov, Myers. Seg-Grad-CAM. AAAI 2020 (student abstract).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp
import optax

from segxai_jax import validation
from segxai_jax.metrics.similarity import inverse_euclidean
from segxai_jax.nas.space import SearchSpace
from segxai_jax.nas.supernet import (
    genome_masks,
    supernet_apply_fn,
    supernet_forward,
    supernet_probe,
)
from segxai_jax.targets import Target
from segxai_jax.training.losses import LOSSES, segmentation_loss


@dataclasses.dataclass(frozen=True)
class Fitness:
    """A per-candidate score and the arrays it reads.

    Attributes:
      fn: ``fn(weights, genome [G], data) -> []`` float, larger is better.
      data: pytree of arrays shared by every candidate.
      space: the search space the genomes come from, when known: the
        population evaluator then refuses genomes outside it (the supernet
        would otherwise score them as some clamped architecture).
    """

    fn: Callable[[Any, jax.Array, Any], jax.Array]
    data: Any
    space: SearchSpace | None = None


def student_explainer(
    space: SearchSpace, explainer_factory: Callable, point: str | None
) -> Callable:
    """``explain(key, (weights, genome), x, target) -> [H, W]`` for students.

    Args:
      space: the search space.
      explainer_factory: builds an explainer from a probe (``point`` given,
        e.g. :func:`~segxai_jax.explainers.seg_grad_cam`) or from an apply
        function (``point=None``, e.g. ``vanilla_gradient``); its maps must
        have the same shape for every student (explain at the input size,
        Seg-Grad-CAM's default).
      point: ``"bottleneck"``, ``"enc{l}"``, ``"dec{l}"`` or a supernet point
        (see :func:`~segxai_jax.nas.supernet_probe`), or ``None``.

    Returns:
      The explainer. With ``point="bottleneck"`` and several depths, one map
      per depth is computed and the genome's is kept (cost x number of
      depths), because the bottleneck's level depends on the genome.
    """
    if point is None:
        return explainer_factory(supernet_apply_fn(space))
    if point != "bottleneck" or len(space.depths) == 1:
        return explainer_factory(supernet_probe(space, point))
    per_depth = [
        explainer_factory(supernet_probe(space, f"down{d}")) for d in space.depths
    ]

    def explain(key, params, x, target):
        depth = jnp.asarray(space.depths)[params[1][0]]
        maps = [e(key, params, x, target) for e in per_depth]
        out = jnp.zeros_like(maps[0])
        for d, m in zip(space.depths, maps, strict=True):
            out = jnp.where(depth == d, m, out)
        return out

    return explain


def _mean_similarity(similarity, teacher_maps, student_maps):
    return jax.vmap(similarity)(teacher_maps, student_maps).mean()


def make_warmup(
    space: SearchSpace,
    *,
    learning_rate: float = 3e-3,
    loss: str = "cross_entropy+dice",
    unroll: bool | int = True,
) -> Callable:
    """``warmup(weights, genome, images [S, B, H, W, C], masks [S, B, H, W])``.

    ``S`` Adam steps of the student's copy of the weights, one per batch. Run
    under ``jax.lax.scan``; ``unroll=True`` (default) unrolls it, which on CPU
    avoids the slow layouts backward convolutions get inside loop bodies
    (see PERFORMANCE-NOTES), at a compile time growing with ``S``.
    Masked-out weights get zero gradients, so the student is trained exactly as
    its materialised U-Net would be (up to Adam's treatment of zeros).

    Returns:
      The warm-up function; it returns the trained supernet weights.
    """
    validation.check_instance(space, "space", SearchSpace)
    validation.check_real(
        learning_rate, "learning_rate", minimum=0.0, exclusive_minimum=True
    )
    validation.check_choice(loss, "loss", LOSSES)
    optimizer = optax.adam(learning_rate)

    def warmup(weights, genome, images, masks):
        chex.assert_rank([images, masks], [5, 4])
        student_masks = genome_masks(space, genome)

        def loss_fn(w, x, y):
            logits = supernet_forward(space, w, student_masks, x)
            return segmentation_loss(logits, y, loss)

        def step(carry, batch):
            w, opt_state = carry
            grads = jax.grad(loss_fn)(w, *batch)
            updates, opt_state = optimizer.update(grads, opt_state, w)
            return (optax.apply_updates(w, updates), opt_state), None

        (weights, _), _ = jax.lax.scan(
            step, (weights, optimizer.init(weights)), (images, masks), unroll=unroll
        )
        return weights

    return warmup


def make_explanation_fitness(
    space: SearchSpace,
    explain: Callable,
    *,
    images: jax.Array,
    targets: Target,
    teacher_maps: jax.Array,
    similarity: Callable = inverse_euclidean,
    warmup: Callable | None = None,
    warmup_images: jax.Array | None = None,
    warmup_masks: jax.Array | None = None,
    key: jax.Array | None = None,
) -> Fitness:
    """CAM-NAS fitness: mean similarity of student and teacher maps.

    Args:
      space: the search space.
      explain: from :func:`student_explainer`.
      images: probe batch ``[B, H, W, C]``.
      targets: ``Target`` with ``class_id [B]`` and ``mask [B, H, W]`` (the
        teacher's ROIs, frozen).
      teacher_maps: the teacher's maps ``[B, H, W]`` of the same images and
        targets (same explainer and point, see :func:`teacher_maps`).
      similarity: ``similarity(a [H, W], b [H, W]) -> []`` (default: the
        inverse Euclidean distance of min-max normalised maps, CAM-NAS's).
      warmup: from :func:`make_warmup`, or ``None`` (score at initialisation).
      warmup_images: ``[S, b, H, W, C]`` warm-up batches (with ``warmup``).
      warmup_masks: ``[S, b, H, W]`` their labels.
      key: for stochastic explainers (one key per probe image is folded in).

    Returns:
      A :class:`Fitness`.
    """
    _check_probe(images, targets, teacher_maps)
    if (warmup is None) != (warmup_images is None) or (warmup_images is None) != (
        warmup_masks is None
    ):
        raise ValueError(
            "warmup: give warmup, warmup_images and warmup_masks together or none"
        )
    key = jax.random.key(0) if key is None else key
    keys = jax.random.split(key, images.shape[0])
    data = {
        "images": images,
        "targets": targets,
        "teacher_maps": teacher_maps,
        "keys": jax.random.key_data(keys),
    }
    if warmup is not None:
        data["warmup_images"] = warmup_images
        data["warmup_masks"] = warmup_masks

    def fn(weights, genome, data):
        if warmup is not None:
            weights = warmup(
                weights, genome, data["warmup_images"], data["warmup_masks"]
            )
        keys = jax.random.wrap_key_data(data["keys"])
        maps = jax.vmap(explain, (0, None, 0, 0))(
            keys, (weights, genome), data["images"], data["targets"]
        )
        return _mean_similarity(similarity, data["teacher_maps"], maps)

    return Fitness(fn, data, space)


def _check_probe(images, targets, maps) -> None:
    """The probe batch, its targets and the teacher's maps agree in shape."""
    images_shape, maps_shape = jnp.shape(images), jnp.shape(maps)
    mask_shape = jnp.shape(targets.mask)
    if len(images_shape) != 4:
        raise ValueError(f"images: expected [B, H, W, C], got shape {images_shape}")
    expected = tuple(images_shape[:3])
    if tuple(maps_shape) != expected:
        raise ValueError(
            f"teacher_maps: expected [B, H, W] = {expected} (one map per probe "
            f"image, at the images' size), got shape {tuple(maps_shape)}; compute "
            "them with nas.teacher_maps on the same images and targets"
        )
    if tuple(mask_shape) != expected:
        raise ValueError(
            f"targets: expected masks [B, H, W] = {expected}, got shape "
            f"{tuple(mask_shape)}"
        )


def teacher_maps(explain: Callable, params, images: jax.Array, targets: Target):
    """``[B, H, W]`` maps of a teacher explainer ``explain(key, params, x, t)``."""
    keys = jax.random.split(jax.random.key(0), images.shape[0])
    return jax.jit(jax.vmap(explain, (0, None, 0, 0)))(keys, params, images, targets)


def make_zen_proxy(
    space: SearchSpace,
    key: jax.Array,
    *,
    image_shape: tuple[int, int, int],
    batch_size: int = 4,
    alpha: float = 0.01,
) -> Fitness:
    """A teacher-free, label-free proxy: log of the output's input sensitivity.

    ``log(E ||f(x + alpha e) - f(x)||_F / alpha)`` with ``x, e ~ N(0, 1)``
    images fixed by ``key``, evaluated at the shared initialisation, as the
    Zen-score (without its BatchNorm term: the students have no
    normalisation). Larger = more expressive.

    Args:
      space: the search space.
      key: draws the Gaussian images.
      image_shape: ``(H, W, C)``.
      batch_size: Gaussian images.
      alpha: perturbation size.
    """
    validation.check_instance(space, "space", SearchSpace)
    validation.check_key(key)
    image_shape = validation.check_int_sequence(
        image_shape, "image_shape", length=3, minimum=1
    )
    validation.check_int(batch_size, "batch_size", minimum=1)
    validation.check_real(alpha, "alpha", minimum=0.0, exclusive_minimum=True)
    key_x, key_e = jax.random.split(key)
    shape = (batch_size, *image_shape)
    data = {
        "x": jax.random.normal(key_x, shape),
        "e": jax.random.normal(key_e, shape),
    }

    def fn(weights, genome, data):
        masks = genome_masks(space, genome)
        clean = supernet_forward(space, weights, masks, data["x"])
        moved = supernet_forward(space, weights, masks, data["x"] + alpha * data["e"])
        norms = jnp.sqrt(jnp.sum(jnp.square(moved - clean), axis=(1, 2, 3)))
        return jnp.log(norms.mean() / alpha + 1e-12)

    return Fitness(fn, data, space)
