"""Smoke test of the three-term attack study on the tiny dataset."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.attack_three_term import config as attack_three_term
from experiments.shared.stats import auroc_ci


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = attack_three_term.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    return config


def test_writes_units_and_outputs(quick_config, tmp_path):
    results, files = traced_run(quick_config, tmp_path)
    check_files(files, "attack_three_term")
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["units"] == {
        "done": 4,
        "total": 4,
        "complete": True,
        "folder": str(tmp_path / "units"),
    }
    summary = saved["summary"]
    assert set(summary) == {
        "short/none/square/gradient",
        "short/linf/square/gradient",
        "long/none/square/gradient",
        "gradient_free/linf/square/occlusion",
    }
    budget = quick_config.attack.linf_budget
    linf = summary["short/linf/square/gradient"]["metrics"]["input_linf"]
    assert linf["mean"] <= budget + 1e-6
    for entry in summary.values():
        assert entry["metrics"]["pixel_agreement"]["n"] == 2
        assert np.isfinite(entry["rise_pearson"]["mean"])
        for auroc in entry["detection"].values():
            assert 0.0 <= auroc["mean"] <= 1.0
    unit = json.loads(
        (tmp_path / "units" / "long-none-square-gradient-seed0.json").read_text()
    )
    assert len(unit["result"]["history"]["loss"]["values"]) == quick_config.long_steps
    verdicts = {f["reproduced"] for f in saved["findings"]}
    assert verdicts <= {"reproduced", "refuted", "not shown"}
    assert "## Detection" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("targets", ("square", "circle")),
        ("budgets", ("l2",)),
        ("ablation_layer", "nope"),
        ("explainers", ("gradient", "occlusion")),
        ("gradient_free.explainers", ("gradient",)),
        ("num_images", 1),
        ("attack.gamma_input", -1.0),
    ],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    group, _, leaf = field.rpartition(".")
    (config[group] if group else config)[leaf] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        experiments_main.run_experiment(config, str(tmp_path))


def test_explainer_in_the_wrong_phase_is_refused_with_the_reason(
    quick_config, tmp_path
):
    config = quick_config.copy_and_resolve_references()
    config.explainers = ("occlusion",)
    with pytest.raises(ValueError, match="perturbation-based"):
        experiments_main.run_experiment(config, str(tmp_path))
    config = quick_config.copy_and_resolve_references()
    config.gradient_free.explainers = ("smoothgrad",)
    with pytest.raises(ValueError, match="have input gradients"):
        experiments_main.run_experiment(config, str(tmp_path))


def test_auroc_is_the_mann_whitney_probability():
    assert auroc_ci([0, 1, 2], [3, 4, 5])["mean"] == 1.0
    assert auroc_ci([3, 4, 5], [0, 1, 2])["mean"] == 0.0
    assert auroc_ci([1, 1], [1, 1])["mean"] == 0.5
    # 2 of 4 pairs above, 1 tie: (2 + 0.5) / 4.
    assert auroc_ci([1, 3], [2, 3])["mean"] == pytest.approx(0.625)
    apart = auroc_ci(np.arange(20.0), np.arange(20.0) + 100)
    assert apart["ci_low"] == apart["ci_high"] == 1.0
    rng = np.random.default_rng(0)
    same = auroc_ci(rng.normal(size=40), rng.normal(size=40))
    assert same["ci_low"] < 0.5 < same["ci_high"]
    assert np.isnan(auroc_ci([0, 1], [2, 3])["ci_low"])  # too few images
    # Sets of different sizes: one clean score per image, several attacks.
    assert auroc_ci([0, 1], [2, 3, 0.5])["mean"] == pytest.approx(5 / 6)
    assert auroc_ci(np.arange(10.0), np.arange(30.0) + 50)["ci_low"] == 1.0
    with pytest.raises(ValueError, match="clean, attacked"):
        auroc_ci([1, 2], [])
    with pytest.raises(ValueError, match="clean, attacked"):
        auroc_ci([[1, 2]], [1, 2])


def test_small_cells_are_judged_on_the_pooled_auroc_with_each_clean_image_once():
    from experiments.attack_three_term.findings import (
        detection_finding,
        pooled_detection,
    )

    def cell(target, attacked):
        clean = [0.1 * i for i in range(10)]
        return {
            "phase": "long",
            "detection": {"softplus": auroc_ci(clean, attacked)},
            "detection_scores": {
                "softplus": {
                    "clean": clean,
                    "attacked": attacked,
                    "clean_ids": [f"gradient/0/{i}" for i in range(10)],
                }
            },
            "target": target,
        }

    summary = {
        "a": cell("square", [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]),  # 6 attacked
        "b": cell("shifted", [2.0, 2.1, 2.2, 2.3, 2.4, 2.5]),
    }
    pooled = pooled_detection(summary, "softplus", "long")
    assert (pooled["n_clean"], pooled["n_attacked"]) == (10, 12)  # clean once
    assert pooled["mean"] == 1.0
    assert np.isnan(summary["a"]["detection"]["softplus"]["ci_low"])  # 6 attacked
    finding = detection_finding(summary, "softplus", "long")
    assert finding.reproduced == "reproduced" and "pooled" in finding.evidence
    assert detection_finding(summary, "softplus", "short") is None
