"""Python scalars, choices, callables, objects and PRNG keys."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np


def is_concrete(x) -> bool:
    """True when ``x`` holds values (not a tracer inside ``jit``/``vmap``/``grad``)."""
    return not isinstance(x, jax.core.Tracer)


def _describe(value) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


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
