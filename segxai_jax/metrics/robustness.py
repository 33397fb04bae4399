"""Robustness: max- and avg-sensitivity of an explanation to input noise.

For ``N`` perturbations ``x_i = x + u_i``, ``u_i ~ U[-r, r]`` i.i.d. per pixel
and channel (a draw from the L-inf ball of radius ``r``, optionally clipped to
the valid pixel range), the sensitivity of sample ``i`` is

    ||e(x_i) - e(x)||_2 / ||e(x)||_2

(the L2 norm over all elements of the explanation, normalised by the original
explanation's norm as in Quantus; when that norm is 0 the unnormalised
difference is returned). Max-sensitivity is the maximum over the samples, the
Monte-Carlo estimate of Yeh et al.'s ``max_{||u|| <= r}``; avg-sensitivity the
mean. 0 means the explanation did not move.

The noise is ``jax.random.uniform(key_noise, (N, H, W, C), minval=-r,
maxval=r)`` with ``key_noise, key_explain = jax.random.split(key)``.
All explanations (original and perturbed) use the same explainer key, so a
stochastic explainer's own noise does not count as sensitivity; the original
is evaluated in the same sweep as the perturbations (``map_chunked`` over
``N + 1`` inputs), so ``r = 0`` gives 0 for a deterministic explainer. The
same key gives the same perturbations and the same result.

References:
  Yeh, Hsieh, Suggala, Inouye, Ravikumar. On the (in)fidelity and sensitivity
  of explanations. NeurIPS 2019.
  Hedstroem et al. Quantus: an explainable AI toolkit for responsible
  evaluation of neural network explanations and beyond. JMLR 24(34), 2023.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import random_draws, validation
from segxai_jax.explainers.smoothgrad import check_explainer
from segxai_jax.metrics._maps import safe_divide, safe_sqrt
from segxai_jax.sweeps import (
    check_chunk_size,
    check_strategy,
    map_chunked,
)
from segxai_jax.targets import Target
from segxai_jax.validation import check_image, check_target_against

# Perturbed explanations vectorised together by default, as for SmoothGrad
# (its sweep has the same shape); pass None on a GPU.
DEFAULT_CHUNK_SIZE = 4


def _check_hyperparameters(radius, num_samples, clip_range) -> None:
    validation.check_int(num_samples, "num_samples", minimum=1)
    validation.check_real(radius, "radius", minimum=0.0)
    if clip_range is not None:
        if isinstance(clip_range, str) or not isinstance(clip_range, tuple | list):
            raise TypeError(
                f"clip_range: expected None or (low, high), got {clip_range!r}"
            )
        for bound in clip_range:
            validation.check_real(bound, "clip_range")
        if len(clip_range) != 2 or not clip_range[0] <= clip_range[1]:
            raise ValueError(
                f"clip_range: expected None or (low, high) with low <= high, got "
                f"{clip_range!r}"
            )


def sensitivities(
    explain: Callable,
    key: jax.Array,
    params,
    x: jax.Array,
    target: Target,
    *,
    radius: float = 0.05,
    num_samples: int = 10,
    clip_range: tuple[float, float] | None = (0.0, 1.0),
    chunk_size: int | None = DEFAULT_CHUNK_SIZE,
    strategy: str = "unroll",
) -> jax.Array:
    """Relative change of the explanation for each of ``N`` perturbations.

    The sweep is compiled (an internal ``jax.jit`` with ``explain`` and the
    options static, ``radius`` traced; inlined under an outer ``jit``), so the
    explainer's own value checks that need the model's output (class id within
    ``[0, K)``) do not run: call :func:`segxai_jax.validate_explainer_inputs`
    with ``num_classes`` first if in doubt. ``x`` and ``target`` are checked
    here.

    Args:
      explain: ``explain(key, params, x[H, W, C], target) -> map`` (any shape).
      key: PRNG key, split into the noise key and the explainer key.
      params: the model's parameters.
      x: the image ``[H, W, C]``.
      target: the explained target (its mask stays fixed).
      radius: ``r``, half-width of the uniform noise (L-inf radius), in the
        image's units (Quantus's default, 0.2, is large for [0, 1] images).
      num_samples: ``N``.
      clip_range: ``(low, high)`` to clip perturbed images to (default the
        [0, 1] range of this project's images), or ``None``. A concrete ``x``
        outside the range raises ``ValueError``.
      chunk_size: inputs explained together by ``vmap``; ``None`` = all.
      strategy: ``"unroll"`` or ``"lax_map"`` (see ``map_chunked``).

    Returns:
      ``[N]`` sensitivities ``||e(x_i) - e(x)|| / ||e(x)||``.
    """
    check_explainer(explain, "explain")
    validation.check_key(key)
    _check_hyperparameters(radius, num_samples, clip_range)
    check_chunk_size(chunk_size)
    check_strategy(strategy)
    check_image(x, value_range=clip_range)
    check_target_against(target, x.shape[:2])
    # The explainer runs inside jit and vmap, where it cannot see the class id.
    validation.check_target_classes(explain, params, x, target)
    if clip_range is not None:
        clip_range = (float(clip_range[0]), float(clip_range[1]))
    options = (int(num_samples), clip_range, chunk_size, strategy)
    return _sensitivities(explain, key, params, x, target, float(radius), *options)


@functools.partial(jax.jit, static_argnums=(0, 6, 7, 8, 9))
def _sensitivities(
    explain, key, params, x, target, radius, num_samples, clip_range, chunk, strategy
):
    key_noise, key_explain = jax.random.split(key)
    noise = random_draws.uniform(
        key_noise, (num_samples, *x.shape), x.dtype, minval=-radius, maxval=radius
    )
    perturbed = x + noise  # [N, H, W, C]
    if clip_range is not None:
        perturbed = jnp.clip(perturbed, clip_range[0], clip_range[1])
    inputs = jnp.concatenate([x[None], perturbed])  # [N + 1, H, W, C]
    maps = map_chunked(
        lambda image: explain(key_explain, params, image, target),
        inputs,
        chunk_size=chunk,
        strategy=strategy,
    )  # [N + 1, *map_shape]
    maps = maps.reshape(maps.shape[0], -1)
    differences = safe_sqrt(jnp.sum(jnp.square(maps[1:] - maps[0]), axis=-1))
    norm = safe_sqrt(jnp.sum(jnp.square(maps[0])))
    return jnp.where(norm > 0, safe_divide(differences, norm, 0.0), differences)


def max_sensitivity(explain: Callable, key, params, x, target, **kwargs) -> jax.Array:
    """Max-sensitivity: the largest of :func:`sensitivities` (a scalar).

    Takes the arguments of :func:`sensitivities`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from segxai_jax.targets import make_target
      >>> explain = lambda key, params, x, target: params * x.sum(-1)  # linear
      >>> x, target = jnp.full((4, 4, 3), 0.5), make_target(0, jnp.ones((4, 4)))
      >>> float(max_sensitivity(explain, jax.random.key(0), 2.0, x, target, radius=0))
      0.0

    References:
      Yeh et al. On the (in)fidelity and sensitivity of explanations. NeurIPS
      2019.
    """
    return jnp.max(sensitivities(explain, key, params, x, target, **kwargs))


def avg_sensitivity(explain: Callable, key, params, x, target, **kwargs) -> jax.Array:
    """Avg-sensitivity: the mean of :func:`sensitivities` (a scalar).

    Takes the arguments of :func:`sensitivities`.

    References:
      Yeh et al. On the (in)fidelity and sensitivity of explanations. NeurIPS
      2019.
    """
    return jnp.mean(sensitivities(explain, key, params, x, target, **kwargs))
