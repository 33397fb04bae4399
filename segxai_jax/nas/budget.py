"""Parameter and FLOP budgets of a search, with exact integer comparisons.

A :class:`Budget` bounds students by parameters and/or forward FLOPs per image
(2 x convolution multiply-accumulates, the convention of
:func:`segxai_jax.models.count_flops`). :func:`budget_limits` turns it into
integer limits in the units of :func:`~segxai_jax.nas.genome_cost`, checking
that some genome of the space satisfies it, and :func:`within_budget` is the
jittable test that the strategy uses to reject children (Zen-NAS rejects
mutations over the budget the same way).

References:
  Lin et al. Zen-NAS: a zero-shot NAS for high-performance image recognition.
  ICCV 2021.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.models import UNetConfig, count_flops, count_params
from segxai_jax.nas.space import SearchSpace, genome_cost

_INT32_MAX = int(np.iinfo(np.int32).max)


@dataclasses.dataclass(frozen=True)
class Budget:
    """Upper bounds on a student's size (``None`` = unbounded).

    Attributes:
      max_params: trainable parameters.
      max_flops: forward FLOPs for one ``image_size`` image.
      image_size: ``H`` (square) or ``(H, W)`` the FLOPs refer to.
    """

    max_params: int | None = None
    max_flops: float | None = None
    image_size: int | tuple[int, int] = 64

    def __post_init__(self):
        validation.check_optional_int(self.max_params, "max_params", minimum=1)
        validation.check_optional_real(
            self.max_flops, "max_flops", minimum=0.0, exclusive_minimum=True
        )
        size = self.image_size
        if isinstance(size, int | np.integer) and not isinstance(size, bool):
            validation.check_int(size, "image_size", minimum=1)
        else:
            validation.check_int_sequence(size, "image_size", length=2, minimum=1)

    @classmethod
    def fraction_of(
        cls,
        config: UNetConfig,
        *,
        params: float | None = None,
        flops: float | None = None,
        image_size: int | tuple[int, int] = 64,
    ) -> Budget:
        """A budget of ``params`` / ``flops`` times a reference model's counts.

        Examples:
          >>> from segxai_jax.models import UNetConfig
          >>> Budget.fraction_of(UNetConfig(num_classes=11, widths=(8, 16)),
          ...                    params=0.5).max_params
          3341
        """
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        return cls(
            max_params=None if params is None else int(params * count_params(config)),
            max_flops=None
            if flops is None
            else float(flops * count_flops(config, height=h, width=w)),
            image_size=image_size,
        )


def budget_limits(space: SearchSpace, budget: Budget) -> tuple[int, int]:
    """Integer limits ``(params, flop_units)`` of :func:`genome_cost`.

    Raises:
      ValueError: no genome of the space satisfies the budget (the message
        gives the smallest student's counts), or the image size does not fit
        the space's depth.
    """
    unit = space.flop_unit(budget.image_size)
    params = _INT32_MAX if budget.max_params is None else int(budget.max_params)
    units = (
        _INT32_MAX
        if budget.max_flops is None
        else int(math.floor(budget.max_flops / unit))
    )
    params, units = min(params, _INT32_MAX), min(units, _INT32_MAX)
    # Every count grows with every gene index, so the smallest student of each
    # depth has all genes at choice 0; the budget is feasible iff one of them fits.
    smallest = [
        tuple(int(c) for c in genome_cost(space, jnp.asarray(space.min_genome(i))))
        for i in range(len(space.depths))
    ]
    if not any(p <= params and u <= units for p, u in smallest):
        p, u = min(smallest)
        raise ValueError(
            f"budget: no genome of the space satisfies {budget}; the smallest "
            f"student has {p} parameters and {u * unit:.0f} FLOPs"
        )
    return params, units


def within_budget(
    space: SearchSpace, limits: tuple[int, int], genome: jax.Array
) -> jax.Array:
    """Whether ``genome [G]`` fits ``limits`` (from :func:`budget_limits`)."""
    params, units = genome_cost(space, genome)
    return (params <= limits[0]) & (units <= limits[1])
