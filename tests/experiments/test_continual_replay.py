"""Smoke test of the replay-compression experiment on tiny data."""

import json

import numpy as np
import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.continual_replay import config as continual_replay_config


@pytest.fixture(scope="module")
def quick_config():
    return continual_replay_config.get_config("quick")


def test_writes_outputs_and_resumes_to_the_same_numbers(quick_config, tmp_path):
    results, files = traced_run(quick_config, tmp_path)
    check_files(files, "continual_replay")
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    table = saved["summary"]["table"]
    assert set(table) == {"finetune", "full", "box", "prototypes"}
    # Prototype replay: one run, no exemplars, a few bytes of statistics.
    prototypes = table["prototypes"]["0"]
    assert prototypes["exemplars_stored"] == 0
    run = next(r for r in saved["runs"] if r["strategy"] == "prototypes")
    assert 0 < run["memory"]["prototype_bytes"] < table["full"]["4"]["exemplar_bytes"]
    box, full = table["box"]["4"], table["full"]["4"]
    # equal bytes: the compressed strategy stores more exemplars
    assert box["budget_bytes"] == full["budget_bytes"]
    assert box["exemplar_bytes"] < full["exemplar_bytes"]
    assert table["box"]["4"]["exemplars_stored"] > full["exemplars_stored"]
    for run in saved["runs"]:
        assert np.isfinite(run["final_miou"])
    assert saved["findings"][0]["reproduced"] in ("reproduced", "refuted", "not shown")
    assert "| box |" in (tmp_path / "report.md").read_text()
    # Finished runs are restored from their checkpoints, not retrained.
    again = experiments_main.run_experiment(quick_config, str(tmp_path))
    assert [r["final_miou"] for r in again["runs"]] == [
        r["final_miou"] for r in results["runs"]
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("budget_images", (0,)), ("seeds", ()), ("classes_per_task", 3)],
)
def test_bad_config_raises(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    setattr(config, field, value)
    with pytest.raises(ValueError, match=field):
        experiments_main.run_experiment(config, str(tmp_path))


@pytest.mark.parametrize(
    ("option", "value"), [("prototype_scope", "logits"), ("distillation", 1.0)]
)
def test_prototype_options_apply_to_the_prototypes_kind_only(
    quick_config, tmp_path, option, value
):
    del quick_config  # its list of strategies is shared by copies: a fresh one
    config = continual_replay_config.get_config("quick")
    config.strategies[0][option] = value  # the finetune bound
    with pytest.raises(ValueError, match=rf"strategies\[0\].{option}"):
        experiments_main.run_experiment(config, str(tmp_path))


def _run(strategy, budget, seed, miou):
    return {
        "strategy": strategy,
        "budget_images": budget,
        "seed": seed,
        "final_miou": miou,
        "average_forgetting": 0.1,
        "backward_transfer": -0.1,
        "budget_bytes": budget * 100,
        "compressor": None if budget == 0 else strategy,
        "memory": {"exemplars_stored": budget, "exemplar_bytes": 100},
    }


def test_salient_replay_is_judged_against_both_prototype_strategies():
    from experiments.continual_replay.findings import evaluate_findings
    from experiments.continual_replay.measure import summarise

    runs = []
    for seed in range(5):
        runs.append(_run("box", 25, seed, 0.5 + 0.01 * seed))
        runs.append(_run("prototypes", 0, seed, 0.13 + 0.002 * seed))
        runs.append(_run("prototypes_held", 0, seed, 0.6 + 0.003 * seed))
    summary = summarise(runs, (25,))
    # The prototype runs (budget 0) are the baseline at budget 25.
    assert summary["differences"]["box-prototypes"]["25"]["mean"] > 0.3
    assert summary["differences"]["box-prototypes_held"]["25"]["mean"] < -0.05
    (finding,) = [f for f in evaluate_findings(summary) if "prototype" in f.claim]
    # Ahead of one, behind the other: the conjunction is not shown.
    assert finding.reproduced == "not shown"
    assert "box - prototypes_held" in finding.evidence
