"""What every experiment writes: strict JSON, stage timings, the environment."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np

from experiments.shared.findings import Finding, finding_dict
from segxai_jax.training import write_atomic


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


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def isa_level() -> str:
    """``"AVX-512"``, ``"AVX2"`` or ``"other"``: the CPU kinds timings differ by."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "other"


def environment() -> dict:
    """Versions, devices and the CPU kind, for ``results.json``."""
    import flax
    import jaxlib

    return {
        "cpu": cpu_model(),
        "isa": isa_level(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "flax": flax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "compilation_cache_dir": jax.config.jax_compilation_cache_dir,
    }


def write_results(
    workdir: Path,
    results: dict,
    *,
    findings: Sequence[Finding],
    figures: dict,
    seconds: dict[str, float],
    report: Callable[[dict], str],
) -> dict:
    """Completes an experiment's results and writes them with its report.

    Appends, in this order, ``findings`` (as dicts), ``figures``, ``seconds``
    and the environment to ``results``, then writes ``results.json`` and
    ``report.md`` (``report(results)``) into ``workdir``.

    Args:
      workdir: the experiment's output folder.
      results: the experiment's own entries (teacher, options, summaries...).
      findings: the verdicts of the run.
      figures: figure name -> file name.
      seconds: stage name -> wall time (e.g. ``Timer.seconds``).
      report: renders the markdown report from the completed results.

    Returns:
      The completed results.
    """
    results = {
        **results,
        "findings": [finding_dict(f) for f in findings],
        "figures": figures,
        "seconds": seconds,
        "environment": environment(),
    }
    write_json(workdir / "results.json", results)
    write_atomic(workdir / "report.md", report(results))
    return results
