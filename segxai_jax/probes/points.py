"""What every probe backend shares: input specs, the points table, name lookup.

A model's *probe points* are the places a :class:`~segxai_jax.types.Probe` can
read and edit: a ``perturb`` point of a Linen model, the output of any Linen
submodule (or method), the output of any NNX submodule. Each backend lists
them as :class:`Point` records in call order; :func:`find_point` resolves a
name and, for a name that does not exist, lists the nearest ones.

Names: ``"/"`` joins a submodule path (``"encoder/block_2/conv_1"``; NNX list
items by index, ``"blocks/0/conv"``); ``":method"`` selects a method other than
``__call__`` (``"encoder:encode"``, ``":_stage"`` for the model's own method);
``"@k"`` selects the ``k``-th call of a module called several times (``"@0"``,
the first, is the plain name).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation


@dataclasses.dataclass(frozen=True)
class Point:
    """One addressable place of a model, for the input it was listed with.

    Attributes:
      name: the address (see the module docstring).
      kind: ``"perturb"``, ``"module"`` or ``"method"``.
      shape: the output's shape for ONE input (batch axis removed), or ``None``
        when the output is not an array.
      output_type: the output's type name (``"Array"``, ``"tuple"``, ...).
    """

    name: str
    kind: str
    shape: tuple[int, ...] | None
    output_type: str = "Array"


def input_spec(input_shape, *, batched: bool, dtype=jnp.float32):
    """``jax.ShapeDtypeStruct`` (pytree) of one input, with a batch axis if needed.

    Args:
      input_shape: the shape of one input, e.g. ``(64, 64, 3)``, or a pytree of
        shapes for a model with several inputs, e.g. ``{"rgb": (64, 64, 3),
        "depth": (64, 64, 1)}``.
      batched: the model takes ``[B, ...]`` batches (a batch axis of 1 is added).
      dtype: the inputs' dtype.
    """

    def is_shape(node) -> bool:
        return isinstance(node, tuple | list) and all(
            isinstance(d, int | np.integer) and not isinstance(d, bool) for d in node
        )

    if is_shape(input_shape):
        shape = validation.check_int_sequence(input_shape, "input_shape", minimum=1)
        return jax.ShapeDtypeStruct(((1,) if batched else ()) + shape, dtype)
    leaves, treedef = jax.tree_util.tree_flatten(input_shape, is_leaf=is_shape)
    if not leaves or not all(is_shape(leaf) for leaf in leaves):
        raise TypeError(
            "input_shape: expected the shape of one input, e.g. (64, 64, 3), or a "
            "dict/tuple of such shapes for a model with several inputs, got "
            f"{input_shape!r}"
        )
    specs = [input_spec(leaf, batched=batched, dtype=dtype) for leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, specs)


def output_record(value) -> tuple[tuple[int, ...] | None, str]:
    """``(shape, type name)`` of a traced output."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return tuple(value.shape), "Array"
    return None, type(value).__name__


def find_point(points: Sequence[Point], name: str, model: Any) -> Point:
    """The point called ``name``; a clear error otherwise.

    Raises:
      ValueError: no such point; the message lists the nearest names (and
        how to list all of them).
      TypeError: the point's output is not an array (a tuple, a dict, ...).
    """
    validation.check_instance(name, "name", str)
    by_name = {p.name: p for p in points}
    model_name = type(model).__name__
    if name not in by_name:
        names = list(by_name)
        nearest = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
        if not nearest:
            nearest = [n for n in names if n.split("/")[-1] in name][:5] or names[:5]
        raise ValueError(
            f"name: {name!r} is not a probe point of {model_name}; nearest: "
            f"{nearest} ({len(names)} points; list them with "
            "segxai_jax.probe_points(model, input_shape))"
        )
    point = by_name[name]
    if point.shape is None:
        raise TypeError(
            f"name: the output of {name!r} in {model_name} is a "
            f"{point.output_type}, not an array; probe one of its array-valued "
            "submodules instead (see segxai_jax.probe_points)"
        )
    return point


def numbered(key: str, counts: dict[str, int]) -> str:
    """``key`` for its first call, ``key@k`` for the ``k``-th later one."""
    index = counts.get(key, 0)
    counts[key] = index + 1
    return key if index == 0 else f"{key}@{index}"


def input_checker(spec, *, batched: bool):
    """``check(x)``: ``x`` has the structure and ranks of ONE input of ``spec``.

    Sizes may differ (fully convolutional models take any size); a batch axis
    where one input was expected, or a missing leaf, is refused naming ``x``.
    """
    skip = 1 if batched else 0
    spec_leaves, treedef = jax.tree_util.tree_flatten(spec)
    wanted = [tuple(leaf.shape[skip:]) for leaf in spec_leaves]
    described = jax.tree_util.tree_unflatten(treedef, [str(w) for w in wanted])

    def check(x):
        leaves, structure = jax.tree_util.tree_flatten(x)
        if structure != treedef:
            raise ValueError(
                f"x: expected one input structured like {described}, got "
                f"{jax.tree_util.tree_map(np.shape, x)}"
            )
        for leaf, want in zip(leaves, wanted, strict=True):
            if np.ndim(leaf) != len(want):
                raise ValueError(
                    f"x: expected one input of shape like {want} (rank "
                    f"{len(want)}, no batch axis), got shape {np.shape(leaf)}"
                )

    return check
