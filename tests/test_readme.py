"""The README's API example runs as written."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_example_runs():
    text = README.read_text()
    section = text.split("## The functional API in one screen", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["saliency"].shape == (64, 64, 3)
    assert namespace["cam"].shape == (64, 64)
    assert namespace["ablation"].shape == (64, 64)
    cams = np.asarray(namespace["cams"])
    assert cams.shape == (len(namespace["targets"].class_id), 64, 64)
    assert np.all(np.isfinite(cams))
    assert np.isfinite(namespace["auc_cam"]) and np.isfinite(namespace["auc_random"])
