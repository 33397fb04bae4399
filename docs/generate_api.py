"""Writes the function index of ``docs/api.md`` from the package's docstrings.

Usage::

    python docs/generate_api.py          # rewrite the index in docs/api.md
    python docs/generate_api.py --check  # exit 1 if docs/api.md is stale

The index lists every public name of every subpackage (its ``__all__``) with
the first line of its docstring, between the two ``<!-- index -->`` markers;
the rest of ``api.md`` (the examples) is written by hand.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parent / "api.md"
BEGIN, END = "<!-- index: begin -->", "<!-- index: end -->"
PACKAGES = (
    ("segxai_jax", "the functional API"),
    ("segxai_jax.explainers", "explainers"),
    ("segxai_jax.probes", "probes into any Flax model"),
    ("segxai_jax.metrics", "metrics"),
    ("segxai_jax.models", "models"),
    ("segxai_jax.data", "data"),
    ("segxai_jax.training", "training and checkpoints"),
    ("segxai_jax.attacks", "attacks on explanations"),
    ("segxai_jax.nas", "CAM-NAS"),
    ("segxai_jax.continual", "continual learning"),
    ("segxai_jax.viz", "figures"),
    ("segxai_jax.validation", "argument checks"),
)


ALIASES = {
    "ApplyFn": "type: ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``",
    "Explainer": "type: ``explain(key, params, x, target) -> attribution``",
}


def summary(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    if not doc or (inspect.isclass(obj) and doc.startswith(obj.__name__ + "(")):
        return ""
    return doc.splitlines()[0].strip()


def index() -> str:
    lines = [BEGIN, ""]
    for name, title in PACKAGES:
        module = importlib.import_module(name)
        lines += [f"### `{name}`: {title}", ""]
        lines += ["| name | what it is |", "| --- | --- |"]
        for public in sorted(module.__all__, key=str.lower):
            obj = getattr(module, public)
            if public in ALIASES:
                text = ALIASES[public]
            elif callable(obj) or inspect.isclass(obj):
                text = summary(obj)
            else:
                text = "constant"
            lines.append(f"| `{public}` | {text.replace('|', '/')} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render(page: str) -> str:
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + index() + tail


def main(argv: list[str]) -> int:
    page = PAGE.read_text()
    fresh = render(page)
    if "--check" in argv:
        if fresh != page:
            print(f"{PAGE} is stale: run python docs/generate_api.py")
            return 1
        return 0
    PAGE.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
