"""Teacher-student activation similarity: a DisWOT-style training-free proxy.

DisWOT scores a student architecture, before training, by how similar its
features are to the teacher's; one of its two terms compares the
*relations between samples*: each network's batch of features gives a
``[B, B]`` matrix of inner products between images, row-normalised (as in
similarity-preserving distillation), and the proxy is minus the mean squared
difference of the teacher's and the student's matrices. The matrices do not
depend on channel counts or resolutions, so any student compares with any
teacher. Like :func:`~segxai_jax.nas.make_explanation_fitness` it is a
per-candidate :class:`~segxai_jax.nas.Fitness` that the population evaluator
vmaps over genomes.

References:
  Dong, Li, Wei. DisWOT: student architecture search for distillation
  without training. CVPR 2023.
  Tung, Mori. Similarity-preserving knowledge distillation. ICCV 2019.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.nas.fitness import Fitness
from segxai_jax.nas.space import SearchSpace
from segxai_jax.nas.supernet import supernet_probe


def relation_matrix(features: jax.Array) -> jax.Array:
    """``[B, B]`` row-normalised inner products of a batch ``[B, ...]``.

    ``G = F F^T`` with ``F`` the flattened features; each row of ``G`` is
    divided by its L2 norm (a zero row stays zero).
    """
    chex.assert_rank(features, {2, 3, 4, 5})
    flat = features.reshape(features.shape[0], -1)
    gram = flat @ flat.T
    norms = jnp.sqrt(jnp.sum(jnp.square(gram), axis=1, keepdims=True))
    return gram / jnp.where(norms > 0, norms, 1.0)


def _student_features(space: SearchSpace, point: str):
    """``features(weights, genome, images [B, H, W, C]) -> [B, B]`` relations."""
    if point == "bottleneck" and len(space.depths) > 1:
        probes = {d: supernet_probe(space, f"down{d}") for d in space.depths}
    else:
        probes = {None: supernet_probe(space, point)}

    def relations(weights, genome, images):
        per_probe = {}
        for depth, probe in probes.items():
            acts = jax.vmap(
                lambda x, p=probe: p.forward((weights, genome), x, None)[1]
            )(images)
            per_probe[depth] = relation_matrix(acts)
        if None in per_probe:
            return per_probe[None]
        depth = jnp.asarray(space.depths)[genome[0]]
        out = jnp.zeros_like(next(iter(per_probe.values())))
        for d, matrix in per_probe.items():
            out = jnp.where(depth == d, matrix, out)
        return out

    return relations


def make_relation_proxy(
    space: SearchSpace,
    *,
    images: jax.Array,
    teacher_features: jax.Array,
    point: str = "bottleneck",
) -> Fitness:
    """Minus the mean squared difference of teacher and student sample relations.

    Args:
      space: the search space.
      images: probe batch ``[B, H, W, C]`` (``B >= 2``).
      teacher_features: the teacher's activations of the same images at its
        probe point, ``[B, ...]`` (any channel count and resolution).
      point: the students' point (``"bottleneck"``, ``"enc{l}"``,
        ``"dec{l}"`` or a supernet point, see
        :func:`~segxai_jax.nas.supernet_probe`).

    Returns:
      A :class:`~segxai_jax.nas.Fitness`, larger = more teacher-like; at most 0.

    Raises:
      ValueError: fewer than two images, or a batch size that differs between
        ``images`` and ``teacher_features``.
    """
    validation.check_instance(space, "space", SearchSpace)
    chex.assert_rank(images, 4)
    if images.shape[0] < 2:
        raise ValueError(
            f"images: expected at least 2 images (relations between samples), got "
            f"{images.shape[0]}"
        )
    if teacher_features.shape[0] != images.shape[0]:
        raise ValueError(
            f"teacher_features: expected {images.shape[0]} rows (one per image), "
            f"got shape {teacher_features.shape}"
        )
    relations = _student_features(space, point)
    data = {"images": images, "teacher": relation_matrix(teacher_features)}

    def fn(weights, genome, data):
        student = relations(weights, genome, data["images"])
        return -jnp.mean(jnp.square(student - data["teacher"]))

    return Fitness(fn, data, space)
