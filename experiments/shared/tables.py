"""Markdown tables for the experiment reports, built from rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A GitHub markdown table; floats are printed with 4 significant digits."""

    def cell(value):
        if isinstance(value, float | np.floating):
            return "n/a" if math.isnan(value) else f"{value:.4g}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def wall_time_section(seconds: dict[str, float]) -> list[str]:
    """The "Wall time" section of a markdown report, as lines.

    Args:
      seconds: stage name -> seconds (e.g. ``Timer.seconds``).

    Returns:
      A heading, a blank line, a table of the stages and a closing blank line.
    """
    return [
        "## Wall time",
        "",
        markdown_table(["stage", "seconds"], list(seconds.items())),
        "",
    ]
