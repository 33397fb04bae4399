"""A tiny search space and data shared by the NAS tests."""

import jax
import numpy as np
import pytest

from segxai_jax.nas import SearchSpace, init_supernet

TINY_SPACE = SearchSpace(
    num_classes=3,
    depths=(1, 2),
    widths=((2, 4), (4, 6), (6, 8)),
    blocks=(1, 2),
    kernels=(1, 3, 5),
)


def random_genomes(space, count, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, space.num_choices, (count, space.genome_length)).astype(
        np.int32
    )


@pytest.fixture(scope="session")
def space():
    return TINY_SPACE


@pytest.fixture(scope="session")
def weights(space):
    return init_supernet(jax.random.key(0), space)


@pytest.fixture(scope="session")
def images():
    return jax.random.uniform(jax.random.key(1), (2, 8, 8, 3))
