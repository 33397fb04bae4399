"""Memory-bounded evaluation of a function over the leading axis of its inputs.

Every sweep in the library (noise samples, integration steps, ablated channels,
occlusion windows) goes through :func:`map_chunked`, so one ``chunk_size`` knob
bounds memory everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import validation

STRATEGIES = ("unroll", "lax_map")
AUTO = "auto"
# ``chunk_size="auto"`` (SmoothGrad's default; integrated gradients): about
# this many input elements per chunk, and at least MIN_AUTO_CHUNK items. A
# 64x64 RGB image has 12,288 elements, so its 16 noise samples run as ONE
# chunk: one compiled copy of the network instead of four, a first call that
# compiles in about half the time (benchmarks/results/first_call*.json), and
# for SmoothGrad the same steady speed (benchmarks/results/sweep_chunks.json,
# interleaved); a 256x256 image keeps chunks of 4 (memory).
AUTO_CHUNK_ELEMENTS = 2**18
MIN_AUTO_CHUNK = 4


def check_chunk_size(chunk_size, name: str = "chunk_size", *, allow_auto=False) -> None:
    """``None`` or an int >= 1 (or ``"auto"`` where ``allow_auto``)."""
    if allow_auto and isinstance(chunk_size, str):
        validation.check_choice(chunk_size, name, (AUTO,))
        return
    validation.check_optional_int(chunk_size, name, minimum=1)


def auto_chunk_size(total: int, item_elements: int) -> int:
    """Equal chunks of at most ``max(4, 2**18 // item_elements)`` items.

    Args:
      total: the sweep's length N.
      item_elements: input elements one item processes (e.g. ``x.size``).

    Returns:
      The chunk size: N when everything fits in one chunk, else the smallest
      chunk that splits N into as few chunks as the limit allows.

    Examples:
      >>> auto_chunk_size(16, 64 * 64 * 3), auto_chunk_size(16, 256 * 256 * 3)
      (16, 4)
      >>> auto_chunk_size(50, 64 * 64 * 3)  # 3 chunks: 17, 17, 16
      17
    """
    limit = max(MIN_AUTO_CHUNK, AUTO_CHUNK_ELEMENTS // max(int(item_elements), 1))
    if limit >= total:
        return int(total)
    parts = -(-total // limit)
    return -(-total // parts)


def resolve_chunk_size(chunk_size, total: int, x) -> int | None:
    """``chunk_size``, with ``"auto"`` replaced by :func:`auto_chunk_size` for
    an input ``x`` (an array or a pytree of arrays)."""
    if chunk_size != AUTO:
        return chunk_size
    elements = sum(int(leaf.size) for leaf in jax.tree.leaves(x))
    return auto_chunk_size(total, elements)


def check_strategy(strategy, name: str = "strategy") -> None:
    """One of :data:`STRATEGIES`."""
    validation.check_choice(strategy, name, STRATEGIES)


def map_chunked(
    fn: Callable,
    xs,
    *,
    chunk_size: int | None,
    strategy: str = "unroll",
):
    """``jnp.stack([fn(x) for x in xs])`` computed ``chunk_size`` items at a time.

    Args:
      fn: maps one item (a pytree slice of ``xs`` without the leading axis) to a
        pytree of arrays.
      xs: pytree whose leaves share a leading axis of length N.
      chunk_size: items evaluated together by ``vmap``; ``None`` = all N at once.
      strategy: ``"unroll"`` calls one vmapped function per chunk (compile time grows
        with N / chunk_size; fastest on CPU, where loop bodies of
        ``lax.map``/``scan`` get slow convolution layouts); ``"lax_map"`` uses
        ``jax.lax.map(..., batch_size=chunk_size)`` (one traced body, constant
        compile time).

    Returns:
      Pytree of stacked results with leading axis N.
    """
    check_chunk_size(chunk_size)
    check_strategy(strategy)
    n = jax.tree.leaves(xs)[0].shape[0]
    if chunk_size is None or chunk_size >= n:
        return jax.vmap(fn)(xs)
    if strategy == "lax_map":
        return jax.lax.map(fn, xs, batch_size=chunk_size)
    # One jitted vmap for all chunks: traced once per chunk shape instead of
    # once per chunk (XLA inlines the calls, so the program is unchanged).
    batched = jax.jit(jax.vmap(fn))
    parts = []
    for start in range(0, n, chunk_size):
        chunk = jax.tree.map(lambda leaf, s=start: leaf[s : s + chunk_size], xs)
        parts.append(batched(chunk))
    return jax.tree.map(lambda *leaves: jnp.concatenate(leaves, axis=0), *parts)
