"""The training-free NAS proxies of the experiments, built against one teacher.

Names: ``"<explainer>_init"`` / ``"<explainer>_warmup"`` (similarity of the
student's explanations to the teacher's, CAM-NAS's fitness, at the shared
initialisation or after the warm-up steps) for the explainers of
:data:`EXPLAINERS`; ``"relation_init"`` (DisWOT-like sample relations);
``"zen"`` (Zen-like input sensitivity); ``"params"`` and ``"flops"`` (the
student's size, read from its genome).
"""

from __future__ import annotations

import functools

import jax

from segxai_jax import explainers, make_probe
from segxai_jax.models import unet_apply_fn
from segxai_jax.nas import (
    make_explanation_fitness,
    make_relation_proxy,
    make_warmup,
    make_zen_proxy,
    student_explainer,
    teacher_maps,
)

# name -> (factory, whether it reads a probe point); the gradient's channels
# are reduced by their largest absolute value.
EXPLAINERS = {
    "seg_grad_cam": (explainers.seg_grad_cam, True),
    "xgrad_cam": (explainers.xgrad_cam, True),
    "seg_ablation_cam": (explainers.seg_ablation_cam, True),
    "gradient": (
        functools.partial(explainers.vanilla_gradient, channel_reduction="abs_max"),
        False,
    ),
}
TIMES = ("init", "warmup")
LEARNED = (
    *(f"{name}_{time}" for name in EXPLAINERS for time in TIMES),
    "relation_init",
    "zen",
)
SIZES = ("params", "flops")
PROXIES = (*LEARNED, *SIZES)


def _teacher_explainer(name, teacher_model, point, image_shape):
    factory, uses_probe = EXPLAINERS[name]
    if not uses_probe:
        return factory(unet_apply_fn(teacher_model))
    return factory(make_probe(teacher_model, point, input_shape=image_shape))


def explanation_fitness(
    name, *, space, teacher_model, teacher_params, point, images, targets, warmup=None
):
    """CAM-NAS's fitness with explainer ``name`` (a key of :data:`EXPLAINERS`).

    Args:
      name: the explainer.
      space: the students' search space.
      teacher_model, teacher_params: the teacher U-Net.
      point: probe point of the CAM explainers (teacher and students).
      images: probe batch ``[B, H, W, C]``.
      targets: the teacher's ROIs of those images.
      warmup: ``None`` (score at initialisation) or ``(warmup_fn, images
        [S, b, H, W, C], masks [S, b, H, W])``.
    """
    factory, uses_probe = EXPLAINERS[name]
    maps = teacher_maps(
        _teacher_explainer(name, teacher_model, point, tuple(images.shape[1:])),
        teacher_params,
        images,
        targets,
    )
    warm = {}
    if warmup is not None:
        warm = dict(
            zip(("warmup", "warmup_images", "warmup_masks"), warmup, strict=True)
        )
    return make_explanation_fitness(
        space,
        student_explainer(space, factory, point if uses_probe else None),
        images=images,
        targets=targets,
        teacher_maps=maps,
        **warm,
    )


def relation_fitness(*, space, teacher_model, teacher_params, point, images):
    """The DisWOT-like proxy: teacher vs student sample relations at ``point``."""
    probe = make_probe(teacher_model, point, input_shape=tuple(images.shape[1:]))
    features = jax.jit(jax.vmap(lambda x: probe.forward(teacher_params, x, None)[1]))(
        images
    )
    return make_relation_proxy(
        space, images=images, teacher_features=features, point=point
    )


def proxy_fitness(
    proxy,
    *,
    space,
    teacher_model,
    teacher_params,
    point,
    images,
    targets,
    seed,
    warmup_batches=None,
    warmup_learning_rate=3e-3,
):
    """The search fitness of a learned proxy of :data:`LEARNED`.

    Args:
      proxy: the proxy's name.
      seed: draws the Zen-like proxy's Gaussian images.
      warmup_batches: ``(images [S, b, H, W, C], masks [S, b, H, W])`` for the
        ``*_warmup`` proxies.
      warmup_learning_rate: their Adam step size.
      (the others as :func:`explanation_fitness`)

    Raises:
      ValueError: ``proxy`` is not a learned proxy (the message lists them).
    """
    if proxy not in LEARNED:
        raise ValueError(f"proxy: expected one of {LEARNED}, got {proxy!r}")
    if proxy == "zen":
        return make_zen_proxy(
            space, jax.random.key(seed + 1000), image_shape=tuple(images.shape[1:])
        )
    common = dict(
        space=space,
        teacher_model=teacher_model,
        teacher_params=teacher_params,
        point=point,
        images=images,
    )
    if proxy == "relation_init":
        return relation_fitness(**common)
    name, _, time = proxy.rpartition("_")
    warmup = None
    if time == "warmup":
        warmup = (
            make_warmup(space, learning_rate=warmup_learning_rate),
            *warmup_batches,
        )
    return explanation_fitness(name, targets=targets, warmup=warmup, **common)
