"""Read and replace a layer's activations of a Flax Linen model from outside.

Activation-space explainers (Seg-Grad-CAM, Seg-Ablation-CAM) need a layer's
activations ``A [u, v, Kc]`` and the logits after changing them. Linen models
mark such layers with ``Module.perturb(name, x)`` (the project's U-Net does so at
every stage). A :class:`Probe` wraps one of these points in a single primitive,

    forward(params, x, edit) -> (logits [H, W, K], A [u, v, Kc])

which runs the model on one image, returns the activation as computed, and lets
``edit(A) -> A'`` replace it before the rest of the network runs. Everything
else derives from it: ``activations``, ``apply_with_delta`` (``A' = A + delta``,
whose gradient at ``delta = 0`` is ``dS/dA``) and ``apply_with_edit``.

The prefix property: under ``jax.vmap`` over the edit's parameters (ablated
channel, delta, ...), nothing upstream of the probe depends on the batched
values, so XLA computes the prefix once and batches only the suffix.

How it works: while a probe's function is being traced, ``Module.perturb`` is
wrapped so that the named point records its value and applies the edit; the
wrapper is removed when tracing ends, so compiled functions carry no trace of
it. Tracing two probed models in different threads at the same time is not
supported (a lock serialises it).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import traverse_util

from segxai_jax import validation
from segxai_jax.types import Probe

_PATCH_LOCK = threading.RLock()


@contextlib.contextmanager
def _perturb_hooks(hooks: dict[str, Callable[[jax.Array], jax.Array]]):
    """Within the context, ``perturb`` at point ``p`` returns ``hooks[p](value)``."""
    with _PATCH_LOCK:
        original = nn.Module.perturb

        def perturb(self, name, value, collection="perturbations"):
            path = "/".join((*self.scope.path, name)) if self.scope else name
            if path in hooks:
                value = hooks[path](value)
            return original(self, name, value, collection)

        nn.Module.perturb = perturb
        try:
            yield
        finally:
            nn.Module.perturb = original


def probe_points(model: nn.Module, input_shape: Sequence[int], **apply_kwargs):
    """Names of the model's probe points (its ``perturb`` calls), in call order.

    Args:
      model: a Linen model taking a batch ``[B, *input_shape]``.
      input_shape: shape of one input, e.g. ``(64, 64, 3)``.
      **apply_kwargs: extra keyword arguments of the model's ``__call__``.

    Returns:
      Tuple of names; nested modules give ``"Sub_0/name"``.
    """
    seen: list[str] = []

    def record(path):
        def hook(value):
            seen.append(path)
            return value

        return hook

    shapes = _perturbation_shapes(model, input_shape, **apply_kwargs)
    hooks = {path: record(path) for path in shapes}
    x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    with _perturb_hooks(hooks):
        jax.eval_shape(lambda x: model.init(jax.random.key(0), x, **apply_kwargs), x)
    return tuple(dict.fromkeys(seen))


def _perturbation_shapes(model, input_shape, **apply_kwargs) -> dict[str, tuple]:
    x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    variables = jax.eval_shape(
        lambda x: model.init(jax.random.key(0), x, **apply_kwargs), x
    )
    flat = traverse_util.flatten_dict(dict(variables.get("perturbations", {})), sep="/")
    return {path: leaf.shape[1:] for path, leaf in flat.items()}


def make_probe(
    model: nn.Module,
    name: str,
    *,
    input_shape: Sequence[int],
    apply_kwargs: dict | None = None,
    params_collection: str = "params",
) -> Probe:
    """A :class:`Probe` at point ``name`` of a Linen model.

    Args:
      model: a Linen model ``[B, H, W, C] -> [B, H, W, K]`` that calls
        ``self.perturb(name, ...)`` at the point of interest.
      name: the probe point (see :func:`probe_points`).
      input_shape: ``(H, W, C)`` of one image (to list points and shapes).
      apply_kwargs: extra keyword arguments for ``model.apply`` (e.g.
        ``{"softplus_beta": 20.0}``).
      params_collection: the variable collection ``params`` go into.

    Raises:
      ValueError: ``name`` is not a probe point; the message lists them.
    """
    validation.check_instance(model, "model", nn.Module, "a Flax Linen model")
    validation.check_instance(name, "name", str)
    input_shape = validation.check_int_sequence(input_shape, "input_shape", minimum=1)
    if apply_kwargs is not None:
        validation.check_instance(apply_kwargs, "apply_kwargs", dict)
    apply_kwargs = dict(apply_kwargs or {})
    shapes = _perturbation_shapes(model, input_shape, **apply_kwargs)
    if name not in shapes:
        raise ValueError(
            f"name: {name!r} is not a probe point of {type(model).__name__}; "
            f"available: {sorted(shapes)}"
        )

    def forward(params, x, edit):
        if x.ndim != 3:
            raise ValueError(f"x: expected one image [H, W, C], got shape {x.shape}")
        captured = {}

        def hook(value):
            captured["a"] = value[0]
            if edit is None:
                return value
            return edit(value[0])[None]

        with _perturb_hooks({name: hook}), validation.params_errors(model):
            logits = model.apply({params_collection: params}, x[None], **apply_kwargs)
        return logits[0], captured["a"]

    return Probe(name, forward, activation_shape=shapes[name])
