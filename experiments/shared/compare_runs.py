"""Compares the numbers of two experiment runs, leaf by leaf.

Usage::

    python -m experiments.shared.compare_runs runs/a/results.json runs/b/results.json

Prints every numeric leaf that differs (and leaves present in one file only),
leaving out what is expected to differ between two runs of one program: wall
times, compile times, timings per call, paths and the environment. Exit code
0 when every compared number is bit-identical, 1 otherwise. Use it to check
that a change of code (a refactoring, a moved file) left results unchanged on
one machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Keys whose values are timings, paths or the machine: never compared.
IGNORED = (
    "seconds",
    "environment",
    "compile_seconds",
    "seconds_per_call",
    "seconds_per_item",
    "seconds_per_image",
    "train_seconds",
    "temp_bytes",
    "peak_bytes",  # XLA's buffer assignment differs between CPU kinds
    "dir",
    "teacher_dir",
    "candidates_per_second",
    "wall_seconds",
    "figures",
    "pareto_front",  # the cheapest methods' order follows measured times
    "units",  # bookkeeping of a study run in units: how many, where
    "invocation",  # what one invocation of a study ran
)


def numeric_leaves(tree, path: str = "") -> dict[str, object]:
    """``{"a.b[0]": value}`` of every number, string, bool and null leaf."""
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            if key in IGNORED or key.endswith("_seconds") or "seconds" in key:
                continue
            out.update(numeric_leaves(value, f"{path}.{key}" if path else key))
        return out
    if isinstance(tree, list):
        out = {}
        for i, value in enumerate(tree):
            out.update(numeric_leaves(value, f"{path}[{i}]"))
        return out
    return {path: tree}


def compare(a: dict, b: dict) -> tuple[int, list[str]]:
    """``(number of leaves compared, differences)``."""
    left, right = numeric_leaves(a), numeric_leaves(b)
    differences = []
    for key in sorted(set(left) | set(right)):
        if key not in left or key not in right:
            differences.append(f"{key}: only in {'first' if key in left else 'second'}")
        elif left[key] != right[key]:
            differences.append(f"{key}: {left[key]!r} != {right[key]!r}")
    return len(set(left) & set(right)), differences


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    a, b = (json.loads(Path(p).read_text()) for p in argv)
    count, differences = compare(a, b)
    for line in differences:
        print(line)
    print(f"{count} leaves compared, {len(differences)} differ")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
