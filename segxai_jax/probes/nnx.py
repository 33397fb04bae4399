"""Probes into unmodified Flax NNX models.

An NNX model is a graph of Python objects. For every call the probe merges the
model's graph definition with the ``state`` it is given (``nnx.merge``), which
builds a fresh copy of the module tree that belongs to this call alone. In
that copy the addressed submodule's class is swapped for a subclass whose
``__call__`` records the output and returns ``edit(output)``; the copy is
dropped after the call. The user's module, its class and every other copy are
untouched, so there is no global patching and no lock (the hook table is
thread-local).

Addresses are the module paths of ``nnx.iter_graph`` joined by ``"/"``: an
attribute name, or an index for a list item (``"blocks/0/conv"``). A module
called several times is addressed per call with ``"@k"``. Only ``__call__``
outputs are probe points for NNX.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import jax
from flax import nnx

from segxai_jax.adapters import add_batch_axis, nnx_state
from segxai_jax.probes.points import Point, numbered, output_record

_HOOKS = threading.local()
_HOOKED_CLASSES: dict[type, type] = {}
_CLASS_LOCK = threading.Lock()


def _hooks() -> dict[int, Callable]:
    if not hasattr(_HOOKS, "table"):
        _HOOKS.table = {}
    return _HOOKS.table


def _hooked_class(cls: type) -> type:
    """A subclass of ``cls`` whose ``__call__`` passes its output to a hook."""
    with _CLASS_LOCK:
        hooked = _HOOKED_CLASSES.get(cls)
        if hooked is None:

            def __call__(self, *args, **kwargs):
                value = cls.__call__(self, *args, **kwargs)
                hook = _hooks().get(id(self))
                return value if hook is None else hook(value)

            hooked = type(
                cls.__name__,
                (cls,),
                {"__call__": __call__, "__module__": cls.__module__},
            )
            _HOOKED_CLASSES[cls] = hooked
    return hooked


def module_paths(model: nnx.Module) -> dict[str, nnx.Module]:
    """``{address: submodule}`` of every submodule (the root excluded)."""
    found = {}
    for path, node in nnx.iter_graph(model):
        if isinstance(node, nnx.Module) and path:
            found.setdefault("/".join(str(p) for p in path), node)
    return found


class _Hooked:
    """Within the context, calls of the given submodules go through ``on_output``."""

    def __init__(self, submodules: dict[str, nnx.Module], on_output):
        self.submodules = submodules
        self.on_output = on_output
        self.original: dict[str, type] = {}

    def __enter__(self):
        counts: dict[str, int] = {}
        for address, module in self.submodules.items():
            self.original[address] = type(module)

            def hook(value, address=address):
                return self.on_output(numbered(address, counts), value)

            _hooks()[id(module)] = hook
            module.__class__ = _hooked_class(type(module))
        return self

    def __exit__(self, *exc):
        for address, module in self.submodules.items():
            _hooks().pop(id(module), None)
            module.__class__ = self.original[address]
        return False


class NNXModel:
    """An NNX module's graph, and how to call a fresh copy of it.

    Args:
      model: the module (its graph definition is taken once).
      batched: the module takes a batch axis.
      call_kwargs: extra keyword arguments of ``model(x, ...)``.
      output: ``output(model_output) -> logits``, or ``None``.
    """

    def __init__(self, model, *, batched, call_kwargs, output):
        self.model = model
        self.graphdef, self.state = nnx.split(model)
        self.batched = batched
        self.call_kwargs = dict(call_kwargs)
        self.output = output

    def _call(self, params, x, select, on_output):
        module = nnx.merge(self.graphdef, nnx_state(params))
        submodules = select(module_paths(module))
        inputs = add_batch_axis(x) if self.batched else x
        with _Hooked(submodules, on_output):
            out = module(inputs, **self.call_kwargs)
        out = self.output(out) if self.output is not None else out
        return out[0] if self.batched else out

    def points(self, spec) -> list[Point]:
        """Every submodule output for an input of ``spec``, in call order."""
        records: list[Point] = []
        skip = 1 if self.batched else 0

        def record(name, value):
            shape, type_name = output_record(value)
            records.append(
                Point(
                    name, "module", None if shape is None else shape[skip:], type_name
                )
            )
            return value

        def run(state, x):
            x = jax.tree_util.tree_map(lambda leaf: leaf[0], x) if self.batched else x
            return self._call(state, x, lambda found: found, record)

        jax.eval_shape(run, self.state, spec)
        return records

    def forward(self, name: str) -> Callable:
        """``forward(params, x, edit) -> (logits, A)`` at point ``name``."""
        address = name.split("@")[0]
        batched = self.batched

        def forward(params, x, edit):
            captured = {}

            def hook(point, value):
                if point != name:
                    return value
                activations = value[0] if batched else value
                captured["a"] = activations
                if edit is None:
                    return value
                edited = edit(activations)
                return edited[None] if batched else edited

            logits = self._call(
                params, x, lambda found: {address: found[address]}, hook
            )
            if "a" not in captured:
                raise ValueError(
                    f"name: the point {name!r} was not reached for an input of "
                    "this structure"
                )
            return logits, captured["a"]

        return forward
