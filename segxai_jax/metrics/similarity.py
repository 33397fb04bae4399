"""Similarity of two explanation maps.

Each function compares two maps ``a, b: [H, W]`` and returns a float scalar;
``jax.vmap`` compares batches. The same functions serve three purposes: the
randomisation and robustness metrics (how much does an explanation change),
the fitness of CAM-NAS (teacher vs student explanation) and the loss and report
of the attack on explanations (manipulated vs target explanation). For the last
two they must be differentiable: :func:`inverse_euclidean`, :func:`pearson`,
:func:`cosine` and :func:`ssim` have finite gradients everywhere, including at
identical maps and at the constant-map edge cases, where a defined value
replaces the undefined ``0 / 0`` (gradient: that of the defined value, i.e. 0).
:func:`spearman` and :func:`top_k_iou` depend on the input only through an
ordering, so their gradient is zero wherever it exists.

Every similarity of a (non-constant) map with itself is 1. Shape checks run
always; NaN/inf inputs are rejected only when the maps are concrete (outside
``jit``).

The arithmetic is compiled once per shape and option (an internal
``jax.jit``, inlined under an outer transformation), so eager calls in a loop
are cheap; the checks run before it, in Python.

References:
  Hedstroem, Weber, Krakowczyk, Bareeva, Motzkus, Samek, Lapuschkin, Hoehne.
  Quantus: an explainable AI toolkit for responsible evaluation of neural
  network explanations and beyond. JMLR 24(34), 2023.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax.metrics._maps import (
    as_float,
    check_fraction,
    check_pair,
    descending_ranks,
    is_constant,
    safe_divide,
    safe_sqrt,
    top_k_count,
)
from segxai_jax.postprocess import min_max, normalize_sum

NORMALIZATIONS = ("min_max", "sum", "none")
SSIM_WINDOWS = ("gaussian", "uniform")


def _normalize(saliency: jax.Array, normalization: str) -> jax.Array:
    if normalization == "min_max":
        return min_max(saliency)
    if normalization == "sum":
        return normalize_sum(saliency)
    return saliency


def inverse_euclidean(
    a: jax.Array, b: jax.Array, *, normalization: str = "min_max"
) -> jax.Array:
    """``1 / (1 + ||a' - b'||_2)`` of the normalised maps ``a'``, ``b'``.

    The fitness of CAM-NAS is the inverse Euclidean distance between a
    teacher's and a student's explanation of the same image. The paper says the
    maps are normalised but not how; the default (our choice) min-max normalises
    each map to ``[0, 1]`` (a constant map becomes zeros), which makes maps of
    differently scaled networks comparable. The ``1 +`` keeps the value in
    ``(0, 1]`` (1 for equal maps) without an epsilon. The distance is the plain
    L2 norm over all ``H * W`` pixels, so values for different map sizes are
    not comparable.

    Args:
      a: map ``[H, W]``.
      b: map ``[H, W]``.
      normalization: ``"min_max"`` (default), ``"sum"`` (divide by the sum of
        absolute values, as Dombrowski et al. 2019 do before comparing) or
        ``"none"``.

    Returns:
      A scalar in ``(0, 1]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> a = jnp.zeros((2, 2)).at[0, 0].set(1.0)
      >>> float(inverse_euclidean(a, 5 * a)), float(inverse_euclidean(a, 1 - a))
      (1.0, 0.3333333432674408)

    References:
      Zhang, Wang, Joe. CAM-NAS: an efficient and interpretable neural
      architecture search model based on class activation mapping. Applied
      Sciences 13(17), 9686, 2023.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"normalization: expected one of {NORMALIZATIONS}, got {normalization!r}"
        )
    check_pair(a, b)
    return _inverse_euclidean(a, b, normalization)


@functools.partial(jax.jit, static_argnums=2)
def _inverse_euclidean(a, b, normalization):
    a = _normalize(as_float(a), normalization)
    b = _normalize(as_float(b), normalization)
    return 1.0 / (1.0 + safe_sqrt(jnp.sum(jnp.square(a - b))))


@jax.jit
def _correlation(a: jax.Array, b: jax.Array) -> jax.Array:
    """Pearson correlation; 0 when either input is constant."""
    undefined = is_constant(a) | is_constant(b)
    da, db = a - jnp.mean(a), b - jnp.mean(b)
    norm_a = safe_sqrt(jnp.sum(jnp.square(da)))
    norm_b = safe_sqrt(jnp.sum(jnp.square(db)))
    denominator = jnp.where(undefined, 0.0, norm_a * norm_b)
    r = safe_divide(jnp.sum(da * db), denominator, 0.0)
    return jnp.clip(r, -1.0, 1.0)


def pearson(a: jax.Array, b: jax.Array) -> jax.Array:
    """Pearson correlation coefficient of the pixel values of two maps.

    Invariant to positive affine rescaling of either map. A constant map
    (all pixels exactly equal) has no variance and the coefficient is undefined;
    it is defined as 0 here (no linear association can be measured), also for
    two identical constant maps.

    Args:
      a: map ``[H, W]``.
      b: map ``[H, W]``.

    Returns:
      A scalar in ``[-1, 1]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> a = jnp.arange(12.0).reshape(3, 4)
      >>> float(pearson(a, 2 * a + 1)), float(pearson(a, jnp.ones((3, 4))))
      (1.0, 0.0)
      >>> maps = jnp.stack([a, -a])  # batches: vmap
      >>> jax.vmap(pearson, in_axes=(None, 0))(a, maps).tolist()
      [1.0, -1.0]

    References:
      Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim. Sanity checks for
      saliency maps. NeurIPS 2018 (used to compare explanations).
    """
    check_pair(a, b)
    return _correlation(as_float(a), as_float(b))


@jax.jit
def average_ranks(values: jax.Array) -> jax.Array:
    """0-based ranks of the elements of ``values`` (any shape), ties averaged.

    The smallest value has rank 0; ``k`` equal values sharing positions
    ``r .. r + k - 1`` all get ``r + (k - 1) / 2`` ("fractional ranking", as in
    ``scipy.stats.rankdata(method="average") - 1``).

    Returns:
      Float ranks with the shape of ``values``.
    """
    flat = values.reshape(-1)
    ordered = jnp.sort(flat)
    below = jnp.searchsorted(ordered, flat, side="left")
    not_above = jnp.searchsorted(ordered, flat, side="right")
    ranks = (below + not_above - 1).astype(jnp.float32) / 2.0
    return ranks.reshape(values.shape)


def spearman(a: jax.Array, b: jax.Array) -> jax.Array:
    """Spearman rank correlation: Pearson correlation of the pixels' ranks.

    Ties (frequent in saliency maps: ReLU zeros) get their average rank, the
    standard definition. A constant map gives 0, as in :func:`pearson`.
    Ranks are piecewise constant in the values, so the gradient is zero
    wherever it exists; use :func:`pearson` in a differentiable objective.

    Args:
      a: map ``[H, W]``.
      b: map ``[H, W]``.

    Returns:
      A scalar in ``[-1, 1]``.

    References:
      Spearman. The proof and measurement of association between two things.
      American Journal of Psychology 15(1), 1904. Adebayo et al., Sanity checks
      for saliency maps, NeurIPS 2018 (rank correlation of explanations).
    """
    check_pair(a, b)
    return _spearman(a, b)


@jax.jit
def _spearman(a, b):
    return _correlation(average_ranks(as_float(a)), average_ranks(as_float(b)))


def cosine(a: jax.Array, b: jax.Array) -> jax.Array:
    """Cosine of the angle between two maps seen as vectors of ``H * W`` pixels.

    Invariant to positive rescaling, not to offsets. An all-zero map (or one
    whose squares underflow) has no direction; the value is defined as 0.

    Args:
      a: map ``[H, W]``.
      b: map ``[H, W]``.

    Returns:
      A scalar in ``[-1, 1]``.
    """
    check_pair(a, b)
    return _cosine(a, b)


@jax.jit
def _cosine(a, b):
    a, b = as_float(a), as_float(b)
    denominator = safe_sqrt(jnp.sum(jnp.square(a))) * safe_sqrt(jnp.sum(jnp.square(b)))
    return jnp.clip(safe_divide(jnp.sum(a * b), denominator, 0.0), -1.0, 1.0)


def _ssim_window(window: str) -> np.ndarray:
    if window == "gaussian":  # Wang et al.: 11 x 11, sigma 1.5
        offsets = np.arange(11) - 5.0
        profile = np.exp(-(offsets**2) / (2 * 1.5**2))
    else:  # skimage's default: 7 x 7 uniform
        profile = np.ones(7)
    profile = profile / profile.sum()
    return np.outer(profile, profile).astype(np.float32)


def ssim(
    a: jax.Array,
    b: jax.Array,
    *,
    data_range: float | None = None,
    window: str = "gaussian",
) -> jax.Array:
    """Mean structural similarity index (single scale) of two maps.

    Local means, variances and the covariance are weighted averages over a
    window (population estimates, as in Wang et al.'s reference code) computed
    only where the window fits inside the map ("valid" region), with
    ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` for the data range ``L``::

      SSIM = mean over positions of
        (2 mu_a mu_b + C1) (2 cov_ab + C2)
        / ((mu_a^2 + mu_b^2 + C1) (var_a + var_b + C2)).

    Saliency maps have no natural data range. With ``data_range=None`` (the
    default, our choice, as in the SSIM comparisons of Adebayo et al. 2018)
    each map is min-max normalised to ``[0, 1]`` (a constant map becomes zeros)
    and ``L = 1``. With a number, the maps are used as given with that ``L``.
    ``C1, C2 > 0`` keep every value defined: two constant maps give 1 if
    equal.

    Args:
      a: map ``[H, W]``, at least the window's size in both dimensions.
      b: map ``[H, W]``.
      data_range: ``L`` (> 0), or ``None`` to min-max normalise both maps.
      window: ``"gaussian"`` (11 x 11, sigma 1.5, Wang et al.'s) or
        ``"uniform"`` (7 x 7, scikit-image's default).

    Returns:
      A scalar in ``[-1, 1]``.

    References:
      Wang, Bovik, Sheikh, Simoncelli. Image quality assessment: from error
      visibility to structural similarity. IEEE Trans. Image Processing 13(4),
      2004.
    """
    if window not in SSIM_WINDOWS:
        raise ValueError(f"window: expected one of {SSIM_WINDOWS}, got {window!r}")
    if data_range is not None and not (
        isinstance(data_range, int | float | np.number)
        and np.isfinite(data_range)
        and data_range > 0
    ):
        raise ValueError(f"data_range: expected None or a number > 0, got {data_range}")
    check_pair(a, b)
    kernel = _ssim_window(window)
    size = kernel.shape[0]
    if min(a.shape) < size:
        raise ValueError(
            f"a: expected maps of at least {size} x {size} for the {window} window, "
            f"got {tuple(a.shape)}"
        )
    return _ssim(a, b, None if data_range is None else float(data_range), window)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _ssim(a, b, data_range, window):
    kernel = _ssim_window(window)
    a, b = as_float(a), as_float(b)
    if data_range is None:
        a, b, data_range = min_max(a), min_max(b), 1.0
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    stacked = jnp.stack([a, b, a * a, b * b, a * b], axis=-1)[None]  # [1, H, W, 5]
    weights = jnp.asarray(np.tile(kernel[:, :, None, None], (1, 1, 1, 5)), a.dtype)
    local = jax.lax.conv_general_dilated(
        stacked,
        weights,
        window_strides=(1, 1),
        padding="VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=5,
    )[0]  # [H - size + 1, W - size + 1, 5]
    mu_a, mu_b = local[..., 0], local[..., 1]
    var_a = local[..., 2] - mu_a * mu_a
    var_b = local[..., 3] - mu_b * mu_b
    cov = local[..., 4] - mu_a * mu_b
    numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    denominator = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return jnp.mean(numerator / denominator)


def top_k_iou(a: jax.Array, b: jax.Array, k_fraction: float) -> jax.Array:
    """Intersection over union of the ``k`` most salient pixels of two maps.

    ``k = ceil(k_fraction * H * W)`` (at least 1). Exactly ``k`` pixels are
    taken from each map; ties are broken in favour of the lower flat index
    (row-major), so the value never depends on how many pixels tie.

    Args:
      a: map ``[H, W]``.
      b: map ``[H, W]``.
      k_fraction: share of pixels, a static Python number in ``(0, 1]``.

    Returns:
      A scalar in ``[0, 1]`` (1 for ``k_fraction = 1``).
    """
    k_fraction = check_fraction(k_fraction)
    check_pair(a, b)
    return _top_k_iou(a, b, top_k_count(k_fraction, a.size))


@functools.partial(jax.jit, static_argnums=2)
def _top_k_iou(a, b, k):
    top_a = descending_ranks(as_float(a).reshape(-1)) < k
    top_b = descending_ranks(as_float(b).reshape(-1)) < k
    intersection = jnp.sum(top_a & top_b).astype(jnp.float32)
    return intersection / (2 * k - intersection)
