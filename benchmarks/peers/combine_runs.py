"""Combine several runs of ``timing.py`` into one table with ranges over runs.

One run of ``timing.py`` gives, per explainer, the median of its interleaved
calls. The VM's speed drifts between runs, so a ratio ours / peer is only
worth reporting with its spread over independent runs. This script reads
several ``timing.py`` JSON files of the SAME machine and setting and writes,
per method: the median over runs of ours / fastest peer (each run's ratio of
medians), its range, the range of the ratio of fastest calls, and the peer
configuration that was fastest most often.

Files of another machine (CPU model, ISA level, versions) or another setting
(model, options, batch, repeats) are refused, never merged: a ratio measured
on another machine says nothing about this one.

Run::

    for r in 1 2 3; do
      python benchmarks/peers/timing.py --repeats 9 \\
          --out benchmarks/results/peers_run$r.json
    done
    python benchmarks/peers/combine_runs.py benchmarks/results/peers_run{1,2,3}.json \\
        --out benchmarks/results/peers_runs.json
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
from pathlib import Path

# What must agree between runs before their ratios are put in one row.
_SAME_MACHINE = ("processor", "isa", "python", "jax", "torch", "captum", "grad_cam")
_SAME_SETTING = ("widths", "num_classes", "input_norm", "bottleneck_head")


class MismatchError(ValueError):
    """Runs of different machines or settings were given to one table."""


def _check_compatible(runs: list[dict], paths: list[str]) -> None:
    first, first_path = runs[0], paths[0]
    for run, path in zip(runs[1:], paths[1:], strict=True):
        for key in _SAME_MACHINE:
            a, b = first["versions"].get(key), run["versions"].get(key)
            if a != b:
                raise MismatchError(
                    f"{path}: versions[{key!r}] is {b!r} but {first_path} has "
                    f"{a!r}; runs of another machine are never merged into this "
                    "machine's table (pass only files of one machine)"
                )
        for key in _SAME_SETTING:
            a, b = first["setup"].get(key), run["setup"].get(key)
            if a != b:
                raise MismatchError(
                    f"{path}: setup[{key!r}] is {b!r} but {first_path} has {a!r}; "
                    "only runs of one setting can share a table"
                )
        if run["setup"].get("quick") or first["setup"].get("quick"):
            raise MismatchError(f"{path}: a --quick smoke run is not a measurement")


def _key(row: dict) -> tuple:
    options = json.dumps(row.get("options", {}), sort_keys=True)
    return row["method"], row.get("batch"), row.get("image_size"), options


def combine(runs: list[dict], paths: list[str]) -> dict:
    """Rows of several runs grouped per (method, batch, size, options).

    Args:
      runs: parsed ``timing.py`` results, at least one.
      paths: their file names (for error messages and the record).

    Returns:
      ``{"rows": [...], "runs": n, "versions": ..., "setup": ..., "sources": paths}``;
      each row holds the per-run ratios and ms and their medians and ranges.
    """
    if not runs:
        raise ValueError("runs: expected at least one timing.py result file")
    _check_compatible(runs, paths)
    grouped: dict[tuple, list[dict]] = collections.defaultdict(list)
    for run in runs:
        for row in run["rows"]:
            grouped[_key(row)].append(row)
    rows = []
    for key, group in grouped.items():
        ratios = [r["ratio"] for r in group]
        minima = [r["ratio_of_minima"] for r in group]
        configs = collections.Counter(r["peer_best_config"] for r in group)
        rows.append(
            {
                "method": key[0],
                "batch": key[1],
                "image_size": key[2],
                "options": group[0].get("options", {}),
                "ours_label": group[0]["ours_label"],
                "peer_label": group[0]["peer_label"],
                "runs": len(group),
                "calls_per_run": [len(r["raw_seconds"]["ours"]) for r in group],
                "ours_ms": [r["ours_ms"] for r in group],
                "peer_best_ms": [r["peer_best_ms"] for r in group],
                "peer_best_config": configs.most_common(1)[0][0],
                "ratio_per_run": ratios,
                "ratio_median": statistics.median(ratios),
                "ratio_range": [min(ratios), max(ratios)],
                "ratio_of_minima_per_run": minima,
                "ratio_of_minima_range": [min(minima), max(minima)],
            }
        )
    return {
        "runs": len(runs),
        "sources": paths,
        "versions": runs[0]["versions"],
        "setup": runs[0]["setup"],
        "rows": rows,
    }


def table(combined: dict) -> str:
    """Markdown: one line per method, medians over runs and ranges."""
    lines = [
        "| method | ours ms (median of runs) | fastest peer configuration "
        "| peer ms (median of runs) | ours / peer, median of runs | range over runs "
        "| of fastest calls, range |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in combined["rows"]:
        lo, hi = r["ratio_range"]
        mlo, mhi = r["ratio_of_minima_range"]
        lines.append(
            f"| {r['ours_label']} | {statistics.median(r['ours_ms']):.1f} "
            f"| {r['peer_label']} [{r['peer_best_config']}] "
            f"| {statistics.median(r['peer_best_ms']):.1f} "
            f"| {r['ratio_median']:.2f} | {lo:.2f}-{hi:.2f} | {mlo:.2f}-{mhi:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="timing.py JSON results")
    parser.add_argument(
        "--out", required=True, help="combined JSON (the markdown goes next to it)"
    )
    args = parser.parse_args(argv)
    runs = []
    for path in args.files:
        try:
            runs.append(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as error:
            parser.error(f"{path}: not a readable timing.py result ({error})")
    try:
        combined = combine(runs, args.files)
    except MismatchError as error:
        print(f"combine_runs.py refused: {error}", file=sys.stderr)
        return 2
    combined["command"] = (
        "python benchmarks/peers/combine_runs.py "
        + " ".join(args.files)
        + f" --out {args.out}"
    )
    out = Path(args.out)
    out.write_text(json.dumps(combined, indent=1) + "\n")
    out.with_suffix(".md").write_text(table(combined) + "\n")
    print(table(combined))
    return 0


if __name__ == "__main__":
    sys.exit(main())
