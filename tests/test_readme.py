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


def _status_rows():
    text = README.read_text()
    table = text.split("## Status", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def _is_module(name: str) -> bool:
    import importlib

    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        return False
    return True


def test_every_done_feature_of_the_status_table_imports():
    import importlib

    rows = _status_rows()
    assert len(rows) >= 10
    for part, entry_points, status in rows:
        names = re.findall(r"`([\w.]+)`", entry_points)
        if not status.startswith("done"):
            continue
        assert names, f"a done row names no entry point: {part}"
        for name in names:
            if _is_module(name):
                continue  # a module or package is itself the entry point
            module_name, _, attribute = name.rpartition(".")
            module = importlib.import_module(module_name)
            assert hasattr(module, attribute), name


def test_readme_is_a_front_page():
    assert len(README.read_text().splitlines()) <= 300
