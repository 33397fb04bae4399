"""Kendall tau-b / Spearman rho with paired bootstrap intervals (shared stats)."""

import numpy as np
import pytest
from scipy import stats

from experiments.shared.stats import rank_correlations, sign_of


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    outcome = rng.normal(size=40)
    good = outcome + 0.5 * rng.normal(size=40)
    noise = rng.normal(size=40)
    noise[:6] = noise[0]  # ties
    return outcome, {"good": good, "noise": noise}


def test_point_values_equal_scipy_with_ties(data):
    outcome, scores = data
    out = rank_correlations(scores, outcome, resamples=200)
    for name, x in scores.items():
        assert out[name]["tau"]["mean"] == pytest.approx(
            stats.kendalltau(x, outcome).statistic, abs=1e-12
        )
        assert out[name]["rho"]["mean"] == pytest.approx(
            stats.spearmanr(x, outcome).statistic, abs=1e-12
        )


def test_intervals_are_paired_seeded_and_decide_the_sign(data):
    outcome, scores = data
    out = rank_correlations(scores, outcome, reference="noise", resamples=500, seed=1)
    again = rank_correlations(scores, outcome, reference="noise", resamples=500, seed=1)
    assert out == again
    assert sign_of(out["good"]["tau"]) == 1
    assert sign_of(out["noise"]["tau"]) == 0
    diff = out["good"]["tau_minus_reference"]
    assert diff["mean"] == pytest.approx(
        out["good"]["tau"]["mean"] - out["noise"]["tau"]["mean"]
    )
    assert sign_of(diff) == 1 and "tau_minus_reference" not in out["noise"]
    # A reversed score is significant the other way.
    flipped = rank_correlations({"bad": -scores["good"]}, outcome, resamples=500)
    assert sign_of(flipped["bad"]["tau"]) == -1


def test_too_few_units_give_no_interval():
    out = rank_correlations({"a": [1, 2, 3, 4]}, [1, 2, 3, 4], resamples=50)
    assert out["a"]["tau"]["mean"] == 1.0
    assert np.isnan(out["a"]["tau"]["ci_low"]) and sign_of(out["a"]["tau"]) == 0


@pytest.mark.parametrize(
    ("scores", "outcome", "kwargs", "match"),
    [
        ({"a": [1, 2]}, [1, 2], {}, "outcome: expected at least 3"),
        ({"a": [1, 2]}, [1, 2, 3], {}, r"scores\['a'\]: expected 3 values"),
        ({"a": [1, 2, 3]}, [1, 2, 3], {"reference": "b"}, "reference: expected one"),
    ],
)
def test_bad_inputs_are_named(scores, outcome, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rank_correlations(scores, outcome, **kwargs)
