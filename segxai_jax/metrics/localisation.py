"""Localisation: does an explanation point at the ground-truth region?

Each function takes one saliency map ``[H, W]`` and a ground-truth mask
``[H, W]`` (bool or numbers; a pixel is inside when its value is ``> 0``) and
returns a float32 scalar in ``[0, 1]``, higher is better; ``jax.vmap`` handles
batches. The mask may be traced (its size ``|M|`` is then a traced number).

Ties between equally salient pixels are resolved against the explanation
(our choice): a flat or saturated map must not score well by the luck of pixel
order. So in :func:`pointing_game` every maximal pixel must hit by default, and
in the rank-based metrics tied pixels outside the mask come first.

Checks: shapes always; NaN/inf saliency and a mask without a positive pixel
raise ``ValueError`` when the arrays are concrete (outside ``jit``); under
``jit`` both give NaN (the score is undefined), never a plausible 0 or 1.

The arithmetic is compiled once per shape and option (an internal
``jax.jit``, inlined under an outer transformation), so eager calls in a loop
are cheap; the checks run before it, in Python.

References:
  Hedstroem et al. Quantus: an explainable AI toolkit for responsible
  evaluation of neural network explanations and beyond. JMLR 24(34), 2023.
  Arras, Osman, Samek. CLEVR-XAI: a benchmark dataset for the ground truth
  evaluation of neural network explanations. Information Fusion 81, 2022.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax.metrics._maps import (
    as_float,
    check_fraction,
    check_map,
    check_mask,
    safe_divide,
    top_k_count,
)

POINTING_TIES = ("all", "any", "first")


def _check(saliency, mask) -> None:
    check_map(saliency, name="saliency")
    check_mask(mask, saliency.shape)


def _inputs(saliency, mask) -> tuple[jax.Array, jax.Array]:
    return as_float(saliency), jnp.asarray(mask) > 0


def _defined(value, saliency, inside) -> jax.Array:
    """``value``, or NaN for an empty mask or a saliency holding NaN / inf."""
    undefined = ~jnp.any(inside) | ~jnp.all(jnp.isfinite(saliency))
    return jnp.where(undefined, jnp.nan, value).astype(jnp.float32)


def dilate(mask: jax.Array, radius: int) -> jax.Array:
    """Pixels within Euclidean distance ``radius`` of a pixel of ``mask``.

    Args:
      mask: bool ``[H, W]``.
      radius: static int >= 0 (0 returns ``mask``).

    Returns:
      bool ``[H, W]``.
    """
    if radius == 0:
        return mask
    offsets = np.arange(-radius, radius + 1)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius**2
    counts = jax.lax.conv_general_dilated(
        mask.astype(jnp.float32)[None, :, :, None],
        jnp.asarray(disk, jnp.float32)[:, :, None, None],
        window_strides=(1, 1),
        padding="SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )[0, :, :, 0]
    return counts > 0.5


def pointing_game(
    saliency: jax.Array,
    mask: jax.Array,
    *,
    tolerance: int = 0,
    ties: str = "all",
) -> jax.Array:
    """1 if the most salient pixel lies inside the (dilated) mask, else 0.

    Args:
      saliency: map ``[H, W]``.
      mask: ground truth ``[H, W]``.
      tolerance: a hit may miss the mask by up to this many pixels (Euclidean;
        the mask is dilated by a disk). Zhang et al. use 15 px at 224 px.
      ties: when several pixels share the maximum: ``"all"`` (default, our
        choice) = hit only if every one of them is inside, so a constant map
        misses unless the mask covers the whole image; ``"any"`` = one inside
        suffices; ``"first"`` = the first maximum in row-major order decides
        (``np.argmax``, as in Quantus).

    Returns:
      float32 ``1.0`` (hit) or ``0.0`` (miss).

    Examples:
      >>> import jax.numpy as jnp
      >>> mask = jnp.zeros((4, 4)).at[1:3, 1:3].set(1.0)
      >>> peak = jnp.zeros((4, 4)).at[3, 3].set(1.0)  # diagonal neighbour
      >>> float(pointing_game(peak, mask))
      0.0
      >>> float(pointing_game(peak, mask, tolerance=2))
      1.0

    References:
      Zhang, Bargal, Lin, Brandt, Shen, Sclaroff. Top-down neural attention by
      excitation backprop. IJCV 126, 2018 (ECCV 2016).
    """
    if ties not in POINTING_TIES:
        raise ValueError(f"ties: expected one of {POINTING_TIES}, got {ties!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | np.integer):
        raise ValueError(f"tolerance: expected an int >= 0, got {tolerance!r}")
    if tolerance < 0:
        raise ValueError(f"tolerance: expected an int >= 0, got {tolerance}")
    _check(saliency, mask)
    return _pointing_game(saliency, mask, int(tolerance), ties)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _pointing_game(saliency, mask, tolerance, ties):
    saliency, inside = _inputs(saliency, mask)
    inside = dilate(inside, tolerance)
    if ties == "first":
        hit = inside.reshape(-1)[jnp.argmax(saliency.reshape(-1))]
    else:
        maximal = saliency == jnp.max(saliency)
        if ties == "all":
            hit = jnp.all(inside | ~maximal)
        else:
            hit = jnp.any(inside & maximal)
    return _defined(hit.astype(jnp.float32), saliency, inside)


def relevance_mass(saliency: jax.Array, mask: jax.Array) -> jax.Array:
    """Share of the positive relevance that falls inside the mask.

    ``sum_{M} max(s, 0) / sum max(s, 0)`` (Arras et al.'s relevance mass
    accuracy: negative relevance is ignored). A map without positive relevance
    gives 0 (our choice: it puts no mass anywhere).

    Args:
      saliency: map ``[H, W]``.
      mask: ground truth ``[H, W]``.

    Returns:
      A float32 scalar in ``[0, 1]``.

    References:
      Arras, Osman, Samek. CLEVR-XAI. Information Fusion 81, 2022.
    """
    _check(saliency, mask)
    return _relevance_mass(saliency, mask)


@jax.jit
def _relevance_mass(saliency, mask):
    saliency, inside = _inputs(saliency, mask)
    positive = jnp.maximum(saliency, 0.0)
    mass = safe_divide(
        jnp.sum(jnp.where(inside, positive, 0.0)), jnp.sum(positive), 0.0
    )
    return _defined(mass, saliency, inside)


def _top_pixels(saliency: jax.Array, inside: jax.Array, k) -> jax.Array:
    """The ``k`` most salient pixels (flat bool), ties: outside the mask first."""
    flat, flat_inside = saliency.reshape(-1), inside.reshape(-1)
    # lexsort: last key is primary; stable, so remaining ties go by flat index.
    order = jnp.lexsort((flat_inside.astype(jnp.int32), -flat))
    ranks = (
        jnp.zeros(flat.shape, jnp.int32)
        .at[order]
        .set(jnp.arange(flat.size, dtype=jnp.int32))
    )
    return ranks < k


def relevance_rank(saliency: jax.Array, mask: jax.Array) -> jax.Array:
    """Share of the ``|M|`` most salient pixels that lie inside the mask.

    ``|M|`` is the number of mask pixels (Arras et al.'s relevance rank
    accuracy). Tied pixels outside the mask are ranked first (see the module
    docstring), so an all-zero map scores ``max(0, |M| - (H W - |M|)) / |M|``.

    Args:
      saliency: map ``[H, W]``.
      mask: ground truth ``[H, W]``.

    Returns:
      A float32 scalar in ``[0, 1]``.

    References:
      Arras, Osman, Samek. CLEVR-XAI. Information Fusion 81, 2022.
    """
    _check(saliency, mask)
    return _relevance_rank(saliency, mask)


@jax.jit
def _relevance_rank(saliency, mask):
    saliency, inside = _inputs(saliency, mask)
    size = jnp.sum(inside)
    top = _top_pixels(saliency, inside, size)
    hits = jnp.sum(top & inside.reshape(-1))
    rank = safe_divide(hits.astype(jnp.float32), size.astype(jnp.float32), 0.0)
    return _defined(rank, saliency, inside)


def top_k_iou_with_mask(
    saliency: jax.Array, mask: jax.Array, *, k_fraction: float | None = None
) -> jax.Array:
    """Intersection over union of the ``k`` most salient pixels and the mask.

    Args:
      saliency: map ``[H, W]``.
      mask: ground truth ``[H, W]``.
      k_fraction: ``k = ceil(k_fraction * H * W)`` for a static number in
        ``(0, 1]``; ``None`` (default) takes ``k = |M|``, so that a perfect
        explanation scores 1. Ties: pixels outside the mask first.

    Returns:
      A float32 scalar in ``[0, 1]``.
    """
    if k_fraction is not None:
        k_fraction = check_fraction(k_fraction)
    _check(saliency, mask)
    k = None if k_fraction is None else top_k_count(k_fraction, saliency.size)
    return _top_k_iou_with_mask(saliency, mask, k)


@functools.partial(jax.jit, static_argnums=2)
def _top_k_iou_with_mask(saliency, mask, k):
    saliency, inside = _inputs(saliency, mask)
    size = jnp.sum(inside)
    k = size if k is None else k
    top = _top_pixels(saliency, inside, k)
    intersection = jnp.sum(top & inside.reshape(-1)).astype(jnp.float32)
    union = (jnp.sum(top) + size).astype(jnp.float32) - intersection
    return _defined(safe_divide(intersection, union, 0.0), saliency, inside)
