"""Checks of experiment config fields; every error names ``config.<field>``.

Experiments turn their ``ml_collections`` config into a frozen dataclass of
options once, in ``run.py``, with these helpers, so that a bad field is
refused before any data is loaded or anything is written.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence

import numpy as np


def check_int(value, field: str, *, minimum: int = 1) -> int:
    """``value`` as an int, or a ``ValueError`` naming ``config.<field>``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"config.{field}: expected an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"config.{field}: expected an int >= {minimum}, got {value}")
    return int(value)


def check_choices(values, field: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty tuple of distinct names from ``allowed``."""
    if isinstance(values, str):
        values = (values,)
    values = tuple(values)
    if not values:
        raise ValueError(f"config.{field}: expected at least one of {tuple(allowed)}")
    for value in values:
        if value not in allowed:
            raise ValueError(
                f"config.{field}: expected names from {tuple(allowed)}, got {value!r}"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"config.{field}: names must be distinct, got {values}")
    return values


def check_real(value, field: str) -> float:
    """A finite number, or a ``ValueError`` naming ``config.<field>``."""
    number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not number or not math.isfinite(float(value)):
        raise ValueError(f"config.{field}: expected a finite number, got {value!r}")
    return float(value)


def check_fraction(value, field: str, *, upper_inclusive: bool = False) -> float:
    """A number in ``[0, 1)`` (``[0, 1]`` with ``upper_inclusive``)."""
    number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    inside = number and (0.0 <= value <= 1.0 if upper_inclusive else 0.0 <= value < 1.0)
    if not inside:
        bracket = "]" if upper_inclusive else ")"
        raise ValueError(
            f"config.{field}: expected a number in [0, 1{bracket}, got {value!r}"
        )
    return float(value)


def differing_fields(found, expected, path: str = "") -> list[str]:
    """``"a.b: found X, expected Y"`` for every leaf where two JSON trees differ."""
    if isinstance(found, dict) and isinstance(expected, dict):
        out = []
        for key in sorted(set(found) | set(expected), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out.extend(differing_fields(found.get(key), expected.get(key), sub))
        return out
    return [] if found == expected else [f"{path}: {found!r} vs {expected!r}"]


def field(*, minimum=None, maximum=None, choices=None, **kwargs):
    """A dataclass field with bounds or choices for :func:`from_section`."""
    metadata = {"minimum": minimum, "maximum": maximum, "choices": choices}
    return dataclasses.field(metadata=metadata, **kwargs)


def from_section(cls, section, prefix: str, *, ignore: Sequence[str] = ()):
    """A frozen dataclass ``cls`` built from a config section, every field checked.

    Each field is checked by its annotation (``int``, ``float``, ``bool``,
    ``str``, ``tuple[...]``, ``X | None`` or a nested dataclass) and by the
    ``minimum``/``maximum``/``choices`` of :func:`field`; errors name
    ``config.<prefix>.<field>``. Fields of the section that ``cls`` does not
    know are refused (a typo in an override must not pass silently).

    Args:
      cls: the options dataclass.
      section: an ``ml_collections.ConfigDict`` (or a mapping).
      prefix: the section's path in the config (``""`` for the top level).
      ignore: fields of the section that other code reads (e.g. ``data``,
        ``teacher``), neither checked nor refused here.

    Returns:
      An instance of ``cls``.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    given = {k: section[k] for k in section.keys() if k not in ignore}
    path = f"{prefix}." if prefix else ""
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"config.{path}{unknown[0]}: unknown field; expected fields {names}"
        )
    values = {}
    for f in dataclasses.fields(cls):
        name = f"{path}{f.name}"
        if f.name not in given:
            if f.default is not dataclasses.MISSING:
                continue
            if f.default_factory is not dataclasses.MISSING:
                continue
            raise ValueError(f"config.{name}: missing field")
        values[f.name] = _checked(given[f.name], hints[f.name], name, f.metadata)
    return cls(**values)


def _checked(value, annotation, name: str, metadata):
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _checked(value, inner, name, metadata)
    minimum, maximum = metadata.get("minimum"), metadata.get("maximum")
    choices = metadata.get("choices")
    if dataclasses.is_dataclass(annotation):
        return from_section(annotation, value, name)
    if annotation is bool:
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"config.{name}: expected True or False, got {value!r}")
        return bool(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"config.{name}: expected an int, got {value!r}")
        _bounds(value, name, minimum, maximum)
        return int(value)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ValueError(f"config.{name}: expected a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"config.{name}: expected a finite number, got {value!r}")
        _bounds(value, name, minimum, maximum)
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"config.{name}: expected a string, got {value!r}")
        if choices is not None and value not in choices:
            raise ValueError(
                f"config.{name}: expected one of {tuple(choices)}, got {value!r}"
            )
        return value
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ValueError(f"config.{name}: expected a sequence, got {value!r}")
        item = args[0] if args else typing.Any
        if item is typing.Any:
            return tuple(value)
        items = tuple(
            _checked(v, item, f"{name}[{i}]", metadata) for i, v in enumerate(value)
        )
        return items
    return value


def _bounds(value, name, minimum, maximum) -> None:
    if minimum is not None and value < minimum:
        raise ValueError(f"config.{name}: expected >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"config.{name}: expected <= {maximum}, got {value!r}")


def config_to_dict(config) -> dict:
    """A config as plain dicts and lists all the way down.

    ``ConfigDict.to_dict`` leaves ``ConfigDict`` items of lists as they are
    (they would be written to JSON as strings); this converts them too.
    """

    def plain(value):
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(plain(v) for v in value)
        return value

    return plain(config)
