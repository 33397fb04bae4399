"""Smoke tests of the peer-benchmark groundwork (``benchmarks/peers``).

They need the ``peers`` extra (torch, Captum, pytorch-grad-cam) and skip
cleanly without it, so the normal test environment reports them skipped.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from segxai_jax.models.unet import UNetConfig

PEERS_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks", "peers")
)


@pytest.fixture(autouse=True)
def peers():
    """Skips the test without torch (no ``peers`` extra); puts peers/ on the path.

    Skipping per test (not at module level) keeps the tests collected, so a run
    of only this directory without torch exits 0 ("skipped"), not 5.
    """
    pytest.importorskip("torch")
    if PEERS_DIR not in sys.path:
        sys.path.insert(0, PEERS_DIR)


TINY = dict(num_classes=3, widths=(4, 8, 8))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"input_norm": "per_image", "bottleneck_head": True},
        {"norm": "group", "group_size": 4, "blocks_per_stage": (1, 2, 1, 2, 1)},
        {"activation": "softplus", "kernel_size": 5},
        {"kernel_size": (3, 5, 1, 5, 3), "blocks_per_stage": (2, 1, 1, 1, 2)},
    ],
    ids=["plain", "quickstart_like", "groupnorm", "softplus_k5", "per_stage"],
)
def test_logit_parity_tiny(extra):
    import parity

    config = UNetConfig(**TINY, **extra)
    assert parity.parity(config, batch=2, size=16, seed=3) < 1e-4


def test_max_pool2d_variant_matches():
    import parity
    import torch
    import torch_unet

    config = UNetConfig(**TINY, bottleneck_head=True)
    _, params, twin = parity.build_pair(config, 16, seed=1)
    other = torch_unet.load_flax_params(
        torch_unet.TorchUNet(config, pool="max_pool2d"), params
    )
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(twin(x), other(x), atol=1e-6)


def test_wrong_config_is_rejected():
    import parity
    import torch_unet

    _, params, _ = parity.build_pair(UNetConfig(**TINY, bottleneck_head=True), 16)
    with pytest.raises(ValueError, match="not used"):
        torch_unet.flax_to_state_dict(params, UNetConfig(**TINY))


def test_agreement_tiny():
    pytest.importorskip("captum")
    pytest.importorskip("pytorch_grad_cam")
    import agreement

    config = UNetConfig(**TINY, input_norm="per_image", bottleneck_head=True)
    result, errors = agreement.compare(config, batch=2, size=16, seed=0)
    for name in ("grad_raw", "grad_abs_max"):
        assert np.all(result[name] > 0.999), (name, result[name])
    for name in (
        "cam",
        "grad_cam_plus_plus",
        "layer_cam",
        "score_cam",
        "mask_ablation",
    ):
        values = result[name][~np.isnan(result[name])]
        assert values.size and np.all(values > 0.99), (name, result[name])
    # The principal component's sign is arbitrary (pytorch-grad-cam keeps the
    # SVD's): per image, one of the two signs agrees.
    eigen = np.fmax(result["eigen_cam"], result["eigen_cam_flipped"])
    assert np.all(eigen[~np.isnan(eigen)] > 0.99), eigen
    # Segment ablation is the same computation on both sides: the drops agree.
    assert np.all(errors["mask_ablation"] < 1e-4), errors["mask_ablation"]
