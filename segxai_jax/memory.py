"""Memory-bounded sweeps: chunk sizes chosen from XLA's memory analysis.

SmoothGrad, integrated gradients, occlusion and Seg-Ablation-CAM evaluate many
perturbed copies of one input; ``chunk_size`` copies are vectorised together,
and that decides the memory. With ``memory_budget=bytes`` the explainer picks
the largest chunk whose compiled program fits: it compiles the program for
candidate chunk sizes (powers of two up to the number of copies, bisected:
memory grows with the chunk) on abstract inputs of the call's shapes, reads
the peak from ``Compiled.memory_analysis()``, and keeps the largest that
fits. This happens once per input shape, at trace time (the choice is cached),
so a jitted explainer pays it in its first compilation only.

The peak is XLA's own account of the program's buffers: arguments + outputs
+ temporaries (the temporaries' buffer assignment already overlaps buffers
whose lifetimes do not meet); allocator overheads outside the program are not
in it.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable

import jax

from segxai_jax import validation

_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()
_IDS = itertools.count()
_CHOICES: dict[str, int] = {}


def last_choices() -> dict[str, int]:
    """The chunk sizes chosen most recently, by swept items (``"images"``, ...)."""
    with _CACHE_LOCK:
        return dict(_CHOICES)


def new_cache_key() -> int:
    """A fresh identity for one explainer's configuration (never reused)."""
    return next(_IDS)


def check_memory_budget(memory_budget) -> int | None:
    """``None`` or a positive number of bytes."""
    if memory_budget is None:
        return None
    return validation.check_int(memory_budget, "memory_budget", minimum=1)


def abstract(tree):
    """``jax.ShapeDtypeStruct`` of every array leaf (tracers included)."""

    def leaf(x):
        if hasattr(x, "shape") and hasattr(x, "dtype"):
            return jax.ShapeDtypeStruct(x.shape, x.dtype)
        return x

    return jax.tree_util.tree_map(leaf, tree)


def peak_bytes(compiled) -> int | None:
    """Peak bytes of a compiled program (XLA's memory analysis), or ``None``."""
    try:
        stats = compiled.memory_analysis()
    except Exception:  # backends without memory analysis raise various errors
        return None
    if stats is None:
        return None
    # temp_size is XLA's buffer assignment for the temporaries (lifetimes
    # already overlapped); peak_memory_in_bytes is not filled in on every
    # backend (on CPU it omits the temporaries), so the sum is used.
    return int(
        stats.argument_size_in_bytes
        + stats.output_size_in_bytes
        + stats.temp_size_in_bytes
        - stats.alias_size_in_bytes
    )


def program_peak_bytes(fn: Callable, *args) -> int | None:
    """Peak bytes of ``jax.jit(fn)`` compiled for the shapes of ``args``."""
    return peak_bytes(jax.jit(fn).lower(*abstract(args)).compile())


def candidate_chunks(total: int, largest: int | None = None) -> list[int]:
    """1, 2, 4, ... up to ``min(total, largest)`` (that bound included)."""
    bound = total if largest is None else min(total, largest)
    chunks = [2**k for k in range(int(math.log2(bound)) + 1)]
    if chunks[-1] != bound:
        chunks.append(bound)
    return chunks


def chunk_for_budget(
    build: Callable[[int], Callable],
    args: tuple,
    *,
    total: int,
    memory_budget: int,
    largest: int | None = None,
    what: str = "samples",
    cache_key=None,
) -> int:
    """The largest chunk size whose program ``build(chunk)(*args)`` fits.

    Args:
      build: ``build(chunk) -> fn``, the program with that chunk size.
      args: the call's arguments (arrays, tracers or shape structs).
      total: how many items the sweep has (the largest useful chunk).
      memory_budget: bytes.
      largest: an upper bound on the chunk (e.g. the user's ``chunk_size``).
      what: the items' name for the error message.
      cache_key: hashable identity of ``build``'s configuration; with it the
        choice is remembered per argument shapes.

    Raises:
      ValueError: even a chunk of 1 needs more than ``memory_budget``; the
        message gives the bytes it needs.
    """
    specs = abstract(args)
    key = None
    if cache_key is not None:
        leaves, structure = jax.tree_util.tree_flatten(specs)
        shapes = tuple(
            (getattr(x, "shape", x), str(getattr(x, "dtype", ""))) for x in leaves
        )
        key = (cache_key, str(structure), shapes, memory_budget, total, largest)
        with _CACHE_LOCK:
            if key in _CACHE:
                return _CACHE[key]
    chunks = candidate_chunks(total, largest)
    measured: dict[int, int | None] = {}

    def fits(chunk: int) -> bool:
        if chunk not in measured:
            measured[chunk] = program_peak_bytes(build(chunk), *specs)
        peak = measured[chunk]
        return peak is None or peak <= memory_budget

    if not fits(chunks[0]):
        raise ValueError(
            f"memory_budget: {memory_budget} bytes is below the {measured[chunks[0]]} "
            f"bytes that one chunk of 1 of the {total} {what} needs (XLA memory "
            "analysis); raise the budget or shrink the input"
        )
    low, high = 0, len(chunks) - 1  # chunks[low] fits
    while low < high:
        middle = (low + high + 1) // 2
        if fits(chunks[middle]):
            low = middle
        else:
            high = middle - 1
    chosen = chunks[low]
    with _CACHE_LOCK:
        _CHOICES[what] = chosen
        if key is not None:
            _CACHE[key] = chosen
    return chosen


def budgeted(
    with_chunks: Callable[[int | None], Callable],
    *,
    chunk_size: int | None,
    memory_budget: int | None,
    total_of: Callable[..., int],
    what: str,
) -> Callable:
    """``explain(*args)`` running ``with_chunks(chunk)``, the chunk fit to a budget.

    Args:
      with_chunks: ``with_chunks(chunk) -> explain`` (the sweep's program).
      chunk_size: the chunk without a budget; with one, its upper bound.
      memory_budget: bytes, or ``None`` (then ``chunk_size`` is used).
      total_of: ``total_of(*args) -> int``, the sweep's length for a call.
      what: the swept items' name, for the error message.
    """
    if memory_budget is None:
        return with_chunks(chunk_size)
    cache_key = new_cache_key()

    def explain(*args):
        chunk = chunk_for_budget(
            with_chunks,
            args,
            total=total_of(*args),
            memory_budget=memory_budget,
            largest=chunk_size,
            what=what,
            cache_key=cache_key,
        )
        return with_chunks(chunk)(*args)

    return explain
