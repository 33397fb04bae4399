"""Smoke test of the rank-methods experiment on the tiny dataset, via the CLI entry.

Plus exact tests of its summaries (confidence interval, ranks, Pareto front).
"""

import json
import math

import numpy as np
import pytest
from config_trace import check_files, traced_run
from scipy import stats

from experiments import main as experiments_main
from experiments.rank_methods import config as rank_methods
from experiments.shared.stats import image_mean_ci, mean_ranks, pareto_front

FIGURES = (
    "deletion_curves.png",
    "insertion_curves.png",
    "cost_vs_deletion.png",
    "explanations.png",
)


SMOKE_METHODS = (*rank_methods.METHODS[:11], "Grad-CAM++", "random")


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    config = rank_methods.get_config()
    # The first eleven methods, Grad-CAM++ (a name with "+") and the baseline;
    # the other new methods run in the quickstart's smoke test.
    config.methods = SMOKE_METHODS
    config.units_dir = ""  # the units in the workdir, not in the repository
    config.teacher.workdir = ""  # train a teacher inside the workdir
    config.data.config = "tiny"
    config.data.data_dir = str(tmp_path_factory.mktemp("tfds"))
    config.teacher.model.widths = (4, 8)
    config.teacher.train.epochs = 1
    config.teacher.train.batch_size = 16
    config.num_images = 2
    config.num_seeds = 1
    config.explain.smoothgrad_samples = 2
    config.explain.ig_steps = 2
    config.explain.ablation_layer = "enc0"
    config.explain.occlusion_patch = 16
    config.explain.occlusion_stride = 16
    config.explain.rise_masks = 10
    config.explain.segment_cells = 2
    config.explain.timing_repeats = 1
    config.faithfulness.num_steps = 4
    config.robustness.num_samples = 2
    config.randomisation.num_images = 1
    return config


@pytest.fixture(scope="module")
def run(tiny_config, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rank")
    results, files = traced_run(tiny_config, workdir)
    check_files(files, "rank_methods")
    return workdir, results


def test_writes_report_results_and_figures(run):
    workdir, results = run
    for name in ("report.md", "results.json", *FIGURES):
        assert (workdir / name).stat().st_size > 0, name
    assert (workdir / "teacher" / "model.json").exists()
    saved = json.loads((workdir / "results.json").read_text())
    assert set(saved["methods"]) == set(SMOKE_METHODS)
    assert saved["config"]["num_images"] == 2
    assert saved["environment"]["backend"]
    report = (workdir / "report.md").read_text()
    assert "| **random** |" in report
    for method in results["methods"]:
        assert f"| {method} |" in report or method == "random"


def test_numbers_are_finite_and_the_random_baseline_is_present(run):
    _, results = run
    assert "random" in results["methods"]
    assert results["methods"]["random"]["cost"]["forward_passes"] == 0
    clean = np.asarray(results["images"]["clean_target_scores"])
    # Localisation needs the target class in the ground truth (a predicted
    # class may be absent); relative AUCs need a positive clean score.
    has_truth = np.asarray(results["images"]["ground_truth_pixels"]) > 0
    always_defined = [
        "deletion_auc",
        "insertion_auc",
        "sparseness",
        "entropy",
        "avg_sensitivity",
        "max_sensitivity",
        "randomisation_top",
        "randomisation_mean",
    ]
    for name, method in results["methods"].items():
        cost = method["cost"]
        assert cost["seconds_per_image"] > 0 and cost["compile_seconds"] > 0, name
        for metric in always_defined:
            values = np.asarray(method["values"][metric])  # [images, seeds]
            evaluated = values[: 1 if metric.startswith("randomisation") else 2]
            assert np.all(np.isfinite(evaluated)), (name, metric)
        for metric in ("deletion_auc_rel", "insertion_auc_rel"):
            values = np.asarray(method["values"][metric])[:, 0]
            np.testing.assert_array_equal(np.isfinite(values), clean > 0)
        for metric in (
            "pointing_game",
            "relevance_mass",
            "relevance_rank",
            "top_k_iou",
        ):
            values = np.asarray(method["values"][metric])[:, 0]
            np.testing.assert_array_equal(np.isfinite(values), has_truth)
    random = results["methods"]["random"]["values"]
    np.testing.assert_allclose(random["randomisation_mean"][0], 1.0)  # weight-blind
    np.testing.assert_allclose(random["avg_sensitivity"], 0.0)  # input-blind


def test_unknown_method_is_a_clear_error(tiny_config, tmp_path):
    config = tiny_config.copy_and_resolve_references()
    config.methods = ("gradient", "LIME")
    with pytest.raises(ValueError, match=r"config\.methods.*LIME"):
        experiments_main.run_experiment(config, str(tmp_path))


def test_missing_teacher_without_training_is_a_clear_error(tiny_config, tmp_path):
    config = tiny_config.copy_and_resolve_references()
    config.teacher.workdir = str(tmp_path / "no_teacher")
    config.teacher.train_if_missing = False
    with pytest.raises(ValueError, match=r"config\.teacher\.workdir"):
        experiments_main.run_experiment(config, str(tmp_path / "out"))


def test_bad_counts_are_clear_errors(tiny_config, tmp_path):
    config = tiny_config.copy_and_resolve_references()
    config.num_seeds = 0
    with pytest.raises(ValueError, match=r"config\.num_seeds"):
        experiments_main.run_experiment(config, str(tmp_path))
    config = tiny_config.copy_and_resolve_references()
    config.randomisation.num_images = -1
    with pytest.raises(ValueError, match=r"config\.randomisation\.num_images"):
        experiments_main.run_experiment(config, str(tmp_path))


def test_mean_ci_is_a_t_interval_over_images_of_seed_means():
    values = np.array([[1.0, 3.0], [2.0, np.nan], [6.0, 6.0], [np.nan, np.nan]])
    summary = image_mean_ci(values)
    per_image = np.array([2.0, 2.0, 6.0])  # seeds averaged, empty image dropped
    half = stats.t.ppf(0.975, 2) * per_image.std(ddof=1) / math.sqrt(3)
    assert summary["mean"] == pytest.approx(per_image.mean())
    assert summary["half_width"] == pytest.approx(half)
    assert summary["n_images"] == 3 and summary["n_values"] == 5
    # A deterministic metric repeated over seeds gives the same interval.
    repeated = image_mean_ci(np.repeat(per_image[:, None], 3, axis=1))
    assert repeated["half_width"] == pytest.approx(half)
    assert repeated["seed_sd"] == 0.0
    assert math.isnan(image_mean_ci(np.array([[1.0]]))["half_width"])


def test_mean_ranks_respect_direction_ties_and_missing_values():
    table = {
        "a": {"up": 3.0, "down": 1.0},
        "b": {"up": 3.0, "down": 2.0},
        "c": {"up": 1.0, "down": math.nan},
    }
    ranks = mean_ranks(table, {"up": True, "down": False})
    assert ranks["a"]["ranks"] == {"up": 1.5, "down": 1.0}
    assert ranks["b"]["mean_rank"] == pytest.approx((1.5 + 2.0) / 2)
    assert ranks["c"]["ranks"] == {"up": 3.0} and ranks["c"]["num_metrics"] == 1


def test_pareto_front_keeps_only_undominated_points():
    costs = [1.0, 2.0, 3.0, 0.5, 2.0, math.nan]
    losses = [0.5, 0.4, 0.6, 0.9, 0.4, 0.0]
    # 2 is dominated by 0; 1 and 4 tie (neither dominates); NaN never counts.
    assert pareto_front(costs, losses) == [3, 0, 1, 4]
    with pytest.raises(ValueError, match="costs/losses"):
        pareto_front([1.0], [1.0, 2.0])
