"""Apply functions from the models users have: Linen modules, NNX modules.

Every explainer takes ``apply_fn(params, x) -> logits`` for ONE input (an
image ``[H, W, C]``, a volume ``[D, H, W, C]`` or a pytree of such arrays) and
batches with ``jax.vmap``. Models are usually written for batches; these
adapters are built once and add / remove the batch axis inside:

* :func:`linen_apply_fn`: ``params`` is either the ``"params"`` collection or
  the whole variables dict (``{"params": ..., "batch_stats": ...}``, applied
  with ``mutable=False``, i.e. batch norm in inference mode when the model
  takes such a flag through ``apply_kwargs``);
* :func:`nnx_apply_fn`: returns ``(apply_fn, state)``; ``state`` (from
  ``nnx.split``) is what the explainers receive as ``params``. Call
  ``model.eval()`` first so that batch norm and dropout are in inference mode.

``output`` selects the logits from a model that returns a dict or a tuple.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import flax.linen as nn
import jax
from flax import nnx

from segxai_jax import validation
from segxai_jax.types import ApplyFn


def add_batch_axis(x):
    """``x[None]`` for every leaf of an input pytree."""
    return jax.tree_util.tree_map(lambda leaf: leaf[None], x)


def linen_variables(params: Any, params_collection: str = "params") -> Mapping:
    """The variables dict for ``model.apply``: ``params`` itself if it is one.

    A mapping with a ``params_collection`` key is taken as the full variables
    (so ``batch_stats`` and other collections pass through); anything else as
    the ``params_collection`` alone.
    """
    if isinstance(params, Mapping) and params_collection in params:
        return params
    return {params_collection: params}


def _check_common(batched, apply_kwargs, output) -> dict:
    validation.check_bool(batched, "batched")
    if apply_kwargs is not None:
        validation.check_instance(apply_kwargs, "apply_kwargs", dict)
    if output is not None and not callable(output):
        raise TypeError(
            "output: expected None or a function output(model_output) -> logits, "
            f"got {type(output).__name__}"
        )
    return dict(apply_kwargs or {})


def linen_apply_fn(
    model: nn.Module,
    *,
    batched: bool = True,
    apply_kwargs: dict | None = None,
    params_collection: str = "params",
    output: Callable | None = None,
) -> ApplyFn:
    """``apply_fn(params, x) -> logits`` for one input of a Linen model.

    Args:
      model: a Linen module, unmodified.
      batched: the model takes ``[B, ...]`` inputs (one axis is added).
      apply_kwargs: extra keyword arguments of ``model.apply`` (e.g.
        ``{"train": False}``).
      params_collection: what ``params`` stands for when it is not a full
        variables dict.
      output: ``output(model_output) -> logits`` (e.g. ``lambda o:
        o["logits"]``); ``None`` when the model returns the logits.

    Returns:
      ``apply_fn(params, x [..., C]) -> logits [..., K]``.
    """
    validation.check_instance(model, "model", nn.Module, "a Flax Linen module")
    apply_kwargs = _check_common(batched, apply_kwargs, output)
    validation.check_instance(params_collection, "params_collection", str)

    def apply_fn(params, x):
        inputs = add_batch_axis(x) if batched else x
        with validation.params_errors(model), _call_errors(model, "apply_kwargs"):
            out = model.apply(
                linen_variables(params, params_collection), inputs, **apply_kwargs
            )
        out = output(out) if output is not None else _logits_only(out, model)
        return out[0] if batched else out

    return apply_fn


@contextlib.contextmanager
def _call_errors(model, option: str):
    """A model call missing an argument (a ``train`` flag...) names ``option``."""
    try:
        yield
    except TypeError as error:
        text = str(error)
        if "argument" not in text or "__call__" not in text:
            raise
        raise TypeError(
            f"model: calling {type(model).__name__} failed ({text}); pass its "
            f"extra arguments with {option}=, e.g. {option}={{'train': False}}"
        ) from error


def _logits_only(out, model):
    """``out`` when it is one array; a tuple / list / dict is refused by name."""
    if isinstance(out, tuple | list | dict):
        leaves = jax.tree_util.tree_leaves(out)
        shapes = [tuple(getattr(leaf, "shape", ())) for leaf in leaves]
        kind = type(out).__name__
        keys = f" with keys {list(out)}" if isinstance(out, dict) else ""
        raise ValueError(
            f"model output: {type(model).__name__} returns a {kind} of "
            f"{len(out)}{keys} (leaf shapes {shapes}), not one array of logits; "
            "say which entry holds the logits with output=, e.g. "
            "output=lambda o: o[0] or output=lambda o: o['logits']"
        )
    return out


def nnx_apply_fn(
    model: nnx.Module,
    *,
    batched: bool = True,
    call_kwargs: dict | None = None,
    output: Callable | None = None,
) -> tuple[ApplyFn, nnx.State]:
    """``(apply_fn, state)`` for an NNX module; ``state`` is the ``params``.

    ``apply_fn(state, x)`` merges the module's graph with ``state`` and calls
    it; the module itself is never mutated (a batch-norm module left in
    training mode would update a copy, and the explanation would use batch
    statistics: call ``model.eval()`` first).

    Args:
      model: an ``nnx.Module``, unmodified.
      batched: the module takes ``[B, ...]`` inputs.
      call_kwargs: extra keyword arguments of ``model(x, ...)``.
      output: ``output(model_output) -> logits``.

    Returns:
      ``(apply_fn(state, x [..., C]) -> logits [..., K], state)``.
    """
    validation.check_instance(model, "model", nnx.Module, "a Flax NNX module")
    call_kwargs = _check_common(batched, call_kwargs, output)
    graphdef, state = nnx.split(model)

    def apply_fn(params, x):
        module = nnx.merge(graphdef, nnx_state(params))
        inputs = add_batch_axis(x) if batched else x
        with _call_errors(model, "call_kwargs"):
            out = module(inputs, **call_kwargs)
        out = output(out) if output is not None else _logits_only(out, model)
        return out[0] if batched else out

    return apply_fn, state


def nnx_state(params: Any) -> nnx.State:
    """The state of ``params``: a ``nnx.State`` as is, a module's split state."""
    if isinstance(params, nnx.Module):
        return nnx.split(params)[1]
    return params
