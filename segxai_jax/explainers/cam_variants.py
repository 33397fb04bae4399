"""Grad-CAM++, LayerCAM and Eigen-CAM for segmentation targets.

The same probe and target as :func:`segxai_jax.explainers.seg_grad_cam`:
activations ``A [u, v, Kc]`` at a layer and ``G = dS/dA`` of the paper's
target ``S_c(x; M)`` (summed pre-softmax scores of class ``c`` over the frozen
ROI ``M``), from one forward and backward pass. What differs is how the
channels are combined:

* **Grad-CAM++**: per cell weights
  ``a^k_ij = G^2 / (2 G^2 + sum_ab A^k_ab G^3)`` (0 where ``G = 0``), channel
  weights ``w_k = sum_ij a^k_ij relu(G^k_ij)``, map ``sum_k w_k A^k``. This is
  the closed form of Chattopadhay et al. under their exponential-score
  assumption, as pytorch-grad-cam computes it (with ``eps = 1e-7`` in the
  denominator, pytorch-grad-cam's value);
* **LayerCAM**: ``sum_k relu(G^k) * A^k`` cell by cell, a positive-gradient
  HiRes-CAM that keeps fine detail at shallow layers;
* **Eigen-CAM**: the projection of the activations on their first principal
  component (the cells ``[u v, Kc]`` centred over cells, first right singular
  vector): no gradient and no class, so the same map for every target; the
  SVD leaves the sign free, and it is fixed so that the map correlates
  positively with the channel sum ``sum_k A^k``.

All return ``explain(key, params, x [H, W, C], target) -> [H, W]`` (ReLU then
bilinear resize to the input by default, as :func:`seg_grad_cam`), are
deterministic, pure, jittable and vmappable over images and targets.

References:
  Chattopadhay, Sarkar, Howlader, Balasubramanian. Grad-CAM++: Generalized
  gradient-based visual explanations for deep convolutional networks. WACV
  2018.
  Jiang, Zhang, Hou, Cheng, Wei. LayerCAM: Exploring hierarchical class
  activation maps for localization. IEEE TIP 30, 2021.
  Muhammad, Yeasin. Eigen-CAM: Class activation map using principal
  components. IJCNN 2020.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.explainers.cams import (
    ORDERS,
    cam_explainer,
    check_probe,
    finish_cam,
    resolve_output_size,
)
from segxai_jax.explainers.nan_inputs import input_validity
from segxai_jax.probes import Probe

GRAD_CAM_PLUS_PLUS_EPS = 1e-7


def grad_cam_plus_plus_weights(
    activations: jax.Array, gradients: jax.Array, *, eps: float = GRAD_CAM_PLUS_PLUS_EPS
) -> jax.Array:
    """Channel weights ``w [Kc]`` of Grad-CAM++.

    Args:
      activations: ``A [..., Kc]`` (any grid).
      gradients: ``dS/dA``, same shape.
      eps: added to the denominator of ``a^k_ij``.

    Returns:
      ``w_k = sum_ij a^k_ij relu(G^k_ij)`` with
      ``a^k_ij = G^2 / (2 G^2 + sum_ab A^k_ab G^3 + eps)`` (0 where G = 0).
    """
    grid_axes = tuple(range(activations.ndim - 1))
    g2 = gradients * gradients
    g3 = g2 * gradients
    totals = activations.sum(axis=grid_axes)
    alpha = g2 / (2.0 * g2 + totals * g3 + eps)
    alpha = jnp.where(gradients != 0, alpha, 0.0)
    return (alpha * jax.nn.relu(gradients)).sum(axis=grid_axes)


def eigen_projection(activations: jax.Array) -> jax.Array:
    """First-principal-component projection of ``A [..., Kc]``, sign fixed.

    Returns:
      ``[...]`` (the grid): the centred cells projected on the first right
      singular vector, signed so that it correlates positively with
      ``A.sum(-1)``.
    """
    grid = activations.shape[:-1]
    cells = activations.reshape(-1, activations.shape[-1])
    centred = cells - cells.mean(axis=0)
    _, _, vt = jnp.linalg.svd(centred, full_matrices=False)
    projection = centred @ vt[0]
    channel_sum = cells.sum(axis=-1)
    agreement = jnp.dot(projection, channel_sum - channel_sum.mean())
    sign = jnp.where(agreement < 0, -1.0, 1.0).astype(projection.dtype)
    return (sign * projection).reshape(grid)


def grad_cam_plus_plus(
    probe: Probe,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
) -> Callable:
    """Grad-CAM++ of the segmentation target at a probe point.

    Args:
      probe: the layer, e.g. ``make_probe(model, "bottleneck", input_shape=...)``.
      score_reduction: ``"sum"`` (the paper's target) or ``"mean"`` over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.
      relu: apply ReLU to the map.
      order: ``"relu_resize"`` or ``"resize_relu"`` (see :func:`seg_grad_cam`).
      output_size: ``"input"``, ``None`` (the layer's grid) or ``(H, W)``.

    Returns:
      ``explain(key, params, x, target) -> [H, W]``; ``key`` is ignored.

    References:
      Chattopadhay et al. Grad-CAM++. WACV 2018.
    """

    def combine(activations, grads):
        return activations @ grad_cam_plus_plus_weights(activations, grads)

    return cam_explainer(
        probe,
        combine,
        score_reduction=score_reduction,
        score_space=score_space,
        relu=relu,
        order=order,
        output_size=output_size,
    )


def layer_cam(
    probe: Probe,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
) -> Callable:
    """LayerCAM: ``sum_k relu(dS/dA^k) * A^k`` cell by cell.

    Args: as :func:`grad_cam_plus_plus`.

    Returns:
      ``explain(key, params, x, target) -> [H, W]``; ``key`` is ignored.

    References:
      Jiang et al. LayerCAM. IEEE TIP 30, 2021.
    """

    def combine(activations, grads):
        return (jax.nn.relu(grads) * activations).sum(axis=-1)

    return cam_explainer(
        probe,
        combine,
        score_reduction=score_reduction,
        score_space=score_space,
        relu=relu,
        order=order,
        output_size=output_size,
    )


def eigen_cam(
    probe: Probe,
    *,
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
) -> Callable:
    """Eigen-CAM: the activations' first principal component (class-agnostic).

    The target is used only for its shape (the output grid) and checked as for
    every explainer; the map is the same for every class and ROI. One forward
    pass to the probe point, no gradient.

    Args:
      probe: the layer.
      relu: apply ReLU to the map.
      order: ``"relu_resize"`` or ``"resize_relu"``.
      output_size: ``"input"``, ``None`` or ``(H, W)``.

    Returns:
      ``explain(key, params, x, target) -> [H, W]``; ``key`` is ignored.

    References:
      Muhammad, Yeasin. Eigen-CAM. IJCNN 2020.
    """
    check_probe(probe)
    validation.check_choice(order, "order", ORDERS)
    validation.check_bool(relu, "relu")
    resolve_output_size(output_size, None)

    def explain(key, params, x, target):
        del key
        validation.check_input(x, target, allow_tree=True)
        cam = eigen_projection(probe.activations(params, x)) * input_validity(x)
        return finish_cam(
            cam,
            resolve_output_size(output_size, target.mask.shape),
            relu=relu,
            order=order,
        )

    return validation.attach_class_count(explain, probe.class_count)
