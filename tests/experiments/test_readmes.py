"""Each experiment's README quotes its committed results, not remembered ones.

Every decimal number in the Results section of ``experiments/<name>/README.md``
must appear in the committed ``report.md`` beside it (which the experiment
wrote from its ``results.json``) or in a committed ``report_<variant>.md`` (a
config variant's run, e.g. ``report_three_epochs.md`` beside
``results_three_epochs.json``), and ``results.json`` must be valid JSON.
"""

import json
import re
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
FOLDERS = sorted(
    d
    for d in EXPERIMENTS.iterdir()
    if (d / "README.md").exists() and d.name != "shared"
)
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?")


def _appears(number: str, text: str) -> bool:
    token = re.escape(number.lstrip("-"))
    return re.search(rf"(?<![\d.]){token}(?![\d])", text) is not None


@pytest.mark.parametrize("folder", FOLDERS, ids=[d.name for d in FOLDERS])
def test_readme_numbers_come_from_the_committed_report(folder):
    readme = (folder / "README.md").read_text()
    assert "## Results" in readme, folder.name
    if not (folder / "report.md").exists():
        pytest.skip(f"{folder.name}: no committed full run yet")
    json.loads((folder / "results.json").read_text())
    report = "\n".join(
        p.read_text() for p in [folder / "report.md", *folder.glob("report_*.md")]
    )
    results = readme.split("## Results", 1)[1]
    missing = [n for n in NUMBER.findall(results) if not _appears(n, report)]
    assert not missing, f"{folder.name}: not in report.md: {missing}"
