"""Hyper-parameters of the attack on explanations and checks of its inputs.

:class:`AttackConfig` validates every hyper-parameter when it is built (errors
name the field); :func:`softplus_beta_schedule` is the geometric temperature
schedule; :func:`check_swappable` refuses a model whose activation cannot be
swapped when the schedule is requested. See
:mod:`segxai_jax.attacks.explanation_attack` for the attack itself.

References:
  Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be
  manipulated and geometry is to blame. NeurIPS 2019, arXiv:1906.07983.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.validation import is_concrete

ApplyAt = Callable[[Any], Callable[..., jax.Array]]

VALUE_RANGE = (0.0, 1.0)


def _check_number(value, name: str, *, positive: bool) -> float:
    return validation.check_real(value, name, minimum=0.0, exclusive_minimum=positive)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AttackConfig:
    """Hyper-parameters of :func:`explanation_attack`.

    The defaults are Dombrowski et al.'s reference settings (prefactors ``1e11``
    and ``1e6``, Adam with learning rate ``2e-4``, 1500 steps, beta 10 -> 100).

    Attributes:
      num_steps: optimiser steps (also the length of the beta schedule).
      learning_rate: of the default Adam optimiser.
      gamma_explanation: weight of ``||h(x') - h_t||^2`` (finite, >= 0).
      gamma_output: weight of ``||f(x') - f(x)||^2`` (finite, >= 0).
      gamma_input: weight of ``||x' - x||^2`` (finite, >= 0).
      softplus_schedule: ``(beta_start, beta_end)`` of the geometric schedule
        (``0 < beta_start <= beta_end``), or ``None`` to attack the model with
        its own activation (with ReLU: no useful second-order gradient).
      linf_budget: radius ``eps > 0`` of the L-inf ball around ``x`` that ``x'``
        is projected onto after every step, or ``None`` (no budget).
      random_start: start from ``x`` plus uniform noise in the ball (needs
        ``linf_budget``) instead of from ``x``.
    """

    num_steps: int = 1500
    learning_rate: float = 2e-4
    gamma_explanation: float = 1e11
    gamma_output: float = 1e6
    gamma_input: float = 0.0
    softplus_schedule: tuple[float, float] | None = (10.0, 100.0)
    linf_budget: float | None = None
    random_start: bool = False

    def __post_init__(self):
        validation.check_int(self.num_steps, "num_steps", minimum=1)
        _check_number(self.learning_rate, "learning_rate", positive=True)
        gammas = ("gamma_explanation", "gamma_output", "gamma_input")
        for name in gammas:
            _check_number(getattr(self, name), name, positive=False)
        if all(getattr(self, name) == 0 for name in gammas):
            raise ValueError(
                f"{', '.join(gammas)}: expected at least one > 0; with every "
                "weight zero the loss is constant and the attack does nothing"
            )
        validation.check_bool(self.random_start, "random_start")
        if self.softplus_schedule is not None:
            if isinstance(self.softplus_schedule, str | bytes) or not isinstance(
                self.softplus_schedule, tuple | list
            ):
                raise TypeError(
                    "softplus_schedule: expected (beta_start, beta_end) or None, got "
                    f"{self.softplus_schedule!r}"
                )
            schedule = tuple(self.softplus_schedule)
            if len(schedule) != 2:
                raise ValueError(
                    "softplus_schedule: expected (beta_start, beta_end) or None, got "
                    f"{self.softplus_schedule!r}"
                )
            start = _check_number(schedule[0], "softplus_schedule[0]", positive=True)
            end = _check_number(schedule[1], "softplus_schedule[1]", positive=True)
            if end < start:
                raise ValueError(
                    "softplus_schedule: expected beta_start <= beta_end, got "
                    f"{schedule}"
                )
            object.__setattr__(self, "softplus_schedule", (start, end))
        if self.linf_budget is not None:
            budget = _check_number(self.linf_budget, "linf_budget", positive=True)
            object.__setattr__(self, "linf_budget", budget)
        if self.random_start and self.linf_budget is None:
            raise ValueError(
                "random_start: expected linf_budget to be set (the start is drawn "
                "uniformly from the L-inf ball)"
            )


def softplus_beta_schedule(
    step, *, num_steps: int, beta_start: float, beta_end: float
) -> jax.Array:
    """Geometric schedule ``beta_start * (beta_end / beta_start) ** (t / (T - 1))``.

    Args:
      step: the step ``t`` (a possibly traced int); clipped to ``[0, T - 1]``.
      num_steps: ``T``.
      beta_start: beta at step 0.
      beta_end: beta at step ``T - 1``.

    Returns:
      A float32 scalar.

    Examples:
      >>> [round(float(softplus_beta_schedule(t, num_steps=3, beta_start=10.0,
      ...     beta_end=100.0)), 3) for t in range(3)]
      [10.0, 31.623, 100.0]
    """
    num_steps = validation.check_int(num_steps, "num_steps", minimum=1)
    validation.check_real(beta_start, "beta_start", minimum=0.0, exclusive_minimum=True)
    validation.check_real(beta_end, "beta_end", minimum=0.0, exclusive_minimum=True)
    fraction = jnp.clip(jnp.asarray(step, jnp.float32) / max(num_steps - 1, 1), 0, 1)
    return jnp.float32(beta_start) * jnp.float32(beta_end / beta_start) ** fraction


def _check_images(x) -> None:
    if getattr(x, "ndim", None) != 4:
        raise ValueError(
            f"x: expected images [B, H, W, C], got shape {getattr(x, 'shape', x)}"
        )
    if is_concrete(x):
        values = np.asarray(x)
        if not np.all(np.isfinite(values)):
            raise ValueError("x: expected finite values, found NaN or inf")
        low, high = VALUE_RANGE
        if values.min() < low or values.max() > high:
            raise ValueError(
                f"x: expected values in [{low}, {high}] (the attack clamps to this "
                f"range), got min {values.min():.4g} max {values.max():.4g}"
            )


def _check_targets(targets, images_shape) -> None:
    batch, height, width = images_shape[:3]
    class_id = getattr(targets, "class_id", None)
    mask = getattr(targets, "mask", None)
    shapes = (getattr(class_id, "shape", None), getattr(mask, "shape", None))
    if shapes != ((batch,), (batch, height, width)):
        raise ValueError(
            f"targets: expected a Target with class_id [{batch}] and mask "
            f"[{batch}, {height}, {width}] (one per image), got "
            f"{getattr(class_id, 'shape', class_id)} and "
            f"{getattr(mask, 'shape', mask)}"
        )


def check_swappable(apply_at: ApplyAt, params, x: jax.Array, betas) -> None:
    """Raises ``ValueError`` unless ``apply_at(beta)`` changes the model's output.

    Args:
      apply_at: ``apply_at(softplus_beta) -> apply_fn``.
      params: model weights.
      x: one image ``[H, W, C]``.
      betas: temperatures to try; the check passes if any of them gives logits
        different from ``apply_at(None)``.
    """
    try:
        reference = np.asarray(apply_at(None)(params, x))
        outputs = [np.asarray(apply_at(float(b))(params, x)) for b in betas]
    except TypeError as error:
        raise ValueError(
            "apply_at: expected apply_at(softplus_beta) -> apply_fn(params, x), a "
            "model whose activation can be swapped for softplus_beta; calling it "
            f"failed: {error}"
        ) from error
    if all(np.array_equal(reference, out) for out in outputs):
        raise ValueError(
            "apply_at: the softplus-beta schedule needs a model whose activation "
            f"can be swapped, but apply_at(beta) for beta in {tuple(betas)} gave "
            "exactly the logits of apply_at(None); pass a model with a swappable "
            "activation (e.g. unet_apply_at(model)) or softplus_schedule=None"
        )
