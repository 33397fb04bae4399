"""The quickstart's cost table for every explainer, on the committed teacher.

The quickstart measures each method of ``experiments/shared/methods.py`` after
training its teacher; this script runs the same measurement
(``experiments.quickstart.measure.explain_and_time``, the quickstart's
settings) on the committed quickstart teacher, so the table can be refreshed
without retraining: four validation images per jitted call, each explained
for its largest predicted digit with the predicted region as ROI; time per
image = median of the timed calls / 4; compile = lowering + XLA compilation;
peak = XLA's memory analysis of the batch program.

Run::

    python benchmarks/method_costs.py            # ~2 minutes on 2 cores
    python benchmarks/method_costs.py --out /tmp/costs.json

Writes ``benchmarks/results/method_costs.json`` (rows, settings, CPU model,
ISA level, versions) and the markdown table beside it (``.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from experiments.quickstart.config import Config, get_config  # noqa: E402
from experiments.quickstart.measure import explain_and_time  # noqa: E402
from experiments.shared.data import load_data  # noqa: E402
from experiments.shared.options import config_to_dict, settings_from  # noqa: E402
from experiments.shared.results import environment, write_json  # noqa: E402
from experiments.shared.tables import markdown_table  # noqa: E402
from experiments.shared.teacher import resolve_teacher  # noqa: E402
from segxai_jax import runtime  # noqa: E402


def committed_teacher(settings: Config, workdir: Path):
    """``(model, params, data, info)``: the committed quickstart teacher and the
    validation split (refuses to train one: the benchmarks explain that one)."""
    borrowed = dataclasses.replace(settings.teacher, workdir="runs/quickstart")
    data = load_data(settings.data, splits=("validation",))
    model, params, info = resolve_teacher(
        borrowed, settings.data, data, workdir, seed=settings.seed
    )
    if info["trained_here"]:
        raise RuntimeError("expected the committed quickstart teacher")
    return model, params, data, info


def measure(settings: Config, workdir: Path) -> dict:
    """The cost rows of every method on the committed quickstart teacher."""
    model, params, data, info = committed_teacher(settings, workdir)
    explained = explain_and_time(
        workdir, model, params, data, settings.explain, seed=settings.seed
    )
    return {
        "teacher": info["dir"],
        "settings": config_to_dict(settings.explain),
        "rows": explained["methods"],
        "environment": environment(),
    }


def table(rows) -> str:
    return markdown_table(
        [
            "method",
            "settings",
            "passes per target",
            "ms / image",
            "compile s",
            "peak MiB (batch of 4)",
        ],
        [
            (
                r["method"],
                r["description"],
                r["passes"],
                f"{1000 * r['seconds_per_image']:.1f}",
                f"{r['compile_seconds']:.2f}",
                f"{r['peak_bytes'] / 2**20:.1f}" if r["peak_bytes"] else "n/a",
            )
            for r in rows
        ],
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default=str(REPOSITORY / "benchmarks" / "results" / "method_costs.json"),
    )
    args = parser.parse_args(argv)
    runtime.configure()
    settings = settings_from(Config, get_config())
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(settings, Path(tmp))
    text = table(result["rows"])
    result["command"] = "python benchmarks/method_costs.py"
    write_json(args.out, result)
    Path(os.path.splitext(args.out)[0] + ".md").write_text(text + "\n")
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
