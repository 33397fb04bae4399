"""Every Python block of ``docs/`` runs; the API index is complete and current."""

import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
matplotlib.use("Agg")


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_blocks_run_in_page_order(page, capsys):
    namespace: dict = {"__name__": f"docs.{page.stem}"}
    for block in python_blocks(page):
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102


def test_every_page_is_reachable_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for page in PAGES:
        assert f"docs/{page.name}" in readme, page.name


def test_api_index_lists_every_public_name_and_is_current():
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate_api.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_to_files_and_anchors_resolve():
    pages = [*PAGES, ROOT / "README.md", *sorted(ROOT.glob("experiments/*/README.md"))]
    for page in pages:
        text = page.read_text()
        anchors = {_slug(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            if path:
                assert (page.parent / path).exists(), f"{page.name}: {target}"
            elif anchor:
                assert anchor in anchors, f"{page.name}: #{anchor}"
