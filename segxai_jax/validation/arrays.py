"""Arrays: float images and maps, integer label maps, class counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from segxai_jax.validation.scalars import _describe, is_concrete


def _shape(x) -> tuple | None:
    shape = getattr(x, "shape", None)
    return None if shape is None else tuple(shape)


def check_float_array(x: Any, name: str, *, ndim: int | Sequence[int], what: str):
    """A floating-point array of rank ``ndim`` (one rank or several allowed).

    Args:
      x: a jax or NumPy array (or a tracer).
      name: the argument's name.
      ndim: allowed rank(s).
      what: the expected layout for the message, e.g. ``"one image [H, W, C]"``.

    Raises:
      TypeError: not an array, or an integer/bool array.
      ValueError: a wrong rank.
    """
    ranks = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    shape = _shape(x)
    if shape is None or not hasattr(x, "dtype"):
        raise TypeError(f"{name}: expected {what} as an array, got {_describe(x)}")
    if len(shape) not in ranks:
        raise ValueError(f"{name}: expected {what}, got shape {shape}")
    # jnp.issubdtype: NumPy does not count bfloat16 (an ml_dtypes type) as a float.
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{name}: expected {what} of floats (e.g. float32 in [0, 1]), got dtype "
            f"{x.dtype}; convert with x.astype(jnp.float32) / 255 for uint8 images"
        )
    return x


def check_finite(x: Any, name: str, value_range=None) -> None:
    """Finite values (and within ``value_range``) when ``x`` is concrete."""
    if not is_concrete(x):
        return
    values = np.asarray(x)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")
    if value_range is not None and values.size:
        low, high = value_range
        if values.min() < low or values.max() > high:
            raise ValueError(
                f"{name}: expected values in [{low}, {high}], got min "
                f"{values.min():.4g} max {values.max():.4g}"
            )


def check_label_array(
    labels: Any,
    name: str,
    *,
    num_classes: int | None = None,
    ignore_label: int | None = None,
    ndim: int | Sequence[int] | None = None,
):
    """An integer label map (any integer dtype) with values in ``[0, K)``.

    Args:
      labels: integer array.
      name: the argument's name.
      num_classes: K; values are checked when concrete (``None``: only >= 0).
      ignore_label: one more allowed value (pixels left out of scores).
      ndim: allowed rank(s), or ``None``.

    Raises:
      TypeError: not an integer array (float label maps such as ``1.5`` would be
        truncated silently).
      ValueError: wrong rank or a value outside ``[0, K)``.
    """
    shape = _shape(labels)
    if shape is None or not hasattr(labels, "dtype"):
        raise TypeError(
            f"{name}: expected an integer label array, got {_describe(labels)}"
        )
    if ndim is not None:
        ranks = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if len(shape) not in ranks:
            raise ValueError(f"{name}: expected an array of rank {ranks}, got {shape}")
    if not np.issubdtype(np.dtype(labels.dtype), np.integer):
        raise TypeError(
            f"{name}: expected integer class labels, got dtype {labels.dtype}"
        )
    if not is_concrete(labels) or not np.size(labels):
        return labels
    values = np.asarray(labels)
    bad = values < 0
    if num_classes is not None:
        bad |= values >= num_classes
    if ignore_label is not None:
        bad &= values != ignore_label
    if np.any(bad):
        upper = "" if num_classes is None else f", {num_classes}"
        also = "" if ignore_label is None else f" or the ignore label {ignore_label}"
        raise ValueError(
            f"{name}: expected class labels in [0{upper}){also}, got "
            f"{np.unique(values[bad])[:8].tolist()} (the model or num_classes "
            "has fewer classes than the data)"
        )
    return labels


def check_num_classes(model_classes: int, num_classes: int, name: str = "num_classes"):
    """The model's output ``K`` (its logits' last axis) equals ``num_classes``."""
    if model_classes != num_classes:
        raise ValueError(
            f"{name}: expected the model's number of output classes "
            f"({model_classes}, the logits' last axis), got {num_classes}"
        )


def as_integer_labels(labels: Any, name: str) -> np.ndarray:
    """Class labels as ``int32``, never rounded silently.

    Integer and boolean arrays are cast; a float array is accepted when every
    value is a whole number (label maps stored as floats), and refused naming
    the first fractional or non-finite value otherwise (``astype`` would
    truncate 1.5 to 1 without a word).

    Args:
      labels: a label array (NumPy or concrete JAX).
      name: the argument's name.

    Returns:
      ``int32`` array of the same shape.
    """
    values = np.asarray(labels)
    if values.dtype == bool or np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int32)
    if not np.issubdtype(values.dtype, np.floating):
        raise TypeError(
            f"{name}: expected integer class labels, got dtype {values.dtype}"
        )
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values != np.round(values))
    if np.any(bad):
        raise ValueError(
            f"{name}: expected integer class labels, got the value "
            f"{values[bad].flat[0].item()!r}; round or threshold the mask first"
        )
    return values.astype(np.int32)
