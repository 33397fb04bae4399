"""Search space: genome layout, decoding, exact analytic counts, budgets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_genomes

from segxai_jax.models import UNet, UNetConfig, count_flops, count_params
from segxai_jax.nas import (
    Budget,
    SearchSpace,
    active_genes,
    budget_limits,
    genome_cost,
    materialise,
    within_budget,
)


def _traced_conv_flops(config, height, width):
    """2 x multiply-accumulates of every convolution in the traced U-Net."""
    model = UNet(config)
    x = jax.ShapeDtypeStruct((1, height, width, config.in_channels), jnp.float32)
    params = jax.eval_shape(model.init, jax.random.key(0), x)["params"]
    jaxpr = jax.make_jaxpr(lambda p, x: model.apply({"params": p}, x))(params, x)
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated":
            out, kernel = eqn.outvars[0].aval.shape, eqn.invars[1].aval.shape
            total += 2 * int(np.prod(out)) * int(np.prod(kernel[:3]))
    return total, sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params))


def test_genome_decodes_to_the_unet_it_describes(space):
    genome = np.zeros(space.genome_length, np.int32)
    names = space.gene_names()
    genome[names.index("depth")] = 1  # depth 2
    genome[names.index("width[1]")] = 1  # 6 channels at level 1
    genome[names.index("down_kernel[2]")] = 2  # bottleneck kernel 5
    genome[names.index("up_blocks[0]")] = 1  # dec0 has 2 blocks
    config = space.to_config(genome)
    assert config.widths == (2, 6, 6)
    assert config.probe_names == ("enc0", "enc1", "bottleneck", "dec1", "dec0")
    assert config.stage_kernels == (1, 1, 5, 1, 1)
    assert config.stage_blocks == (1, 1, 1, 1, 2)
    assert config.input_norm == "per_image" and config.bottleneck_head


def test_analytic_counts_equal_the_materialised_model(space, weights):
    genomes = random_genomes(space, 6, seed=3)
    params, units = jax.vmap(lambda g: genome_cost(space, g))(jnp.asarray(genomes))
    for genome, p, u in zip(genomes, params, units, strict=True):
        config = space.to_config(genome)
        traced_flops, tree_size = _traced_conv_flops(config, 8, 16)
        assert int(p) == count_params(config) == tree_size
        assert int(u) * space.flop_unit((8, 16)) == count_flops(
            config, height=8, width=16
        )
        assert int(u) * space.flop_unit((8, 16)) == traced_flops
        _, sliced = materialise(space, weights, genome)
        assert sum(leaf.size for leaf in jax.tree.leaves(sliced)) == int(p)


def test_inert_genes_do_not_change_the_network(space):
    genome = np.zeros(space.genome_length, np.int32)  # depth 1: level 2 unused
    active = np.asarray(active_genes(space, jnp.asarray(genome)))
    names = space.gene_names()
    assert not active[names.index("width[2]")]
    assert not active[names.index("up_kernel[1]")]
    assert active[names.index("down_kernel[1]")]  # the bottleneck at depth 1
    changed = genome.copy()
    changed[~active] = 1
    assert space.to_config(changed) == space.to_config(genome)


@pytest.mark.parametrize(
    ("genome", "match"),
    [
        (np.zeros(3, np.int32), r"genome: expected shape \[14\]"),
        (np.full(14, 0.5), "integer"),
        (np.r_[2, np.zeros(13, np.int32)], r"gene depth = 2 .*0\.\.1"),
        (np.r_[np.zeros(7, np.int32), 3, np.zeros(6, np.int32)], "down_kernel"),
    ],
)
def test_a_genome_outside_the_space_is_a_clear_error(space, genome, match):
    with pytest.raises((ValueError, TypeError), match=match):
        space.to_config(genome)
    with pytest.raises((ValueError, TypeError), match=match):
        genome_cost(space, genome)


def test_genome_cost_under_jit_never_costs_a_clamped_gene(space):
    valid = np.zeros(space.genome_length, np.int32)
    outside = valid.copy()
    outside[0] = space.num_choices[0]  # one past the last depth
    cost = jax.jit(lambda g: genome_cost(space, g))
    params, units = cost(outside)
    worst = np.iinfo(np.int32).max
    assert int(params) == worst and int(units) == worst
    np.testing.assert_array_equal(cost(valid), genome_cost(space, valid))
    assert int(cost(valid)[0]) < worst


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depths": (1, 2, 3)}, "widths: expected 4 levels"),
        ({"kernels": (2, 3)}, "odd"),
        ({"blocks": (0, 1)}, "blocks"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
def test_bad_space_options_name_the_field(kwargs, match):
    base = {"num_classes": 3, "depths": (1, 2), "widths": ((2,), (4,), (8,))}
    with pytest.raises((ValueError, TypeError), match=match):
        SearchSpace(**{**base, **kwargs})


def test_budget_limits_and_infeasible_budget(space):
    smallest = count_params(space.to_config(space.min_genome(0)))
    limits = budget_limits(space, Budget(max_params=smallest, image_size=8))
    assert bool(within_budget(space, limits, jnp.asarray(space.min_genome(0))))
    assert not bool(within_budget(space, limits, jnp.asarray(space.min_genome(1))))
    with pytest.raises(ValueError, match="no genome of the space satisfies"):
        budget_limits(space, Budget(max_params=smallest - 1, image_size=8))
    with pytest.raises(ValueError, match="divisible by 2"):
        budget_limits(space, Budget(max_flops=1e9, image_size=6))
    with pytest.raises(ValueError, match="max_params"):
        Budget(max_params=-1)


def test_flop_budget_is_exact_at_the_boundary(space):
    genome = space.min_genome(1)
    flops = count_flops(space.to_config(genome), height=8)
    at = budget_limits(space, Budget(max_flops=flops, image_size=8))
    below = budget_limits(space, Budget(max_flops=flops - 1, image_size=8))
    assert bool(within_budget(space, at, jnp.asarray(genome)))
    assert not bool(within_budget(space, below, jnp.asarray(genome)))


def test_fraction_of_a_reference_model():
    teacher = UNetConfig(num_classes=3, widths=(4, 8))
    budget = Budget.fraction_of(teacher, params=0.25, flops=0.5, image_size=16)
    assert budget.max_params == int(0.25 * count_params(teacher))
    assert budget.max_flops == 0.5 * count_flops(teacher, height=16)
