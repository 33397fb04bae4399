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


def check_chunk_size(chunk_size, name: str = "chunk_size") -> None:
    """``None`` or an int >= 1."""
    validation.check_optional_int(chunk_size, name, minimum=1)


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
