"""Process-level JAX settings for experiments and tests.

Two things make repeated runs on a CPU much faster and are safe to turn on:

* a persistent compilation cache (compiled XLA programs are reused across
  processes; the first model build otherwise costs several seconds);
* on jaxlib 0.10 for CPU, turning off the YNNPACK fusion
  (``--xla_cpu_experimental_ynn_fusion_type=``): those convolutions run on one
  core, so on a 2-core machine training and gradient explainers run ~1.3-1.5x
  faster without it (measured with ``benchmarks/sweep_strategies.py``). The flag
  is experimental and version-specific, so it is only added for jaxlib 0.10 and
  never when the user already set ``XLA_FLAGS`` with a YNN option.

Call :func:`configure` before the first JAX computation of the process.

Test suites of tiny programs, where compiling costs more than running, can
also ask for ``configure(fast_compile=True)``: XLA's backend (LLVM)
optimisation level 0. Never for experiments or benchmarks: the programs run
slower.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jax

_YNN_FLAG = "--xla_cpu_experimental_ynn_fusion_type="
_FAST_COMPILE_FLAG = "--xla_backend_optimization_level=0"

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$SEGXAI_JAX_CACHE_DIR`` or ``~/.cache/segxai_jax/xla``."""
    env = os.environ.get("SEGXAI_JAX_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "segxai_jax" / "xla"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Turns on JAX's persistent compilation cache in ``directory``."""
    directory = Path(directory) if directory else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory


def configure_cpu_flags() -> bool:
    """Adds the YNNPACK-off flag on jaxlib 0.10 unless the user chose otherwise.

    Returns:
      Whether the flag was added. It only takes effect if no JAX computation
      has run yet in this process.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "ynn" in flags or not jax.__version__.startswith("0.10."):
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {_YNN_FLAG}".strip()
    return True


def configure_fast_compile() -> bool:
    """Adds XLA's backend optimisation level 0 unless the user set a level.

    Compiling a program with an empty cache is then about a third faster
    (tests/nas/test_fitness.py: 60 -> 40 s on the 2-core CPU) and running it
    slower: for test suites of tiny programs only. Subprocesses inherit the
    flag through ``XLA_FLAGS``.

    Returns:
      Whether the flag was added (effective only before the first JAX
      computation of the process).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" in flags:
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {_FAST_COMPILE_FLAG}".strip()
    return True


def configure(
    *, cache_dir: str | os.PathLike | None = None, fast_compile: bool = False
) -> None:
    """Compilation cache plus CPU flags; call once at program start.

    Args:
      cache_dir: persistent compilation cache (default :func:`default_cache_dir`).
      fast_compile: also :func:`configure_fast_compile` (test suites).
    """
    configure_cpu_flags()
    if fast_compile:
        configure_fast_compile()
    enable_compilation_cache(cache_dir)
