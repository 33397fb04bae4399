"""A study's config declared once, as a frozen dataclass, and checked once.

Each study's ``config.py`` declares its settings as a frozen dataclass
``Config`` whose fields carry their defaults and bounds (:func:`field`);
``get_config`` turns it into the ``ml_collections.ConfigDict`` that
``--config.<field>=...`` overrides edit (:func:`to_config_dict`), and
``experiments.main`` turns the edited ConfigDict back into the checked
dataclass (:func:`settings_from`) before any data is loaded or anything is
written. Every error names ``config.<field>``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence

import numpy as np
from ml_collections import config_dict


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


def field(
    *,
    minimum=None,
    maximum=None,
    below=None,
    choices=None,
    min_items=None,
    distinct=False,
    **kwargs,
):
    """A dataclass field with its checks for :func:`from_section`.

    Args:
      minimum / maximum: inclusive bounds of a number (of each item of a tuple).
      below: an exclusive upper bound.
      choices: the allowed strings.
      min_items: the fewest items of a tuple.
      distinct: a tuple's items must differ.
      **kwargs: ``dataclasses.field`` arguments (``default``, ...).
    """
    metadata = {
        "minimum": minimum,
        "maximum": maximum,
        "below": below,
        "choices": choices,
        "min_items": min_items,
        "distinct": distinct,
    }
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
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:  # the dataclass's own checks
        message = str(error)
        if message.startswith("config."):
            raise
        raise ValueError(f"config.{path}{message}") from error


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
        _bounds(value, name, minimum, maximum, metadata.get("below"))
        return int(value)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ValueError(f"config.{name}: expected a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ValueError(f"config.{name}: expected a finite number, got {value!r}")
        _bounds(value, name, minimum, maximum, metadata.get("below"))
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
        min_items = metadata.get("min_items")
        if min_items is not None and len(value) < min_items:
            raise ValueError(
                f"config.{name}: expected at least {min_items} item(s), got {value!r}"
            )
        item = args[0] if args else typing.Any
        choices = metadata.get("choices")
        for v in value if choices is not None else ():
            if v not in choices:
                raise ValueError(
                    f"config.{name}: expected names from {tuple(choices)}, got {v!r}"
                )
        if item is typing.Any:
            return tuple(value)
        items = tuple(
            _checked(v, item, f"{name}[{i}]", metadata) for i, v in enumerate(value)
        )
        if metadata.get("distinct") and len(set(items)) != len(items):
            raise ValueError(f"config.{name}: items must be distinct, got {items}")
        return items
    return value


def _bounds(value, name, minimum, maximum, below=None) -> None:
    if below is not None and not value < below:
        raise ValueError(f"config.{name}: expected < {below}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"config.{name}: expected >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"config.{name}: expected <= {maximum}, got {value!r}")


def settings_from(cls, config):
    """The checked settings dataclass ``cls`` of a (possibly overridden) config.

    Args:
      cls: a study's ``Config`` dataclass.
      config: the ``ConfigDict`` of ``get_config`` after command-line overrides.

    Returns:
      An instance of ``cls``; a ``ValueError`` naming ``config.<field>``
      for a field of the wrong type, out of bounds or unknown.
    """
    return from_section(cls, config, "")


def to_config_dict(settings, *, omit_none: bool = False) -> config_dict.ConfigDict:
    """A settings dataclass as the ``ConfigDict`` that overrides edit.

    Nested dataclasses become sections; tuples stay tuples (``ml_collections``
    parses a tuple override such as ``--config.seeds=0,1,2``); an optional
    field (``float | None``) becomes a typed reference, so that
    ``--config.<field>=None`` and a number are both accepted. A tuple of
    sections (e.g. the strategies of a study) becomes a list of sections
    that leave out their ``None`` fields (``omit_none``).
    """
    config = config_dict.ConfigDict()
    hints = typing.get_type_hints(type(settings))
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        annotation = hints[f.name]
        args = typing.get_args(annotation)
        optional = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        if omit_none and value is None:
            continue
        if dataclasses.is_dataclass(value):
            config[f.name] = to_config_dict(value)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            config[f.name] = [to_config_dict(v, omit_none=True) for v in value]
        elif value is None and any(dataclasses.is_dataclass(a) for a in args):
            continue  # an optional section left out: absent from the config
        elif optional and type(None) in args:
            (inner,) = [a for a in args if a is not type(None)]
            inner = typing.get_origin(inner) or inner
            config[f.name] = config_dict.FieldReference(value, field_type=inner)
        else:
            config[f.name] = value
    return config


def config_to_dict(config) -> dict:
    """A config (``ConfigDict`` or settings dataclass) as plain data all the way down.

    ``ConfigDict.to_dict`` leaves ``ConfigDict`` items of lists as they are
    (they would be written to JSON as strings); this converts them too. The
    sections in a tuple leave out their ``None`` fields, as
    :func:`to_config_dict` does.
    """

    def plain(value, item=False):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            absent = _absent_sections(value)
            value = {
                f.name: getattr(value, f.name)
                for f in dataclasses.fields(value)
                if f.name not in absent
            }
            if item:
                value = {k: v for k, v in value.items() if v is not None}
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(plain(v, item=True) for v in value)
        return value

    return plain(config)


def _absent_sections(settings) -> set[str]:
    """Optional sections (``X | None`` with ``X`` a dataclass) that are None."""
    hints = typing.get_type_hints(type(settings))
    return {
        f.name
        for f in dataclasses.fields(settings)
        if getattr(settings, f.name) is None
        and any(dataclasses.is_dataclass(a) for a in typing.get_args(hints[f.name]))
    }


def as_namespace(tree):
    """A plain config record (``results["config"]``) with attribute access.

    Reports are rendered from ``results.json`` alone; this lets them read its
    ``config`` record as they would read the settings (``config.probe.point``).
    """
    if isinstance(tree, dict):
        return types.SimpleNamespace(**{k: as_namespace(v) for k, v in tree.items()})
    if isinstance(tree, list | tuple):
        return tuple(as_namespace(v) for v in tree)
    return tree
