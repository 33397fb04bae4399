"""Smoke tests of ``benchmarks/all_targets.py`` (JAX side) and
``benchmarks/memory_budget.py`` at tiny sizes."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np

BENCHMARKS = os.path.abspath(
    os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks")
)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(BENCHMARKS, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_all_targets_jax_side(tmp_path):
    module = _load("all_targets")
    maps_path = str(tmp_path / "maps.npz")
    out = module.jax_side(16, 1, maps_path)
    for set_name, count in (("every_class", 11), ("every_instance", 16)):
        for method in ("gradient", "seg_grad_cam"):
            for config in ("ours_one_call", "ours_loop"):
                seconds, targets = out[f"{set_name}/{method}/{config}"]
                assert seconds > 0 and targets == count
    maps = np.load(maps_path)
    assert maps["every_instance/gradient"].shape == (16, 16, 16, 3)


def test_memory_budget_script(tmp_path):
    module = _load("memory_budget")
    path = tmp_path / "out.json"
    args = ["--size", "16", "--images", "2", "--samples", "4", "--budget-gib", "0.01"]
    assert module.main([*args, "--out", str(path)]) == 0
    result = json.loads(path.read_text())
    assert result["within_budget"] and result["maps_finite"]
    assert result["xla_peak_bytes_budgeted"] <= result["budget_bytes"]
