"""Input-gradient explainers: vanilla gradient, gradient x input, integrated gradients.

All three explain the target score ``S_c(x; M)`` of
:func:`segxai_jax.targets.target_score` through its gradient with respect to the
input image. Each factory binds an apply function ``apply_fn(params, x[H, W, C])
-> logits[H, W, K]`` and keyword-only options, and returns a pure function

    explain(key, params, x, target) -> attribution

with ``x`` one image ``[H, W, C]`` and ``target`` one
:class:`~segxai_jax.targets.Target`. These explainers are deterministic and
ignore ``key`` (it may be ``None``). The attribution is raw ``[H, W, C]`` unless
``channel_reduction`` names one of
:data:`segxai_jax.postprocess.CHANNEL_REDUCTIONS` (then ``[H, W]``).

Checks: ranks and shapes always; NaN/inf input, empty ROI and a class id outside
``[0, K)`` only when called outside ``jit`` (values are concrete then). Under
``jit``/``vmap`` validate once beforehand, e.g. by one un-jitted call.

The explainers are differentiable with respect to ``x`` (second-order
gradients). With a piecewise-linear ReLU network the input gradient is
piecewise constant in ``x``, so its derivative is zero almost everywhere (with
GroupNorm it is not zero, but the ReLU kinks still make it jump); use a smooth
activation (``UNetConfig(activation="softplus")`` or ``unet_apply_fn(model,
softplus_beta=...)``) when differentiating an explanation. The same kinks make
ReLU input gradients sensitive to rounding: two mathematically equal
evaluations (e.g. ``map_chunked`` strategies, which use different convolution
kernels) can differ by ~1e-4 relative L2 where a unit sits at its kink.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.explainers.nan_inputs import input_gradient, input_validity
from segxai_jax.memory import budgeted, check_memory_budget
from segxai_jax.postprocess import check_channel_reduction, reduce_channels
from segxai_jax.sweeps import (
    AUTO,
    check_chunk_size,
    check_strategy,
    map_chunked,
    resolve_chunk_size,
)
from segxai_jax.targets import Target, check_score_options, target_score
from segxai_jax.types import ApplyFn, Explainer, Probe
from segxai_jax.validation import check_class_id, check_input

IG_RULES = (
    "gauss_legendre",
    "riemann_middle",
    "riemann_trapezoid",
    "riemann_left",
    "riemann_right",
)
NAMED_BASELINES = ("black", "white")


APPLY_FN_SIGNATURE = "apply_fn(params, x [H, W, C]) -> logits [H, W, K]"


def check_apply_fn(apply_fn, name: str = "apply_fn") -> None:
    """A function of ``(params, x)``; an explainer or a Probe is refused."""
    if isinstance(apply_fn, Probe):
        raise TypeError(
            f"{name}: expected {APPLY_FN_SIGNATURE}, got a Probe; input-gradient "
            "methods take the model's apply function (CAMs take probes)"
        )
    validation.check_callable(apply_fn, name, APPLY_FN_SIGNATURE, 2)


def _check_inputs(x, target: Target) -> None:
    check_input(x, target, allow_tree=True)


def _tree_map(fn, *trees):
    return jax.tree_util.tree_map(fn, *trees)


def target_score_fn(
    apply_fn: ApplyFn, *, score_reduction: str = "sum", score_space: str = "logits"
) -> Callable[[object, jax.Array, Target], jax.Array]:
    """``score(params, x, target) = S_c(x; M)``, with the class id checked against K.

    Args:
      apply_fn: ``apply_fn(params, x[H, W, C]) -> logits[H, W, K]``.
      score_reduction: ``"sum"`` (the paper's) or ``"mean"`` over the ROI.
      score_space: ``"logits"`` (the paper's) or ``"probabilities"``.

    Returns:
      A scalar-valued function, differentiable in ``params`` and ``x``.
    """
    check_apply_fn(apply_fn)
    check_score_options(score_reduction, score_space)

    def score(params, x, target):
        logits = apply_fn(params, x)  # [H, W, K]
        # K is only known here; the value check runs when the id is concrete.
        check_class_id(target, logits.shape[-1])
        value = target_score(
            logits, target, reduction=score_reduction, space=score_space
        )
        # NaN in the input: a NaN score and NaN derivatives, never zeros.
        return value * input_validity(x)

    return score


def vanilla_gradient(
    apply_fn: ApplyFn,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
    channel_reduction: str | None = None,
) -> Explainer:
    """Gradient of the target score with respect to the input, ``dS_c/dx``.

    Args:
      apply_fn: ``apply_fn(params, x[H, W, C]) -> logits[H, W, K]``.
      score_reduction: ``"sum"`` or ``"mean"`` of the class score over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      channel_reduction: ``None`` (raw ``[H, W, C]``, the default) or a method
        of :func:`segxai_jax.postprocess.reduce_channels` (``[H, W]``).

    Returns:
      ``explain(key, params, x[H, W, C], target) -> [H, W, C] or [H, W]``.

    References:
      Simonyan, Vedaldi, Zisserman. Deep inside convolutional networks:
      visualising image classification models and saliency maps. ICLR 2014
      workshop, arXiv:1312.6034.
    """
    check_channel_reduction(channel_reduction)
    score = target_score_fn(
        apply_fn, score_reduction=score_reduction, score_space=score_space
    )
    grad_score = input_gradient(score)

    def explain(key, params, x, target):
        del key  # deterministic
        _check_inputs(x, target)
        return reduce_channels(grad_score(params, x, target), channel_reduction)

    return validation.attach_class_count(
        explain, validation.logits_class_count(apply_fn)
    )


def gradient_x_input(
    apply_fn: ApplyFn,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
    channel_reduction: str | None = None,
) -> Explainer:
    """Element-wise product of the input and its gradient, ``x * dS_c/dx``.

    Equal to integrated gradients with a zero baseline when the model is linear
    (for ReLU networks without biases, "locally" so).

    Args:
      apply_fn: ``apply_fn(params, x[H, W, C]) -> logits[H, W, K]``.
      score_reduction: ``"sum"`` or ``"mean"`` of the class score over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      channel_reduction: ``None`` (raw ``[H, W, C]``) or a reduction method.

    Returns:
      ``explain(key, params, x[H, W, C], target) -> [H, W, C] or [H, W]``.

    References:
      Shrikumar, Greenside, Shcherbina, Kundaje. Not just a black box: learning
      important features through propagating activation differences.
      arXiv:1605.01713, 2016.
    """
    check_channel_reduction(channel_reduction)
    score = target_score_fn(
        apply_fn, score_reduction=score_reduction, score_space=score_space
    )
    grad_score = input_gradient(score)

    def explain(key, params, x, target):
        del key  # deterministic
        _check_inputs(x, target)
        attribution = _tree_map(jnp.multiply, x, grad_score(params, x, target))
        return reduce_channels(attribution, channel_reduction)

    return validation.attach_class_count(
        explain, validation.logits_class_count(apply_fn)
    )


def integration_points(num_steps: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alpha_k`` in ``[0, 1]`` and weights ``w_k`` (summing to 1) of a rule.

    ``integral_0^1 g(a) da ~= sum_k w_k g(alpha_k)``. Riemann left/right/middle
    use ``num_steps`` equal cells; the trapezoid rule uses ``num_steps`` equally
    spaced nodes including both ends (error O(1/n^2) for smooth ``g``);
    Gauss-Legendre uses ``num_steps`` Legendre nodes (exact for polynomials of
    degree ``2 n - 1``).
    """
    validation.check_choice(rule, "rule", IG_RULES)
    minimum = 2 if rule == "riemann_trapezoid" else 1
    n = validation.check_int(num_steps, "num_steps", minimum=minimum)
    if rule == "riemann_trapezoid":
        alphas = np.linspace(0.0, 1.0, n)
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
    elif rule == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        alphas, weights = (nodes + 1.0) / 2.0, weights / 2.0
    else:
        offset = {"riemann_left": 0.0, "riemann_middle": 0.5, "riemann_right": 1.0}
        alphas = (np.arange(n) + offset[rule]) / n
        weights = np.full(n, 1.0 / n)
    return alphas.astype(np.float32), weights.astype(np.float32)


def _resolve_leaf_baseline(baseline, x: jax.Array, name: str) -> jax.Array:
    if isinstance(baseline, str):
        if baseline not in NAMED_BASELINES:
            raise ValueError(
                f"{name}: expected one of {NAMED_BASELINES}, a number, an array "
                f"[H, W, C] or a callable, got {baseline!r}"
            )
        return jnp.full_like(x, 0.0 if baseline == "black" else 1.0)
    if isinstance(baseline, bool):
        raise TypeError(f"{name}: expected a name, a number, an array or a callable")
    value = jnp.asarray(baseline, x.dtype)
    if value.ndim == 0:
        return jnp.full_like(x, value)
    if value.shape != x.shape:
        raise ValueError(
            f"{name}: expected a scalar or shape {x.shape} (the input's), got "
            f"{value.shape}"
        )
    return value


def _resolve_baseline(baseline, x):
    """The baseline as a pytree like ``x`` (names and numbers apply per leaf)."""
    if callable(baseline) and not isinstance(baseline, str):
        baseline = baseline(x)
    if isinstance(baseline, str | bool | int | float) or hasattr(x, "shape"):
        return _tree_map(
            lambda leaf: _resolve_leaf_baseline(baseline, leaf, "baseline"), x
        )
    leaves, structure = jax.tree_util.tree_flatten(baseline)
    if structure != jax.tree_util.tree_structure(x):
        raise ValueError(
            f"baseline: expected a name, a number or a pytree structured like x "
            f"({jax.tree_util.tree_structure(x)}), got {structure}"
        )
    paths_and_leaves = jax.tree_util.tree_leaves_with_path(x)
    resolved = [
        _resolve_leaf_baseline(b, leaf, f"baseline{jax.tree_util.keystr(path)}")
        for b, (path, leaf) in zip(leaves, paths_and_leaves, strict=True)
    ]
    return jax.tree_util.tree_unflatten(structure, resolved)


# Gradient evaluations vectorised together by default. Unlike SmoothGrad's
# samples, all 16 steps at once were slower than chunks of 4 at batches of
# 4-8 images of 64x64 (1.04-1.11x, benchmarks/results/sweep_chunks.json), so
# the default stays 4; "auto" (segxai_jax.sweeps.auto_chunk_size) compiles a
# first call faster.
IG_DEFAULT_CHUNK_SIZE = 4


def integrated_gradients(
    apply_fn: ApplyFn,
    *,
    num_steps: int = 32,
    baseline="black",
    rule: str = "gauss_legendre",
    chunk_size: int | str | None = IG_DEFAULT_CHUNK_SIZE,
    strategy: str = "unroll",
    score_reduction: str = "sum",
    score_space: str = "logits",
    channel_reduction: str | None = None,
    memory_budget: int | None = None,
) -> Explainer:
    """Integrated gradients along the straight path from a baseline to ``x``.

    ``IG(x) = (x - x0) * integral_0^1 dS_c/dx(x0 + a (x - x0)) da``, the integral
    approximated by ``rule`` with ``num_steps`` gradient evaluations, which run
    through :func:`~segxai_jax.sweeps.map_chunked`. Completeness:
    ``sum(IG) = S_c(x) - S_c(x0)`` up to the quadrature error (the test of a
    sufficient ``num_steps``). Check it on your model: a freshly initialised
    network with GroupNorm and zero biases is nearly scale-invariant, so from a
    black baseline its score changes almost entirely within ``alpha < 1e-3``,
    and no affordable number of steps resolves that (pick another baseline).

    Args:
      apply_fn: ``apply_fn(params, x[H, W, C]) -> logits[H, W, K]``.
      num_steps: gradient evaluations (>= 2 for the trapezoid rule).
      baseline: ``"black"`` (zeros, default), ``"white"`` (ones), a number (a
        constant image), an array ``[H, W, C]``, or ``callable(x) -> baseline``
        (e.g. a blurred copy of ``x``).
      rule: one of :data:`IG_RULES` (see :func:`integration_points`).
        Gauss-Legendre is the default (as in Captum): it never evaluates the
        end points, where the gradient can be unrepresentative (at a black
        baseline a network with zero biases sits exactly on every ReLU kink),
        and on small U-Nets it reached a given completeness error with the
        fewest steps, with ``"riemann_middle"`` a close second; the trapezoid
        and one-sided rules were 10-1000x worse at equal steps.
      chunk_size: gradient evaluations vectorised together (memory bound);
        ``None`` = all at once (try it on a GPU/TPU); ``"auto"``: about 2**18
        input elements per chunk and at least 4 steps
        (:func:`segxai_jax.sweeps.auto_chunk_size`).
      strategy: ``"unroll"`` or ``"lax_map"`` (see ``map_chunked``).
      score_reduction: ``"sum"`` or ``"mean"`` of the class score over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      channel_reduction: ``None`` (raw ``[H, W, C]``) or a reduction method;
        ``"sum"`` keeps completeness.
      memory_budget: bytes; the chunk size is then the largest (up to
        ``chunk_size``; with ``"auto"``, the budget alone) whose compiled
        program fits (:mod:`segxai_jax.memory`).

    Returns:
      ``explain(key, params, x[H, W, C], target) -> [H, W, C] or [H, W]``
      (a pytree of maps for a pytree input).

    References:
      Sundararajan, Taly, Yan. Axiomatic attribution for deep networks. ICML
      2017, arXiv:1703.01365.
    """
    alphas, weights = integration_points(num_steps, rule)
    check_chunk_size(chunk_size, allow_auto=True)
    check_strategy(strategy)
    check_channel_reduction(channel_reduction)
    if isinstance(baseline, str | bool) and baseline not in NAMED_BASELINES:
        _resolve_leaf_baseline(baseline, None, "baseline")  # the descriptive error
    if not (isinstance(baseline, str) or callable(baseline)):
        for path, leaf in jax.tree_util.tree_leaves_with_path(baseline) or [((), None)]:
            leaf_array = np.asarray(leaf)
            leaf_name = f"baseline{jax.tree_util.keystr(path)}"
            if leaf is None or not np.issubdtype(leaf_array.dtype, np.number):
                raise TypeError(
                    f"{leaf_name}: expected a name, a number, an array [H, W, C] "
                    f"or a callable, got {type(baseline).__name__}"
                )
            if not np.all(np.isfinite(leaf_array)):
                raise ValueError(f"{leaf_name}: expected finite values")
    score = target_score_fn(
        apply_fn, score_reduction=score_reduction, score_space=score_space
    )
    grad_score = input_gradient(score)
    memory_budget = check_memory_budget(memory_budget)

    def with_chunks(chunk):
        return functools.partial(_integrate, chunk=chunk)

    def _integrate(key, params, x, target, *, chunk):
        del key  # deterministic
        x0 = _resolve_baseline(baseline, x)  # like x: [H, W, C] or a pytree
        direction = _tree_map(jnp.subtract, x, x0)

        def gradient_at(alpha):
            point = _tree_map(lambda b, d: b + alpha * d, x0, direction)
            return grad_score(params, point, target)

        grads = map_chunked(
            gradient_at,
            jnp.asarray(alphas),
            chunk_size=resolve_chunk_size(chunk, len(alphas), x),
            strategy=strategy,
        )  # [num_steps, *x.shape] per leaf
        mean_gradient = _tree_map(
            lambda g: jnp.tensordot(jnp.asarray(weights), g, axes=1), grads
        )
        attribution = _tree_map(jnp.multiply, direction, mean_gradient)
        return reduce_channels(attribution, channel_reduction)

    run = budgeted(
        with_chunks,
        chunk_size=chunk_size if memory_budget is None or chunk_size != AUTO else None,
        memory_budget=memory_budget,
        total_of=lambda *args: len(alphas),
        what="integration steps",
    )

    def explain(key, params, x, target):
        _check_inputs(x, target)
        return run(key, params, x, target)

    return validation.attach_class_count(
        explain, validation.logits_class_count(apply_fn)
    )
