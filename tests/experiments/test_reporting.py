"""Tests of the experiments' report helpers."""

import json
import math

import numpy as np

from experiments.reporting import to_strict_json, write_json


def test_write_json_is_strict_json_with_nan_as_null(tmp_path):
    payload = {
        "auc": float("nan"),
        "scores": np.asarray([1.0, np.inf, 0.5], np.float32),
        "count": np.int64(3),
        3: (np.float32(-np.inf), "text"),
        "path": tmp_path,
    }
    write_json(tmp_path / "results.json", payload)
    text = (tmp_path / "results.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    saved = json.loads(text, parse_constant=lambda name: math.nan)
    assert saved == {
        "auc": None,
        "scores": [1.0, None, 0.5],
        "count": 3,
        "3": [None, "text"],
        "path": str(tmp_path),
    }


def test_to_strict_json_keeps_finite_values():
    assert to_strict_json({"a": [0.25, 1, True, None]}) == {"a": [0.25, 1, True, None]}
