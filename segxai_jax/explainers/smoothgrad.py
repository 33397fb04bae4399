"""SmoothGrad: average an explanation over noisy copies of the input.

``smoothgrad(explainer)`` wraps ANY explainer ``explain(key, params, x, target)``
(input gradients, CAMs, occlusion, a user's function): it evaluates it at
``x + eps_i``, ``eps_i ~ N(0, sigma^2)`` i.i.d. per pixel and channel, with
``sigma = noise_level * (max x - min x)``, and aggregates the ``n`` maps:

* ``"mean"``: SmoothGrad, ``mean_i h(x + eps_i)``;
* ``"squared"``: SmoothGrad-Squared, ``mean_i h(x + eps_i)^2``;
* ``"variance"``: VarGrad, the population variance ``mean_i (h_i - mean h)^2``.

Keys are split by purpose: one key draws all the noise, and each sample's inner
explainer gets its own key (stochastic inner explainers never share one). The
same key gives the same noise, so for a fixed key the wrapped explainer is a
deterministic, differentiable function of ``x`` (also through ``sigma``, which
depends on ``x`` via its max and min) — what an attack on SmoothGrad needs.
:func:`sample_noise` returns exactly the noise and keys used, for reproduction.

Aggregates are computed relative to the first sample (``h_0 + mean_i (h_i -
h_0)``): numerically gentler than a plain mean and exact when all samples are
equal, so ``noise_level=0`` reproduces a deterministic base explainer bit for
bit (``"squared"``: its square; ``"variance"``: zeros) whenever the batched
samples are computed like the single call. Under ``jit``, XLA may fuse the
batched reductions of normalisation layers (GroupNorm) in another order, which
changes the last bits (~1e-6 relative).

References:
  Smilkov, Thorat, Kim, Viegas, Wattenberg. SmoothGrad: removing noise by adding
  noise. arXiv:1706.03825, 2017.
  Adebayo, Gilmer, Goodfellow, Kim. Local explanation methods for deep neural
  networks lack sensitivity to parameter values. ICLR 2018 workshop (VarGrad).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from segxai_jax import random_draws, validation
from segxai_jax.memory import check_memory_budget, chunk_for_budget, new_cache_key
from segxai_jax.sweeps import (
    AUTO,
    check_chunk_size,
    check_strategy,
    map_chunked,
    resolve_chunk_size,
)
from segxai_jax.types import Explainer, Probe
from segxai_jax.validation import check_input

VARIANTS = ("mean", "squared", "variance")

# Samples vectorised together by default: "auto" (segxai_jax.sweeps) puts
# about 2**18 input elements in a chunk, at least 4 samples: all 16 samples
# of a 64x64 image in one chunk (compiles in about half the time of chunks of
# 4 and runs as fast), chunks of 4 for 256x256 images. "lax_map" was 4-7x
# slower on CPU at every chunk size (benchmarks/sweep_strategies.py). On a
# GPU/TPU pass a larger chunk_size or None.
DEFAULT_CHUNK_SIZE = AUTO


EXPLAINER_SIGNATURE = "explain(key, params, x, target) -> map"


def check_explainer(explainer, name: str = "explainer") -> None:
    """A function of ``(key, params, x, target)``; refuses apply functions/probes."""
    if isinstance(explainer, Probe):
        raise TypeError(
            f"{name}: expected {EXPLAINER_SIGNATURE}, got a Probe; build an "
            "explainer from it first, e.g. seg_grad_cam(probe)"
        )
    validation.check_callable(explainer, name, EXPLAINER_SIGNATURE, 4)


def _check_hyperparameters(num_samples, noise_level) -> None:
    validation.check_int(num_samples, "num_samples", minimum=1)
    validation.check_real(noise_level, "noise_level", minimum=0.0)


def sample_noise(
    key: jax.Array, x: jax.Array, *, num_samples: int, noise_level: float
) -> tuple[jax.Array, jax.Array]:
    """The noise and per-sample keys that :func:`smoothgrad` uses for ``key``.

    Args:
      key: the key passed to the SmoothGrad explainer.
      x: the image ``[H, W, C]`` (any spatial rank), or a pytree of input
        arrays: each leaf gets its own noise, scaled by its own range.
      num_samples: n.
      noise_level: sigma relative to ``max x - min x``.

    Returns:
      ``(noise [n, H, W, C], sample_keys [n])``: sample i explains
      ``x + noise[i]`` with key ``sample_keys[i]`` (noise is a pytree like
      ``x`` for pytree inputs).
    """
    _check_hyperparameters(num_samples, noise_level)
    validation.check_key(key)
    key_noise, key_samples = jax.random.split(key)
    leaves, structure = jax.tree_util.tree_flatten(x)
    # One key per leaf; a single array keeps the key it always had.
    leaf_keys = (
        [key_noise] if len(leaves) == 1 else jax.random.split(key_noise, len(leaves))
    )
    noise = [
        noise_level
        * (jnp.max(leaf) - jnp.min(leaf))
        * random_draws.normal(k, (num_samples, *leaf.shape), leaf.dtype)
        for k, leaf in zip(leaf_keys, leaves, strict=True)
    ]
    noise = jax.tree_util.tree_unflatten(structure, noise)
    return noise, jax.random.split(key_samples, num_samples)


def _aggregate(samples: jax.Array, variant: str) -> jax.Array:
    if variant == "squared":
        samples = jnp.square(samples)
    reference = samples[0]
    mean = reference + jnp.mean(samples - reference, axis=0)
    if variant == "variance":
        return jnp.mean(jnp.square(samples - mean), axis=0)
    return mean


def smoothgrad(
    explainer: Explainer,
    *,
    num_samples: int = 50,
    noise_level: float = 0.15,
    variant: str = "mean",
    chunk_size: int | str | None = DEFAULT_CHUNK_SIZE,
    strategy: str = "unroll",
    memory_budget: int | None = None,
) -> Explainer:
    """Wraps ``explainer`` into its SmoothGrad (or -Squared, VarGrad) version.

    Args:
      explainer: ``explain(key, params, x[H, W, C], target) -> map`` (any shape).
      num_samples: noisy copies n (the paper: about 50).
      noise_level: ``sigma / (max x - min x)`` (the paper: 10-20 %); 0 gives
        the base explainer.
      variant: ``"mean"``, ``"squared"`` or ``"variance"``.
      chunk_size: samples vectorised together (bounds memory); ``None`` = all;
        ``"auto"`` (default): about 2**18 input elements per chunk and at
        least 4 samples (:func:`segxai_jax.sweeps.auto_chunk_size`).
      strategy: ``"unroll"`` or ``"lax_map"`` (see ``map_chunked``); on CPU
        ``"unroll"`` is several times faster around gradients.
      memory_budget: bytes; the chunk size is then the largest (up to
        ``chunk_size``, or ``num_samples`` if that is ``None``) whose compiled
        program fits, from XLA's memory analysis (:mod:`segxai_jax.memory`);
        with ``chunk_size="auto"`` the bound is the budget alone.

    Returns:
      ``explain(key, params, x, target) -> map`` of the base explainer's shape.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from segxai_jax.targets import make_target
      >>> from segxai_jax.explainers.gradients import vanilla_gradient
      >>> apply_fn = lambda w, x: x @ w  # a per-pixel linear model
      >>> explain = smoothgrad(vanilla_gradient(apply_fn), num_samples=4)
      >>> w, x = jnp.ones((3, 2)), jnp.zeros((8, 8, 3)).at[0, 0].set(1.0)
      >>> explain(jax.random.key(0), w, x, make_target(1, jnp.ones((8, 8)))).shape
      (8, 8, 3)
    """
    check_explainer(explainer)
    _check_hyperparameters(num_samples, noise_level)
    validation.check_choice(variant, "variant", VARIANTS)
    check_chunk_size(chunk_size, allow_auto=True)
    check_strategy(strategy)
    memory_budget = check_memory_budget(memory_budget)
    num_samples, noise_level = int(num_samples), float(noise_level)
    cache_key = new_cache_key()

    def with_chunks(chunk):
        def explain_chunked(key, params, x, target):
            noise, sample_keys = sample_noise(
                key, x, num_samples=num_samples, noise_level=noise_level
            )

            def explain_sample(item):
                eps, key_sample = item
                noisy = jax.tree_util.tree_map(jnp.add, x, eps)
                return explainer(key_sample, params, noisy, target)

            samples = map_chunked(
                explain_sample,
                (noise, sample_keys),
                chunk_size=chunk,
                strategy=strategy,
            )  # [n, *map_shape]
            return jax.tree_util.tree_map(lambda m: _aggregate(m, variant), samples)

        return explain_chunked

    def explain(key, params, x, target):
        validation.check_key(key)
        check_input(x, target, allow_tree=True)
        # The base explainer runs under vmap and cannot see the class id.
        validation.check_target_classes(explainer, params, x, target)
        chunk = resolve_chunk_size(chunk_size, num_samples, x)
        if memory_budget is not None:
            chunk = chunk_for_budget(
                with_chunks,
                (key, params, x, target),
                total=num_samples,
                memory_budget=memory_budget,
                largest=None if chunk_size == AUTO else chunk_size,
                what="noise samples",
                cache_key=cache_key,
            )
        return with_chunks(chunk)(key, params, x, target)

    if hasattr(explainer, "class_count"):
        validation.attach_class_count(explain, explainer.class_count)
    return explain
