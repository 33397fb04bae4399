"""The interval arithmetic of ``benchmarks/occlusion_locality.py`` on small cases."""

import importlib.util
from pathlib import Path

import pytest

from segxai_jax.models import UNetConfig

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "occlusion_locality.py"


@pytest.fixture(scope="module")
def locality():
    spec = importlib.util.spec_from_file_location("occlusion_locality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_changed_regions_grow_with_each_convolution(locality):
    config = UNetConfig(num_classes=3, widths=(4, 8), input_norm="none")
    # Window [0, 8) of a 64 px image: enc0's two 3x3 convs widen it to [0, 9)
    # then [0, 10); the pool gives [0, 5) of 32; the bottleneck's convs
    # [0, 6) and [0, 7) of 32; up-sampling [0, 14) joined with the skip
    # [0, 10); dec0's convs [0, 15) and [0, 16) of 64.
    fractions = locality.changed_area_fractions(config, 0, 64)
    assert fractions["enc0_conv0"] == pytest.approx((9 / 64) ** 2)
    assert fractions["enc0_conv1"] == pytest.approx((10 / 64) ** 2)
    assert fractions["bottleneck_conv1"] == pytest.approx((7 / 32) ** 2)
    assert fractions["dec0_up"] == pytest.approx((7 / 32) ** 2)
    assert fractions["dec0_conv1"] == pytest.approx((16 / 64) ** 2)
    assert fractions["head"] == pytest.approx((16 / 64) ** 2)


def test_per_image_standardisation_changes_everything(locality):
    config = UNetConfig(num_classes=3, widths=(4, 8), input_norm="per_image")
    assert set(locality.changed_area_fractions(config, 0, 64).values()) == {1.0}
