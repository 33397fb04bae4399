"""``make_probe`` and ``probe_points`` for any Flax model (Linen or NNX)."""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
from flax import nnx

from segxai_jax import validation
from segxai_jax.probes.linen import LinenModel
from segxai_jax.probes.nnx import NNXModel
from segxai_jax.probes.points import Point, find_point, input_checker, input_spec
from segxai_jax.types import Probe


def _backend(model, input_shape, *, batched, apply_kwargs, params_collection, output):
    validation.check_bool(batched, "batched")
    if apply_kwargs is not None:
        validation.check_instance(apply_kwargs, "apply_kwargs", dict)
    if output is not None and not callable(output):
        raise TypeError(
            "output: expected None or output(model_output) -> logits, got "
            f"{type(output).__name__}"
        )
    spec = input_spec(input_shape, batched=batched)
    apply_kwargs = dict(apply_kwargs or {})
    if isinstance(model, nn.Module):
        validation.check_instance(params_collection, "params_collection", str)
        backend = LinenModel(
            model,
            spec,
            batched=batched,
            apply_kwargs=apply_kwargs,
            params_collection=params_collection,
            output=output,
        )
    elif isinstance(model, nnx.Module):
        backend = NNXModel(
            model, batched=batched, call_kwargs=apply_kwargs, output=output
        )
    else:
        raise TypeError(
            f"model: expected a Flax Linen module or an NNX module, got "
            f"{type(model).__name__}; for other models build "
            "segxai_jax.Probe(name, forward) directly"
        )
    return backend, spec


def _points(backend, spec, include_methods: bool) -> list[Point]:
    points = backend.points(spec)
    return [p for p in points if include_methods or p.kind != "method"]


def probe_points(
    model,
    input_shape,
    *,
    apply_kwargs: dict | None = None,
    batched: bool = True,
    include_methods: bool = False,
    output: Callable | None = None,
) -> dict[str, tuple[int, ...]]:
    """Every layer a probe can address, with its output shape, in call order.

    Args:
      model: a Linen or NNX module, unmodified.
      input_shape: one input's shape, e.g. ``(64, 64, 3)`` (a pytree of
        shapes for several inputs).
      apply_kwargs: extra keyword arguments of the model's call.
      batched: the model takes ``[B, ...]`` batches.
      include_methods: also list the outputs of Linen methods other than
        ``__call__`` (``"path:method"``).
      output: the logits selector (see :func:`make_probe`).

    Returns:
      ``{name: shape of one input's activations}``; perturb points (``"mid"``,
      ``"Block_0/out"``) and submodule outputs (``"encoder/conv_1"``). Layers
      whose output is not an array are left out.
    """
    validation.check_bool(include_methods, "include_methods")
    backend, spec = _backend(
        model,
        input_shape,
        batched=batched,
        apply_kwargs=apply_kwargs,
        params_collection="params",
        output=output,
    )
    return {
        p.name: p.shape
        for p in _points(backend, spec, include_methods)
        if p.shape is not None
    }


def make_probe(
    model,
    name: str,
    *,
    input_shape,
    apply_kwargs: dict | None = None,
    batched: bool = True,
    params_collection: str = "params",
    output: Callable | None = None,
) -> Probe:
    """A :class:`~segxai_jax.types.Probe` at any layer of a Linen or NNX model.

    The model is not edited (see :mod:`segxai_jax.probes.linen` and
    :mod:`segxai_jax.probes.nnx`). The probe's ``params`` are what the model is
    applied with: for Linen the ``"params"`` collection or the full variables
    dict (``{"params": ..., "batch_stats": ...}``); for NNX the ``state`` of
    ``nnx.split(model)`` (or the module itself).

    Args:
      model: a Linen module (``model.apply(variables, x_batch)``) or an NNX
        module (``model(x_batch)``).
      name: the layer: a perturb point, a submodule path
        (``"encoder/block_2/conv_1"``, NNX lists by index: ``"blocks/0"``),
        ``"path:method"`` for a Linen method's output, ``"path@k"`` for the
        ``k``-th call of a module called several times. See
        :func:`probe_points`.
      input_shape: one input's shape, e.g. ``(64, 64, 3)``, ``(16, 32, 32, 1)``
        for a volume, ``{"rgb": (64, 64, 3), "depth": (64, 64, 1)}`` for a
        model with a dict input.
      apply_kwargs: extra keyword arguments of the model's call (e.g.
        ``{"train": False}``).
      batched: the model takes ``[B, ...]`` batches (the probe adds and removes
        a batch axis of 1).
      params_collection: Linen: what a bare ``params`` tree stands for.
      output: ``output(model_output) -> logits`` for models returning a dict
        or a tuple.

    Returns:
      ``Probe(name, forward)`` with ``forward(params, x, edit) -> (logits,
      A)`` for ONE input and ``activation_shape`` = the layer's output shape
      without the batch axis.

    Raises:
      ValueError: ``name`` is not a probe point (the message lists the nearest).
      TypeError: the layer's output is not an array (tuple, dict, ...), or the
        model is neither Linen nor NNX.
    """
    validation.check_instance(name, "name", str)
    backend, spec = _backend(
        model,
        input_shape,
        batched=batched,
        apply_kwargs=apply_kwargs,
        params_collection=params_collection,
        output=output,
    )
    point = find_point(_points(backend, spec, include_methods=True), name, model)
    check_input = input_checker(spec, batched=batched)
    backend_forward = backend.forward(name)

    def forward(params, x, edit):
        check_input(x)
        return backend_forward(params, x, edit)

    return Probe(name, forward, activation_shape=point.shape)
