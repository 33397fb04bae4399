"""The repository's structure: its import graph has no cycle, the layers hold.

The import graph is read from the source with ``ast`` (every ``import`` and
``from ... import``, at any depth of a module, lazy imports included), so it
needs nothing to be importable.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("segxai_jax", "experiments", "benchmarks")
MAX_LINES = 400
EXPERIMENT_FILES = ("config.py", "run.py", "report.py", "README.md")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from a.b import c``: the module a.b.c if there is one, else a.b
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # the longest known module the import names
            parts = target.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in known and candidate != name:
                    out.add(candidate)
                    break
    return out


@pytest.fixture(scope="module")
def graph():
    found = modules()
    known = set(found)
    return {name: imports_of(path, name, known) for name, path in found.items()}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles(graph):
    assert _cycles(graph) == []


def test_the_library_never_imports_experiments_or_benchmarks(graph):
    for name, targets in graph.items():
        if name.startswith("segxai_jax"):
            assert not {t for t in targets if t.split(".")[0] != "segxai_jax"}, name


def test_explainers_and_metrics_never_import_a_model(graph):
    for name, targets in graph.items():
        if name.startswith(("segxai_jax.explainers", "segxai_jax.metrics")):
            models = {t for t in targets if t.startswith("segxai_jax.models")}
            assert not models, (name, models)
            private = {t for t in targets if t.rsplit(".", 1)[-1].startswith("_")}
            assert not {t for t in private if ".metrics." not in t}, (name, private)


def test_experiments_top_level_is_main_shared_and_one_folder_each():
    from experiments.main import EXPERIMENTS

    entries = {p.name for p in (ROOT / "experiments").iterdir()} - {"__pycache__"}
    assert entries == {"__init__.py", "main.py", "shared", *EXPERIMENTS}
    for name in EXPERIMENTS:
        folder = ROOT / "experiments" / name
        for file in EXPERIMENT_FILES:
            assert (folder / file).is_file(), f"{name}/{file}"


def test_a_config_reaches_its_report_through_three_files(graph):
    """main.py -> <name>/run.py -> <name>/report.py, nothing in between."""
    from experiments.main import EXPERIMENTS

    for name in EXPERIMENTS:
        assert f"experiments.{name}.report" in graph[f"experiments.{name}.run"], name


def test_no_module_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
