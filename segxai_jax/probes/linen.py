"""Probes into unmodified Flax Linen models.

Two kinds of points, read by the same forward pass:

* every submodule's output, found with Flax's method interception
  (``nn.intercept_methods``): while a probe's function is being traced, an
  interceptor sees each module method return, records the one addressed by
  the probe and hands back ``edit(value)`` instead. Nothing in the model is
  edited; the interceptor is thread-local and lives only during tracing, so a
  compiled function carries no trace of it;
* ``self.perturb(name, x)`` points, for models written with them (the
  project's U-Net). ``Module.perturb`` is wrapped for the duration of the
  trace (a lock serialises that; tracing two perturb-probed models in two
  threads at once waits).

A perturb point and a submodule with the same name resolve to the perturb
point; the submodule is then listed as ``"path:__call__"``.

The prefix property: the edit is applied where the value is produced, so
under ``jax.vmap`` over the edit's parameters nothing upstream of the point
depends on the batched values and XLA computes it once
(``tests/probes/test_prefix.py`` checks it with XLA's cost analysis).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping

import flax.linen as nn
import jax

from segxai_jax import validation
from segxai_jax.adapters import add_batch_axis, linen_variables
from segxai_jax.probes.points import Point, numbered, output_record

_PERTURB_LOCK = threading.RLock()
OnOutput = Callable[[str, str, object], object]


@contextlib.contextmanager
def _perturb_hook(on_output: OnOutput):
    """Within the context, ``perturb`` at point ``p`` returns ``on_output(p, ...)``."""
    with _PERTURB_LOCK:
        original = nn.Module.perturb

        def perturb(self, name, value, collection="perturbations"):
            path = "/".join((*self.scope.path, name)) if self.scope else name
            value = on_output(path, "perturb", value)
            return original(self, name, value, collection)

        nn.Module.perturb = perturb
        try:
            yield
        finally:
            nn.Module.perturb = original


def _method_key(context) -> tuple[str, str] | None:
    """``(address, kind)`` of an intercepted call, or ``None`` to ignore it."""
    path = "/".join(str(p) for p in context.module.path)
    method = context.method_name
    if method == "__call__":
        # The top module's own output is the logits, not a layer.
        return (path, "module") if path else None
    if method == "setup" or method.startswith("__"):
        return None
    return f"{path}:{method}", "method"


@contextlib.contextmanager
def linen_hooks(on_output: OnOutput, *, perturb_names: frozenset[str]):
    """Routes every perturb point and module output through ``on_output``.

    ``on_output(name, kind, value)`` receives the numbered address (see
    :func:`~segxai_jax.probes.points.numbered`) and returns the value the
    model continues with.
    """
    counts: dict[str, int] = {}

    def interceptor(next_fun, args, kwargs, context):
        value = next_fun(*args, **kwargs)
        key = _method_key(context)
        if key is None:
            return value
        address, kind = key
        if kind == "module" and address in perturb_names:
            address = f"{address}:__call__"
        return on_output(numbered(address, counts), kind, value)

    def perturb(path, kind, value):
        return on_output(numbered(path, counts), kind, value)

    with _perturb_hook(perturb), nn.intercept_methods(interceptor):
        yield


class LinenModel:
    """A Linen module with what its probes need: how to call it and its variables.

    Args:
      model: the module.
      spec: ``jax.ShapeDtypeStruct`` pytree of the model's input (batch axis
        included when ``batched``).
      batched: the model takes a batch axis.
      apply_kwargs: extra keyword arguments of ``model.apply`` (e.g.
        ``{"train": False}``).
      params_collection: the collection that ``params`` alone stands for.
      output: ``output(model_output) -> logits`` for models that return a
        dict or tuple; ``None`` = the output is the logits.
    """

    def __init__(
        self, model, spec, *, batched, apply_kwargs, params_collection, output
    ):
        self.model = model
        self.batched = batched
        self.apply_kwargs = dict(apply_kwargs)
        self.params_collection = params_collection
        self.output = output
        self.perturb_shapes: dict[str, tuple] = {}
        shapes = jax.eval_shape(
            lambda x: self.model.init(jax.random.key(0), x, **self.apply_kwargs), spec
        )
        flat = _flatten(dict(shapes.get("perturbations", {})))
        skip = 1 if batched else 0
        self.perturb_shapes = {k: tuple(v.shape[skip:]) for k, v in flat.items()}
        self._variable_shapes = shapes

    def apply(self, params, x):
        """The logits for ONE input ``x`` (a batch axis is added and removed)."""
        inputs = add_batch_axis(x) if self.batched else x
        with validation.params_errors(self.model):
            out = self.model.apply(
                linen_variables(params, self.params_collection),
                inputs,
                **self.apply_kwargs,
            )
        if self.output is not None:
            out = self.output(out)
        return out[0] if self.batched else out

    def points(self, spec) -> list[Point]:
        """Every perturb point and submodule output, in call order."""
        records: list[Point] = []
        names = frozenset(self.perturb_shapes)
        skip = 1 if self.batched else 0

        def record(name, kind, value):
            shape, type_name = output_record(value)
            if shape is not None:
                shape = shape[skip:]
            records.append(Point(name, kind, shape, type_name))
            return value

        def run(variables, x):
            with linen_hooks(record, perturb_names=names):
                self.model.apply(variables, x, **self.apply_kwargs)

        jax.eval_shape(run, self._variable_shapes, spec)
        return records

    def forward(self, name: str) -> Callable:
        """``forward(params, x, edit) -> (logits, A)`` at point ``name``."""
        names = frozenset(self.perturb_shapes)
        batched = self.batched

        def forward(params, x, edit):
            captured = {}

            def hook(address, kind, value):
                if address != name:
                    return value
                activations = value[0] if batched else value
                captured["a"] = activations
                if edit is None:
                    return value
                edited = edit(activations)
                return edited[None] if batched else edited

            with linen_hooks(hook, perturb_names=names):
                logits = self.apply(params, x)
            if "a" not in captured:
                raise ValueError(
                    f"name: the point {name!r} was not reached for an input of "
                    "this structure (does the model branch on the input?)"
                )
            return logits, captured["a"]

        return forward


def _flatten(tree: Mapping, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat
