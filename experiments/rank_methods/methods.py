"""The methods a ranking compares: the shared ones, two SmoothGrad variants, random."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from experiments.shared.methods import Method, build_methods
from segxai_jax import explainers
from segxai_jax.metrics import PassCount, pass_counts, random_saliency
from segxai_jax.models import UNet, unet_apply_fn
from segxai_jax.postprocess import reduce_channels

RANDOM = "random"


def _with_postprocess(method: Method, kind: str) -> Method:
    if kind == "none":
        return method
    step = jax.nn.relu if kind == "relu" else jnp.abs

    def explain(key, params, x, target):
        return step(method.explain(key, params, x, target))

    return dataclasses.replace(
        method, explain=explain, description=f"{method.description}; then {kind}"
    )


def select_methods(
    model: UNet, image_size: int, *, methods, map_postprocess: str, explain
) -> dict[str, Method]:
    """The methods named in ``methods`` (plus the random baseline).

    Args:
      model: the explained U-Net.
      image_size: its input side.
      methods: the method names.
      map_postprocess: "none", "relu" or "abs", applied to every map.
      explain: the method settings (:class:`experiments.shared.methods.MethodSettings`).

    Raises:
      ValueError: naming ``config.methods`` for an unknown method name.
    """
    names, postprocess, options = methods, map_postprocess, explain
    available = build_methods(model, image_size=image_size, options=options)
    gradient = explainers.vanilla_gradient(unet_apply_fn(model))
    n, noise = options.smoothgrad_samples, options.noise_level
    passes = pass_counts(
        "smoothgrad", num_samples=n, base=pass_counts("vanilla_gradient")
    )
    for name, variant, what in (
        ("SmoothGrad-Squared", "squared", "mean of squared gradients"),
        ("VarGrad", "variance", "variance of gradients"),
    ):
        smooth = explainers.smoothgrad(
            gradient, num_samples=n, noise_level=noise, variant=variant
        )
        available[name] = Method(
            name,
            _reduced(smooth, "abs_max"),
            passes,
            f"{what}, {n} samples, noise {noise:g}, max over RGB",
        )
    available[RANDOM] = Method(
        RANDOM,
        _random_explain,
        PassCount(0, 0, formula="no network evaluation"),
        "uniform [0, 1) per pixel from the seed's key (baseline)",
    )
    names = list(dict.fromkeys(names))
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(
            f"config.methods: unknown method names {unknown}; available: "
            f"{list(available)}"
        )
    if RANDOM not in names:
        names.append(RANDOM)
    return {name: _with_postprocess(available[name], postprocess) for name in names}


def _reduced(explain, reduction: str):
    def reduced(key, params, x, target):
        return reduce_channels(explain(key, params, x, target), reduction)

    return reduced


def _random_explain(key, params, x, target):
    del params, target
    return random_saliency(key, x.shape[:2])
