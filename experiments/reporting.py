"""Small helpers shared by experiment runners: tables, JSON, timing."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from segxai_jax.training import write_atomic


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


def to_strict_json(value):
    """``value`` with NumPy types as Python ones and NaN / inf as ``None``.

    Strict JSON has no NaN: an undefined metric is written as ``null`` so that
    any JSON parser reads ``results.json``.
    """
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): to_strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, payload) -> None:
    """Atomic strict-JSON write (see :func:`to_strict_json`)."""
    text = json.dumps(to_strict_json(payload), indent=2, default=str, allow_nan=False)
    write_atomic(path, text + "\n")


class Timer:
    """Named wall-clock sections: ``with timer("train"): ...``; ``timer.seconds``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + (
                time.perf_counter() - start
            )
