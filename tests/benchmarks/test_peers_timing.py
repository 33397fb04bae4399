"""Smoke test of the peer timing script (``benchmarks/peers/timing.py --quick``).

Needs the ``peers`` extra (torch, Captum, pytorch-grad-cam); each test skips
cleanly without it.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

PEERS_DIR = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks", "peers")
)


@pytest.fixture(autouse=True)
def peers():
    """Skips without the peer libraries; puts benchmarks/peers on the path."""
    pytest.importorskip("torch")
    pytest.importorskip("captum")
    pytest.importorskip("pytorch_grad_cam")
    if PEERS_DIR not in sys.path:
        sys.path.insert(0, PEERS_DIR)


def test_quick_timing_runs(tmp_path, capsys):
    import timing

    out = tmp_path / "peers.json"
    assert timing.main(["--quick", "--no-configure", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = {row["method"]: row for row in result["rows"]}
    assert set(rows) == set(timing.METHODS)
    for row in rows.values():
        assert row["ours_ms"] > 0 and row["peer_best_ms"] > 0
        assert row["peer_best_config"] in row["peer_ms"]
        assert row["ratio"] == pytest.approx(row["ours_ms"] / row["peer_best_ms"])
        assert len(row["raw_seconds"]["ours"]) == result["setup"]["repeats"] == 2
    assert len(rows["smoothgrad"]["peer_ms"]) == 4  # nt_samples_batch_size variants
    assert rows["gradient"]["pearson_mean"] > 0.999
    for name in (
        "seg_grad_cam",
        "hires_cam",
        "xgrad_cam",
        "grad_cam_plus_plus",
        "layer_cam",
        "score_cam",
        "mask_ablation",
    ):
        assert rows[name]["pearson_mean"] > 0.99, (name, rows[name]["pearson_mean"])
    assert (tmp_path / "peers.md").read_text().startswith("| batch x side | method |")
    assert {row["ours_device"].split(":")[0] for row in rows.values()} == {"cpu"}
    assert result["setup"]["processes"].startswith("one per side")
    assert "| vanilla gradient |" in capsys.readouterr().out


def test_missing_peers_message(monkeypatch, capsys):
    import timing

    monkeypatch.setattr(timing, "missing_peers", lambda: "captum")
    assert timing.main(["--quick"]) != 0
    assert 'pip install -e ".[test,peers]"' in capsys.readouterr().err


def test_gpu_run_without_cuda_is_refused_naming_the_side(monkeypatch, capsys):
    import jax
    import timing
    import torch

    if jax.default_backend() == "gpu" and torch.cuda.is_available():
        pytest.skip("both sides have a GPU here")
    assert timing.main(["--device", "cuda", "--methods", "gradient"]) == 2
    err = capsys.readouterr().err
    assert "not be a GPU comparison" in err
    assert ("ours (jax" in err) == (jax.default_backend() != "gpu")
    assert ("the peers (torch" in err) == (not torch.cuda.is_available())


def test_bad_cases_are_refused(capsys):
    import timing

    with pytest.raises(SystemExit):
        timing.main(["--quick", "--cases", "8by64"])
    assert "--cases: expected BATCHxSIDE" in capsys.readouterr().err


def test_noise_tunnel_keeps_targets_paired(tmp_path):
    """With zero noise, NoiseTunnel(Saliency) on the timing's score = Saliency.

    Shows that Captum expands the per-image class ids and masks (additional
    forward args) in the same order as the noisy inputs.
    """
    import timing
    import torch
    from captum.attr import NoiseTunnel, Saliency
    from timing_workers import OursSide, PeerSide

    spec = str(tmp_path / "spec.npz")
    OursSide(spec, timing.QUICK_CONFIG, batch=3, size=16, seed=0)  # writes spec
    setup = PeerSide(spec, timing.QUICK_CONFIG, threads=1)
    score, x = setup.score_fn("nchw"), setup.inputs["nchw"]
    args = (setup.cls_t, setup.mask_t)
    x = x.clone().requires_grad_()
    plain = Saliency(score).attribute(x, abs=False, additional_forward_args=args)
    for batch_size in (None, 2):
        tunnel = NoiseTunnel(Saliency(score)).attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=4,
            nt_samples_batch_size=batch_size,
            stdevs=0.0,
            abs=False,
            additional_forward_args=args,
        )
        assert torch.allclose(tunnel, plain, atol=1e-5)


def test_workers_see_the_same_inputs(tmp_path):
    """The PyTorch side loads exactly the weights, images and targets of ours."""
    import timing
    from timing_workers import OursSide, PeerSide

    spec = str(tmp_path / "spec.npz")
    ours = OursSide(spec, timing.QUICK_CONFIG, batch=2, size=16, seed=1)
    peer = PeerSide(spec, timing.QUICK_CONFIG, threads=1)
    np.testing.assert_array_equal(peer.x, np.asarray(ours.x))
    np.testing.assert_array_equal(peer.masks, np.asarray(ours.targets.mask))
    np.testing.assert_array_equal(peer.classes, np.asarray(ours.targets.class_id))


def test_failed_worker_is_reported(tmp_path):
    import timing

    with pytest.raises(RuntimeError, match="ours timing worker exited"):
        timing.Worker(
            "ours", ["--spec", str(tmp_path / "s.npz"), "--config", '{"nope": 1}']
        )
