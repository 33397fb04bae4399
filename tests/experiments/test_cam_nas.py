"""Smoke test of the CAM-NAS study on the tiny dataset."""

import dataclasses
import json

import pytest
from config_trace import check_files, traced_run

from experiments import main as experiments_main
from experiments.cam_nas import config as cam_nas


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory):
    config = cam_nas.get_config("quick")
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    # The warm-up fitness and the proxy are covered by tests/nas; here the
    # entry point, the baselines and the report.
    config.methods = ("cam_nas_init", "random_search", "proxy_search", "hand_designed")
    config.proxy_search = {"proxy": "relation_init"}
    return config


def test_writes_outputs(quick_config, tmp_path):
    results, files = traced_run(quick_config, tmp_path)
    check_files(files, "cam_nas")
    for name in ("report.md", "results.json", *results["figures"].values()):
        assert (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "results.json").read_text())
    budget = saved["budget"]["max_params"]
    for method in ("cam_nas_init", "random_search", "proxy_search", "hand_designed"):
        (run,) = saved["runs"][method]
        assert run["params"] <= budget
        assert 0 <= run["miou"] <= 1 and 0 < run["similarity"] <= 1
    search = saved["runs"]["cam_nas_init"][0]
    assert search["num_evaluated"] == 8 and len(search["history"]) == 2
    log = tmp_path / "search" / "cam_nas_init" / "seed0" / "search_log.jsonl"
    assert len(log.read_text().splitlines()) == 2
    assert len(saved["findings"]) == 3  # CAM-NAS and the proxy vs random, vs CAM-NAS
    assert saved["findings"][0]["reproduced"] in ("reproduced", "refuted", "not shown")
    assert saved["options"]["proxy_search"] == "relation_init"
    assert "| cam_nas_init |" in (tmp_path / "report.md").read_text()
    # Resuming a killed search is tested in tests/nas/test_search.py.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("methods", ("cam_nas_init", "nope")),
        ("budget.params_fraction", 0.0),
        ("search.population_size", 0),
        ("space.kernels", (2,)),
        ("proxy_search.proxy", "nope"),
        ("proxy_search", None),
    ],
)
def test_bad_config_values_name_the_field(quick_config, tmp_path, field, value):
    config = quick_config.copy_and_resolve_references()
    with config.unlocked():
        node = config
        *parents, leaf = field.split(".")
        for name in parents:
            node = node[name]
        node[leaf] = value
    with pytest.raises(ValueError, match=f"config.{field.split('.')[0]}"):
        experiments_main.run_experiment(config, str(tmp_path))


def _budget(params=None, flops=None):
    from experiments.shared.nas_settings import BudgetSettings

    return BudgetSettings(params_fraction=params, flops_fraction=flops)


def test_the_hand_designed_student_respects_both_budgets():
    from experiments.cam_nas import measure
    from segxai_jax.models import UNetConfig, count_flops, count_params

    teacher = UNetConfig(num_classes=11, widths=(8, 16, 32, 64))
    space = measure.search_space(quick_space(), teacher)
    by_params = measure.make_budget(_budget(params=0.25), teacher, space, 64)
    by_flops = measure.make_budget(_budget(flops=0.2), teacher, space, 64)
    both = measure.make_budget(_budget(params=0.25, flops=0.2), teacher, space, 64)
    assert by_params.max_flops is None and by_flops.max_params is None
    for budget in (by_params, by_flops, both):
        hand = measure.hand_designed(teacher, budget)
        assert measure.within(hand, budget)
        # The next width step would break the budget: it is the largest.
        wider = dataclasses.replace(hand, widths=tuple(w + 1 for w in hand.widths))
        assert not measure.within(wider, budget)
    hand = measure.hand_designed(teacher, both)
    assert count_params(hand) <= both.max_params
    assert count_flops(hand, height=64, width=64) <= both.max_flops


def quick_space():
    from experiments.shared.nas_settings import SpaceSettings

    return SpaceSettings(
        depths=(2, 3),
        widths=((4, 6, 8), (8, 12, 16), (16, 24, 32), (32, 48, 64)),
        blocks=(1, 2),
        kernels=(3, 5),
    )


@pytest.mark.parametrize(
    ("budget", "size", "match"),
    [
        (_budget(), 64, "expected params_fraction or flops_fraction"),
        (_budget(flops=0.5), 36, "FLOPs cannot be counted exactly for 36x36"),
        (_budget(flops=1e-4), 64, "smallest student has .* FLOPs"),
        (_budget(params=2.0), 64, r"params_fraction: expected a number in \(0, 1\]"),
    ],
)
def test_bad_budgets_say_why(budget, size, match):
    from experiments.cam_nas import measure
    from segxai_jax.models import UNetConfig

    teacher = UNetConfig(num_classes=11, widths=(8, 16, 32, 64))
    space = measure.search_space(quick_space(), teacher)
    with pytest.raises(ValueError, match=match):
        measure.make_budget(budget, teacher, space, size)


def test_partial_runs_are_paired_by_seed():
    """A chunk can end with seed 3 done for one method and not the other: the
    paired difference uses the seeds both methods have, matched by seed."""
    from experiments.cam_nas.findings import evaluate_findings

    runs = {
        "cam_nas_init": [{"seed": s, "miou": 0.5 + 0.1 * s} for s in (0, 1, 2, 3)],
        "random_search": [{"seed": s, "miou": 0.4 + 0.1 * s} for s in (2, 0, 1)],
    }
    summary, findings = evaluate_findings(runs)
    diff = summary["cam_nas_minus_random_miou"]
    assert diff["n"] == 3
    assert diff["mean"] == pytest.approx(0.1)
    assert len(findings) == 1


def test_five_seed_variants_differ_only_in_the_budget_kind():
    both = cam_nas.get_config("five_seeds")
    params = cam_nas.get_config("five_seeds_params")
    assert (both.budget.params_fraction, both.budget.flops_fraction) == (0.25, 0.25)
    assert (params.budget.params_fraction, params.budget.flops_fraction) == (0.25, None)
    # Units of one budget kind never resume the other.
    assert params.units_dir != both.units_dir
    assert params.methods == both.methods and params.seeds == both.seeds


def test_a_partial_report_leaves_out_methods_without_units():
    """A chunk can end before any unit of a method: the report still renders."""
    from experiments.cam_nas.report import _per_seed_section

    options = cam_nas.get_config("five_seeds")
    runs = {"cam_nas_init": [{"seed": 0, "miou": 0.5, "params": 1000}]}
    table = "\n".join(_per_seed_section(runs, options))
    assert "| cam_nas_init | 0.500 (1,000) | - |" in table
    assert "| random_search | - | - |" in table
