"""Argument checks shared by every public entry point of the library.

One rule everywhere: a bad argument is refused at once with an error that names
the argument, what was expected and what came.

* ``TypeError``: the wrong kind of object (a float where an int is meant, a
  bool where a number is meant, a tuple where a :class:`~segxai_jax.Target` is
  meant, an integer image where a float image is meant, an apply function where
  an explainer is meant).
* ``ValueError``: the right kind with a wrong value (out of range, NaN or inf,
  an unknown choice, a wrong shape, an empty region of interest).

Shapes are static under ``jax.jit``, so shape checks always run. Checks of
array VALUES (finite, within a range, a non-empty ROI, a class id below ``K``)
run only when the array is concrete, i.e. outside ``jit``/``vmap``/``grad``.
Under ``jit`` an invalid target makes the explained score NaN (see
:func:`segxai_jax.targets.target_score`), so every map, curve and metric built
on it is NaN instead of a plausible-looking zero map. Users who ``jit`` an
explainer can check concrete inputs once beforehand with
:func:`validate_explainer_inputs`.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from segxai_jax.types import Target


def is_concrete(x) -> bool:
    """True when ``x`` holds values (not a tracer inside ``jit``/``vmap``/``grad``)."""
    return not isinstance(x, jax.core.Tracer)


def _describe(value) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


# ----------------------------------------------------------------------------
# Python scalars and choices


def _bounds_text(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer (Python or NumPy, not bool) within ``[minimum, maximum]``.

    Returns:
      ``int(value)``.

    Raises:
      TypeError: not an integer (``4.5``, ``4.0``, ``True``, ``"4"``).
      ValueError: outside the bounds.
    """
    expected = f"an int{_bounds_text(minimum, maximum)}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: expected {expected}, got {_describe(value)}")
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(f"{name}: expected {expected}, got {int(value)}")
    return int(value)


def check_optional_int(value: Any, name: str, **bounds) -> int | None:
    """``None`` or :func:`check_int`."""
    return None if value is None else check_int(value, name, **bounds)


def check_real(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
) -> float:
    """A finite real number (int, float or NumPy scalar; not bool) within bounds.

    Args:
      value: the argument.
      name: its name, for the message.
      minimum: lower bound (inclusive unless ``exclusive_minimum``).
      maximum: upper bound (inclusive unless ``exclusive_maximum``).

    Returns:
      ``float(value)``.

    Raises:
      TypeError: not a real number.
      ValueError: NaN, inf or outside the bounds.
    """
    low = "" if minimum is None else (">" if exclusive_minimum else ">=")
    high = "" if maximum is None else ("<" if exclusive_maximum else "<=")
    parts = [f"{low} {minimum}" if low else "", f"{high} {maximum}" if high else ""]
    bounds = " and ".join(p for p in parts if p)
    expected = f"a finite number{' ' + bounds if bounds else ''}"
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(f"{name}: expected {expected}, got {_describe(value)}")
    number = float(value)
    bad = not math.isfinite(number)
    if minimum is not None:
        bad |= number <= minimum if exclusive_minimum else number < minimum
    if maximum is not None:
        bad |= number >= maximum if exclusive_maximum else number > maximum
    if bad:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return number


def check_optional_real(value: Any, name: str, **bounds) -> float | None:
    """``None`` or :func:`check_real`."""
    return None if value is None else check_real(value, name, **bounds)


def check_bool(value: Any, name: str) -> bool:
    """``True`` or ``False`` (or a NumPy bool); ``0``/``1`` are refused."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}: expected True or False, got {_describe(value)}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence) -> Any:
    """One of ``choices`` (compared with ``==``, so strings match strings only)."""
    if isinstance(value, str | int | float | type(None)) and any(
        type(value) is type(c) and value == c for c in choices
    ):
        return value
    raise ValueError(
        f"{name}: expected one of {tuple(choices)}, got {_describe(value)}"
    )


def check_int_sequence(
    value: Any,
    name: str,
    *,
    length: int | None = None,
    min_length: int = 1,
    minimum: int | None = None,
) -> tuple[int, ...]:
    """A non-string sequence of integers (each :func:`check_int`).

    Returns:
      The tuple of ints.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name}: expected a sequence of ints, got {_describe(value)}")
    items = tuple(value)
    if (length is not None and len(items) != length) or len(items) < min_length:
        wanted = length if length is not None else f"at least {min_length}"
        raise ValueError(f"{name}: expected {wanted} ints, got {len(items)}: {value!r}")
    return tuple(
        check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(items)
    )


def check_callable(value: Any, name: str, signature: str, num_args: int) -> Callable:
    """A callable accepting ``num_args`` positional arguments.

    ``signature`` describes the expected call (e.g. ``"apply_fn(params, x)"``)
    for the message. Callables whose signature cannot be inspected pass.

    Raises:
      TypeError: not callable, or a callable that cannot take ``num_args``
        positional arguments (e.g. an apply function given where an explainer
        ``explain(key, params, x, target)`` is expected).
    """
    if not callable(value):
        raise TypeError(
            f"{name}: expected a function {signature}, got {_describe(value)}"
        )
    try:
        parameters = inspect.signature(value).parameters.values()
    except (TypeError, ValueError):
        return value
    kinds = inspect.Parameter
    if any(p.kind == kinds.VAR_POSITIONAL for p in parameters):
        return value
    positional = [
        p
        for p in parameters
        if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    required = [p for p in positional if p.default is p.empty]
    if len(positional) < num_args or len(required) > num_args:
        raise TypeError(
            f"{name}: expected a function {signature} ({num_args} positional "
            f"arguments), got {getattr(value, '__name__', type(value).__name__)} "
            f"taking {len(positional)}"
        )
    return value


def check_instance(value: Any, name: str, cls, hint: str = "") -> Any:
    """``isinstance(value, cls)``; the message adds ``hint`` (how to build one)."""
    if not isinstance(value, cls):
        names = " or ".join(
            c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,))
        )
        extra = f" ({hint})" if hint else ""
        raise TypeError(f"{name}: expected a {names}{extra}, got {_describe(value)}")
    return value


def check_key(key: Any, name: str = "key") -> Any:
    """A JAX PRNG key: ``jax.random.key(seed)`` (or a legacy ``uint32 [2]`` key)."""
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if getattr(key, "ndim", 0) != 0:
            raise ValueError(f"{name}: expected one key, got shape {key.shape}")
        return key
    if dtype == np.uint32 and tuple(getattr(key, "shape", ())) == (2,):
        return key
    raise TypeError(
        f"{name}: expected a PRNG key such as jax.random.key(0), got {_describe(key)}"
    )


# ----------------------------------------------------------------------------
# Arrays


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
    if not np.issubdtype(np.dtype(x.dtype), np.floating):
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


# ----------------------------------------------------------------------------
# Explainer inputs: one image and one target


def check_image(x, *, name: str = "x", value_range=None) -> None:
    """One image ``[H, W, C]`` of floats; finite (and in range) if concrete."""
    check_float_array(x, name, ndim=3, what="one image [H, W, C]")
    check_finite(x, name, value_range)


def check_target(target, name: str = "target"):
    """A :class:`~segxai_jax.targets.Target` (not a ``(class, mask)`` tuple)."""
    return check_instance(
        target, name, Target, "build it with segxai_jax.make_target(class_id, mask)"
    )


def check_target_against(target, spatial_shape, *, name: str = "target") -> None:
    """A single target for an image of ``spatial_shape``; ROI non-empty if concrete."""
    check_target(target, name)
    mask, class_id = target.mask, target.class_id
    if _shape(mask) != tuple(spatial_shape):
        raise ValueError(
            f"{name}.mask: expected shape {tuple(spatial_shape)} (the image's H, W), "
            f"got {_shape(mask)}"
        )
    if getattr(class_id, "ndim", 0) != 0:
        raise ValueError(
            f"{name}.class_id: expected a scalar, got shape {_shape(class_id)}; "
            "vmap the explainer over a batch of targets"
        )
    if not np.issubdtype(np.dtype(class_id.dtype), np.integer):
        raise TypeError(f"{name}.class_id: expected an integer, got {class_id.dtype}")
    if is_concrete(mask):
        values = np.asarray(mask)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}.mask: expected finite values")
        if values.sum() <= 0:
            raise ValueError(
                f"{name}.mask: expected a non-empty ROI (at least one positive pixel)"
            )


def check_class_id(target, num_classes: int, *, name: str = "target") -> None:
    """Class id(s) within ``[0, num_classes)``, if concrete."""
    if is_concrete(target.class_id):
        c = np.asarray(target.class_id)
        if np.any(c < 0) or np.any(c >= num_classes):
            raise ValueError(
                f"{name}.class_id: expected values in [0, {num_classes}) (the "
                f"model's K), got {c.tolist()}"
            )


def validate_explainer_inputs(x, target, *, num_classes: int | None = None) -> None:
    """Checks concrete explainer inputs before a jitted call.

    Args:
      x: one image ``[H, W, C]`` or a batch ``[B, H, W, C]``.
      target: a single target for one image, or a batch of targets (leading
        axis ``B`` or ``T``) whose masks match the image's ``H, W``.
      num_classes: K, to check class ids (skipped if ``None``).

    Raises:
      TypeError, ValueError: naming the argument and what was expected.
    """
    check_float_array(x, "x", ndim=(3, 4), what="[H, W, C] or [B, H, W, C]")
    check_finite(x, "x")
    check_target(target)
    images = x if x.ndim == 4 else x[None]
    mask = np.asarray(target.mask)
    if mask.shape[-2:] != tuple(images.shape[1:3]):
        raise ValueError(
            f"target.mask: expected [..., {images.shape[1]}, {images.shape[2]}] "
            f"(the image's H, W), got {mask.shape}"
        )
    masks = mask.reshape(-1, *mask.shape[-2:])
    if not np.all(np.isfinite(masks)):
        raise ValueError("target.mask: expected finite values")
    if np.any(masks.reshape(len(masks), -1).sum(-1) <= 0):
        raise ValueError(
            "target.mask: expected a non-empty ROI (at least one positive pixel)"
        )
    if num_classes is not None:
        check_class_id(target, check_int(num_classes, "num_classes", minimum=1))


# ----------------------------------------------------------------------------
# What an explainer knows about its model


def attach_class_count(explain: Callable, class_count: Callable) -> Callable:
    """Records how to find the model's ``K`` on an explainer function.

    Args:
      explain: ``explain(key, params, x, target)``.
      class_count: ``class_count(params, x) -> K`` (shape-only, e.g. through
        ``jax.eval_shape``).

    Returns:
      ``explain`` itself. Wrappers (SmoothGrad, batches, metrics) use it to
      check concrete class ids BEFORE they ``vmap`` or ``jit``, where the
      explainer's own check cannot see values.
    """
    explain.class_count = class_count
    return explain


def class_count_of(explain: Callable, params, x) -> int | None:
    """``K`` of the model behind ``explain`` for input ``x``, or ``None``."""
    class_count = getattr(explain, "class_count", None)
    return None if class_count is None else int(class_count(params, x))


def logits_class_count(apply_fn: Callable) -> Callable:
    """``class_count(params, x)`` of an apply function (shape evaluation only)."""

    def class_count(params, x):
        return jax.eval_shape(apply_fn, params, x).shape[-1]

    return class_count


def check_target_classes(
    explain: Callable, params, x, target, *, num_classes: int | None = None
) -> None:
    """Concrete class ids of ``target`` below the model's ``K``.

    ``K`` is ``num_classes`` when given, else what ``explain`` records (see
    :func:`attach_class_count`); with neither, or with traced inputs, nothing
    is checked (an invalid class then gives NaN maps).
    """
    if not is_concrete(target.class_id):
        return
    if num_classes is None:
        num_classes = class_count_of(explain, params, x)
    if num_classes is not None:
        check_class_id(target, num_classes)


@contextlib.contextmanager
def params_errors(model, name: str = "params"):
    """Turns Flax's parameter-structure errors into a ``ValueError`` on ``params``.

    Flax raises ``ScopeParamShapeError`` / ``ScopeParamNotFoundError`` from deep
    inside a model when it is applied to another model's weights; this names
    the argument and the model instead.
    """
    from flax import errors as flax_errors

    try:
        yield
    except (
        flax_errors.ScopeParamShapeError,
        flax_errors.ScopeParamNotFoundError,
        flax_errors.ApplyScopeInvalidVariablesTypeError,
        flax_errors.ApplyScopeInvalidVariablesStructureError,
        flax_errors.ScopeCollectionNotFound,
        flax_errors.ScopeVariableNotFoundError,
    ) as error:
        model_name = type(model).__name__
        raise ValueError(
            f"{name}: do not fit the model {model_name} (weights of another "
            f"architecture, size or class count?): {type(error).__name__}: "
            f"{str(error).splitlines()[0]}"
        ) from error
