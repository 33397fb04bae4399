"""Token layers of transformer segmenters as activation maps on the patch grid.

A ViT-style segmenter's blocks output tokens ``[N, C]``: optionally a few
prefix tokens (a class token, register tokens) and then one token per patch,
row by row. :func:`token_probe` wraps a probe at such a layer so that the
activation-space methods see ``A [gh, gw, C]`` (the patch tokens on their
grid) and their edits act on the patch tokens only; the prefix tokens pass
through unchanged. Grad-CAM on ViT token layers (Chefer et al., CVPR 2021,
Grad-CAM baseline; pytorch-grad-cam's ``reshape_transform``) reads tokens the
same way.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.types import Probe


def token_grid(num_tokens: int, grid=None, num_prefix_tokens=None):
    """``((gh, gw), num_prefix_tokens)`` for a token layer of ``num_tokens``.

    Args:
      num_tokens: ``N`` of the layer's ``[N, C]`` output.
      grid: ``(gh, gw)``; ``None`` = the largest square grid that fits, its
        remainder being prefix tokens (e.g. 1 + 16 x 16 -> a class token).
      num_prefix_tokens: tokens before the patch tokens; ``None`` = whatever
        ``grid`` leaves.

    Raises:
      ValueError: the grid and the prefix do not add up to ``num_tokens``.
    """
    if grid is None:
        prefix = (
            0
            if num_prefix_tokens is None
            else validation.check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
        )
        side = math.isqrt(num_tokens - prefix) if num_tokens > prefix else 0
        if num_prefix_tokens is None:
            prefix = num_tokens - side * side
        grid = (side, side)
    else:
        grid = validation.check_int_sequence(grid, "grid", length=2, minimum=1)
        if num_prefix_tokens is None:
            prefix = num_tokens - grid[0] * grid[1]
        else:
            prefix = validation.check_int(
                num_prefix_tokens, "num_prefix_tokens", minimum=0
            )
    if grid[0] < 1 or prefix < 0 or prefix + grid[0] * grid[1] != num_tokens:
        raise ValueError(
            f"grid/num_prefix_tokens: {num_tokens} tokens are not "
            f"{prefix} prefix tokens + a {grid[0]} x {grid[1]} patch grid; pass "
            "grid=(gh, gw) and num_prefix_tokens explicitly"
        )
    return grid, prefix


def token_probe(probe: Probe, grid=None, *, num_prefix_tokens=None) -> Probe:
    """A probe at a token layer ``[N, C]`` that shows ``A [gh, gw, C]``.

    Args:
      probe: a probe whose activations are tokens ``[N, C]`` (e.g.
        ``make_probe(vit, "blocks_3", input_shape=(64, 64, 3))``).
      grid: the patch grid ``(gh, gw)``; ``None`` infers the largest square.
      num_prefix_tokens: class/register tokens before the patch tokens;
        ``None`` infers them from ``grid``.

    Returns:
      A :class:`~segxai_jax.types.Probe` named ``probe.name`` with
      ``activation_shape == (gh, gw, C)``; Seg-Grad-CAM and friends pool
      their weights over the grid and upsample the map to the image as for a
      convolutional layer.

    Raises:
      ValueError: the probe's activations are not ``[N, C]``, or the grid does
        not fit.
    """
    validation.check_instance(probe, "probe", Probe)
    shape = probe.activation_shape
    if shape is None or len(shape) != 2:
        raise ValueError(
            f"probe: expected a token layer with activations [N, C], got "
            f"activation_shape {shape}"
        )
    num_tokens, channels = shape
    (gh, gw), prefix = token_grid(num_tokens, grid, num_prefix_tokens)

    def to_grid(tokens):
        return tokens[prefix:].reshape(gh, gw, channels)

    def forward(params, x, edit):
        def token_edit(tokens):
            patches = edit(to_grid(tokens)).reshape(gh * gw, channels)
            return jnp.concatenate([tokens[:prefix], patches.astype(tokens.dtype)])

        logits, tokens = probe.forward(params, x, None if edit is None else token_edit)
        return logits, to_grid(tokens)

    return Probe(probe.name, forward, activation_shape=(gh, gw, channels))
