"""The contracts every part of the library shares, in one place.

* **Apply function** ``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``:
  one image in, pre-softmax scores out. Batches come from ``jax.vmap``.
* **Target** ``Target(class_id, mask)``: what is explained, the seed paper's
  ``S_c(x; M) = sum_{(i, j) in M} logits[i, j, c]`` (see
  :mod:`segxai_jax.targets` for the score and the ROI builders). A pytree, so
  many targets can be vmapped through one explainer.
* **Explainer** ``explain(key, params, x, target) -> attribution`` (``[H, W]``
  or ``[H, W, C]``): pure, jittable and vmappable; deterministic explainers
  ignore ``key``. Factories (``vanilla_gradient(apply_fn, ...)``,
  ``seg_grad_cam(probe, ...)``) bind the model and hyper-parameters.
* **Probe** ``Probe(name, forward)``: a layer's activations ``A`` and the
  logits after editing them, ``forward(params, x, edit) -> (logits, A)``; the
  activation-space methods (CAMs, Seg-Ablation-CAM) read models through it.
  :func:`segxai_jax.probes.make_probe` builds one at any layer of a Linen or
  NNX model.

This module imports nothing of the library, so every other module can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
from flax import struct

ApplyFn = Callable[[Any, jax.Array], jax.Array]
"""``apply_fn(params, x [H, W, C]) -> logits [H, W, K]``."""

Explainer = Callable[..., jax.Array]
"""``explain(key, params, x [H, W, C], target) -> attribution``."""

Edit = Callable[[jax.Array], jax.Array]
"""``edit(A) -> A'``: a change of a probed layer's activations."""


@struct.dataclass
class Target:
    """A class id and an ROI mask; a pytree, so it can be batched and vmapped.

    Build it with :func:`segxai_jax.make_target`, which checks and casts.

    Attributes:
      class_id: int32 scalar ``[]`` (``[T]`` for a batch of targets).
      mask: float32 ``[H, W]`` with 1 inside the ROI (``[T, H, W]`` batched;
        ``[D, H, W]`` for volumes: the output's spatial shape). Non-binary
        weights are allowed and act as per-pixel weights.
      kind: ``"class"`` (a class of a K-way model, the default) or
        ``"binary"`` (a one-logit segmenter, ``K = 1``: class 1 is the
        foreground with score ``z``, class 0 the background with score
        ``-z``); static, built by :func:`segxai_jax.binary_target`.
    """

    class_id: jax.Array
    mask: jax.Array
    kind: str = struct.field(pytree_node=False, default="class")


class Probe:
    """Access to one layer of a model, for one image at a time.

    Build with :func:`segxai_jax.make_probe` (Linen and NNX models) or from a
    ``forward`` function for models written otherwise.

    Args:
      name: the layer.
      forward: ``forward(params, x, edit) -> (logits [H, W, K], A [u, v, Kc])``
        where ``edit`` is ``None`` or a function applied to ``A`` before the
        rest of the network; the returned ``A`` is the value before the edit.
      activation_shape: ``(u, v, Kc)`` for the image size the probe was built
        for, when known.
    """

    def __init__(self, name: str, forward: Callable, activation_shape=None):
        if not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__} {name!r}")
        if not callable(forward):
            raise TypeError(
                "forward: expected a function forward(params, x, edit) -> "
                f"(logits, A), got {type(forward).__name__}"
            )
        self.name = name
        self.forward = forward
        self.activation_shape = activation_shape

    def class_count(self, params: Any, x: jax.Array) -> int:
        """``K`` of the logits for image ``x`` (shape evaluation only)."""
        return jax.eval_shape(self.forward, params, x, None)[0].shape[-1]

    def activations(self, params: Any, x: jax.Array) -> jax.Array:
        """``A [u, v, Kc]`` of image ``x [H, W, C]``."""
        return self.forward(params, x, None)[1]

    def apply_with_edit(self, params: Any, x: jax.Array, edit: Edit) -> jax.Array:
        """Logits ``[H, W, K]`` after replacing ``A`` by ``edit(A)``."""
        return self.forward(params, x, edit)[0]

    def apply_with_delta(self, params: Any, x: jax.Array, delta: jax.Array):
        """Logits ``[H, W, K]`` with ``A + delta`` (so d/d delta = d/dA at 0)."""
        return self.forward(params, x, lambda a: a + delta)[0]

    def __repr__(self) -> str:
        return f"Probe({self.name!r}, activation_shape={self.activation_shape})"
