"""The bucketing of ``benchmarks/nas_buckets.py`` on hand-made architectures."""

import importlib.util
import sys
from pathlib import Path

import pytest

from segxai_jax.models import UNetConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def buckets():
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(
        "nas_buckets", ROOT / "benchmarks" / "nas_buckets.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unet(widths, kernels, blocks):
    return UNetConfig(
        num_classes=3, widths=widths, kernel_size=kernels, blocks_per_stage=blocks
    )


def test_padding_takes_the_element_wise_maximum(buckets):
    a = _unet((4, 8), (3, 5, 3), (1, 2, 1))
    b = _unet((8, 6), (5, 3, 3), 2)
    padded = buckets.padded([a, b])
    assert padded.widths == (8, 8)
    assert padded.kernel_size == (5, 5, 3)
    assert padded.blocks_per_stage == (2, 2, 2)


def test_schemes_group_by_their_key_only(buckets):
    a = _unet((4, 8), (3, 3, 3), (1, 1, 1))
    b = _unet((8, 8), (3, 3, 3), (1, 1, 1))
    c = _unet((4, 8), (5, 3, 3), (1, 1, 1))
    d = _unet((4, 8, 16), (3, 3, 3, 3, 3), (1, 1, 1, 1, 1))
    exact = buckets.bucket_configs([a, b, c, d], "exact")
    assert exact == [a, b, c, d]
    same_kernels = buckets.bucket_configs([a, b, c, d], "depth_kernels_blocks")
    assert same_kernels[0] == same_kernels[1] == b  # a padded to b's widths
    assert same_kernels[2] == c and same_kernels[3] == d
    by_depth = buckets.bucket_configs([a, b, c, d], "depth")
    assert (
        by_depth[0] == by_depth[1] == by_depth[2] == _unet((8, 8), (5, 3, 3), (1, 1, 1))
    )
    assert by_depth[3] == d
