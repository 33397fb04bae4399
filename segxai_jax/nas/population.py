"""One compiled call per population, sharded over the available devices.

:func:`make_population_evaluator` turns a per-candidate :class:`Fitness` into
``evaluate(weights, genomes [P, G]) -> fitness [P]``: ONE
``jax.jit(jax.vmap(fitness.fn))`` whose population axis is split over a 1-D
device mesh (``NamedSharding(mesh, PartitionSpec("population"))``, with
``jax.shard_map`` so that each device vmaps over its own candidates); the
supernet weights and the fitness data are replicated. On one device this is a
plain vmapped call; on ``n`` devices each evaluates ``P / n`` candidates with
no communication but the final gather.

A population whose size is not a multiple of the device count is padded with
copies of its last genome (``pad=True``, the default; the padded results are
dropped), or rejected with a ``ValueError`` (``pad=False``). Padding changes
no result: candidates are independent.

Several hosts: call ``jax.distributed.initialize()`` in every process before
anything else; ``jax.devices()`` then lists the devices of all hosts and the
same code shards the population over all of them (each process must call
``evaluate`` with the same genomes, as in any multi-controller JAX program).

References:
  JAX documentation: "Distributed arrays and automatic parallelization" and
  "Multi-process environments" (``jax.sharding``, ``jax.distributed``).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from segxai_jax import validation
from segxai_jax.nas.fitness import Fitness

AXIS = "population"


def population_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh named ``"population"`` over ``devices`` (default: all)."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices: expected at least one device")
    return Mesh(np.asarray(devices), (AXIS,))


def make_population_evaluator(
    fitness: Fitness,
    *,
    devices: Sequence[jax.Device] | None = None,
    pad: bool = True,
):
    """``evaluate(weights, genomes [P, G]) -> np.ndarray [P]`` in one call.

    Args:
      fitness: the per-candidate score and its data.
      devices: devices to shard the population over (default: all).
      pad: pad a population that does not divide evenly over the devices (see
        the module docstring); ``False`` raises instead.

    Returns:
      The evaluator; its ``compiled`` attribute is the jitted, vmapped
      function ``(weights, genomes, data) -> [P]`` (for benchmarks), and
      ``mesh`` the mesh.
    """
    validation.check_instance(fitness, "fitness", Fitness, "make_explanation_fitness")
    validation.check_bool(pad, "pad")
    mesh = population_mesh(devices)
    replicated = NamedSharding(mesh, PartitionSpec())
    split = NamedSharding(mesh, PartitionSpec(AXIS))
    population_fn = jax.vmap(fitness.fn, in_axes=(None, 0, None))
    if mesh.size > 1:
        # Each device runs the vmapped function on its own slice of the
        # population (shard_map). Leaving the split to the SPMD partitioner
        # fails: vmap turns the per-candidate kernels into one grouped
        # convolution, which the partitioner splits inconsistently (XLA CPU,
        # jaxlib 0.10.2: "output feature dimension not divisible by
        # feature_group_count").
        population_fn = jax.shard_map(
            population_fn,
            mesh=mesh,
            in_specs=(PartitionSpec(), PartitionSpec(AXIS), PartitionSpec()),
            out_specs=PartitionSpec(AXIS),
        )
    compiled = jax.jit(
        population_fn,
        in_shardings=(replicated, split, replicated),
        out_shardings=split,
    )
    data = jax.device_put(fitness.data, replicated)
    num_devices = mesh.size

    def evaluate(weights, genomes) -> np.ndarray:
        if fitness.space is not None:
            genomes = fitness.space.check_genome(genomes, name="genomes")
        genomes = np.asarray(genomes)
        if not np.issubdtype(genomes.dtype, np.integer):
            raise TypeError(f"genomes: expected integer genes, got {genomes.dtype}")
        genomes = genomes.astype(np.int32)
        if genomes.ndim != 2:
            raise ValueError(f"genomes: expected [P, G], got shape {genomes.shape}")
        count = genomes.shape[0]
        extra = -count % num_devices
        if extra and not pad:
            raise ValueError(
                f"genomes: population size {count} is not divisible by the "
                f"{num_devices} devices; use a multiple or pad=True"
            )
        if extra:
            genomes = np.concatenate([genomes, np.repeat(genomes[-1:], extra, 0)])
        out = compiled(weights, jax.device_put(genomes, split), data)
        return np.asarray(out)[:count]

    evaluate.compiled = compiled
    evaluate.mesh = mesh
    evaluate.data = data
    return evaluate
