"""Seg-Grad-CAM and its cheap variants (HiRes-CAM, XGrad-CAM) for segmentation.

Given a probe point with activations ``A [u, v, Kc]`` and the target score
``S_c(x; M)`` (the ROI ``M`` is fixed), the map is a combination of the
channels ``A^k`` weighted by the gradient ``G = dS/dA``:

* ``"grad_cam"`` (Seg-Grad-CAM): ``alpha_k = mean_{u,v} G^k``,
  ``L = sum_k alpha_k A^k``;
* ``"xgrad_cam"``: ``alpha_k = sum_{u,v} (A^k / sum_{u,v} A^k) G^k``;
* ``"hires_cam"``: ``L = sum_k G^k * A^k`` element-wise (no pooling).

``A`` and ``G`` come from ONE forward and backward pass: the score is
differentiated with respect to a zero perturbation added to ``A`` at the probe
point, which is exactly ``dS/dA``.

Post-processing. The paper applies ReLU to ``L`` and then upsamples it
bilinearly to the input size (``order="relu_resize"``, the default). Other
code resizes first and applies ReLU afterwards (``order="resize_relu"``);
because bilinear interpolation mixes positive and negative cells, the two
differ near the zero crossings. Normalisation (e.g. dividing by the maximum) is
left to :mod:`segxai_jax.postprocess` so that raw maps stay
comparable between models.

References:
  Vinogradova, Dibrov, Myers. Towards interpretable semantic segmentation via
  gradient-weighted class activation mapping. AAAI 2020 (student abstract),
  arXiv:2002.11434.
  Selvaraju et al. Grad-CAM: Visual explanations from deep networks via
  gradient-based localization. ICCV 2017.
  Draelos, Carin. Use HiResCAM instead of Grad-CAM for faithful explanations of
  convolutional neural networks. arXiv:2011.08891, 2020.
  Fu et al. Axiom-based Grad-CAM: Towards accurate visualization and
  explanation of CNNs (XGrad-CAM). BMVC 2020, arXiv:2008.02312.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.explainers.nan_inputs import input_validity
from segxai_jax.probes import Probe
from segxai_jax.targets import Target, check_score_options, target_score

WEIGHTINGS = ("grad_cam", "hires_cam", "xgrad_cam")
ORDERS = ("relu_resize", "resize_relu")


def check_probe(probe, name: str = "probe") -> None:
    """A :class:`~segxai_jax.probes.Probe`; an apply function is refused."""
    validation.check_instance(
        probe,
        name,
        Probe,
        "activation-space methods need a layer: segxai_jax.make_probe(model, "
        "layer, input_shape=...)",
    )


def activation_gradients(
    probe: Probe,
    params,
    x: jax.Array,
    target: Target,
    *,
    score_reduction: str = "sum",
    score_space: str = "logits",
):
    """Activations, their gradient and the score, from one forward + backward.

    Args:
      probe: where to look (see :func:`segxai_jax.probes.make_probe`).
      params: model weights.
      x: one image ``[H, W, C]``.
      target: class and ROI ``[H, W]``.
      score_reduction: ``"sum"`` or ``"mean"`` over the ROI.
      score_space: ``"logits"`` or ``"probabilities"``.

    Returns:
      ``(A [u, v, Kc], dS/dA [u, v, Kc], S [])``.
    """

    def score_of_delta(delta):
        logits, activations = probe.forward(params, x, lambda a: a + delta)
        validation.check_class_id(target, logits.shape[-1])
        score = target_score(
            logits, target, reduction=score_reduction, space=score_space
        )
        # NaN in the input: NaN score, gradients and map, never zeros.
        return score * input_validity(x), activations

    shape = jax.eval_shape(probe.activations, params, x)
    delta = jnp.zeros(shape.shape, shape.dtype)
    (score, activations), grads = jax.value_and_grad(score_of_delta, has_aux=True)(
        delta
    )
    # ReLU's zero derivative at NaN would hide a NaN input: make it NaN.
    return activations, grads * input_validity(x).astype(grads.dtype), score


def grad_cam_weights(
    activations: jax.Array, gradients: jax.Array, *, weighting: str = "grad_cam"
) -> jax.Array:
    """Channel weights ``alpha [Kc]`` of Grad-CAM or XGrad-CAM.

    Args:
      activations: ``A [u, v, Kc]``.
      gradients: ``dS/dA [u, v, Kc]``.
      weighting: ``"grad_cam"`` (spatial mean of the gradient) or
        ``"xgrad_cam"`` (gradient averaged with weights ``A / sum A``; a channel
        whose activations sum to 0 gets weight 0 instead of a division by 0).

    Returns:
      ``alpha [Kc]``; pooled over every grid axis (``[d, u, v, Kc]`` of a 3-D
      layer pools over ``d, u, v``).
    """
    validation.check_choice(weighting, "weighting", ("grad_cam", "xgrad_cam"))
    grid_axes = tuple(range(activations.ndim - 1))
    if weighting == "grad_cam":
        return gradients.mean(axis=grid_axes)
    if weighting == "xgrad_cam":
        totals = activations.sum(axis=grid_axes)
        nonzero = totals != 0
        safe = jnp.where(nonzero, totals, 1.0)
        return jnp.where(
            nonzero, (activations * gradients).sum(axis=grid_axes) / safe, 0.0
        )
    raise ValueError(
        f"weighting: expected 'grad_cam' or 'xgrad_cam' for channel weights, got "
        f"{weighting!r}"
    )


def resolve_output_size(output_size, image_hw):
    """Resolves an ``output_size`` option to ``(H, W)`` or ``None``.

    Args:
      output_size: ``"input"``, ``None`` or ``(H, W)`` (``(D, H, W)`` for
        volumes).
      image_hw: the input's spatial shape, used for ``"input"``.
    """
    if isinstance(output_size, str):
        if output_size != "input":
            raise ValueError(
                f"output_size: expected 'input', None or (H, W), got {output_size!r}"
            )
        return None if image_hw is None else tuple(image_hw)
    if output_size is None:
        return None
    length = None if image_hw is None else len(image_hw)
    return validation.check_int_sequence(
        output_size, "output_size", length=length, minimum=1
    )


def finish_cam(
    cam: jax.Array, output_hw, *, relu: bool = True, order: str = "relu_resize"
) -> jax.Array:
    """ReLU and bilinear resize of a coarse map ``[u, v]``, in the given order.

    Args:
      cam: ``[u, v]``.
      output_hw: ``(H, W)`` or ``None`` (no resize).
      relu: keep only positive evidence.
      order: ``"relu_resize"`` (the paper's) or ``"resize_relu"``.

    Returns:
      ``[H, W]`` (``[u, v]`` when ``output_hw`` is None). Resizing uses
      ``jax.image.resize(..., "bilinear")`` with half-pixel centres (PyTorch's
      ``align_corners=False``); a 3-D map ``[d, u, v]`` is resized trilinearly.
    """
    if order not in ORDERS:
        raise ValueError(f"order: expected one of {ORDERS}, got {order!r}")

    def resize(m):
        if output_hw is None or tuple(m.shape) == tuple(output_hw):
            return m
        return jax.image.resize(m, output_hw, method="bilinear")

    if order == "relu_resize":
        return resize(jax.nn.relu(cam) if relu else cam)
    resized = resize(cam)
    return jax.nn.relu(resized) if relu else resized


def seg_grad_cam(
    probe: Probe,
    *,
    weighting: str = "grad_cam",
    score_reduction: str = "sum",
    score_space: str = "logits",
    relu: bool = True,
    order: str = "relu_resize",
    output_size="input",
) -> Callable:
    """Seg-Grad-CAM (and HiRes-CAM, XGrad-CAM) at a probe point.

    Args:
      probe: the layer to explain, e.g. ``make_probe(model, "bottleneck",
        input_shape=(64, 64, 3))``. The paper finds the U-Net bottleneck gives
        object-plus-context maps, early layers edges, late decoder layers maps
        that resemble the output.
      weighting: ``"grad_cam"`` (the paper's), ``"hires_cam"`` or
        ``"xgrad_cam"``.
      score_reduction: ``"sum"`` (the paper's) or ``"mean"`` over the ROI.
      score_space: ``"logits"`` (the paper's text) or ``"probabilities"`` (its
        official code differentiates the softmax output).
      relu: apply ReLU to the map (the paper does).
      order: ``"relu_resize"`` (the paper's) or ``"resize_relu"``.
      output_size: ``"input"`` (resize to the image's ``H x W``), ``None`` (the
        probe's ``u x v``) or an explicit ``(H, W)``.

    Returns:
      ``explain(key, params, x [H, W, C], target) -> [H, W]`` (or ``[u, v]``;
      a volume ``[D, H, W, C]`` with a 3-D layer gives ``[D, H, W]``; a
      pytree input, e.g. RGB + depth, a map of ``target.mask``'s shape);
      deterministic (``key`` is ignored), pure, jittable, vmappable and
      differentiable with respect to ``x`` (second order: use a smooth
      activation such as softplus for non-zero input gradients).
    """
    validation.check_choice(weighting, "weighting", WEIGHTINGS)

    def combine(activations, grads):
        if weighting == "hires_cam":
            return (grads * activations).sum(axis=-1)
        return activations @ grad_cam_weights(activations, grads, weighting=weighting)

    return cam_explainer(
        probe,
        combine,
        score_reduction=score_reduction,
        score_space=score_space,
        relu=relu,
        order=order,
        output_size=output_size,
    )


def cam_explainer(
    probe: Probe,
    combine: Callable,
    *,
    score_reduction: str,
    score_space: str,
    relu: bool,
    order: str,
    output_size,
) -> Callable:
    """A CAM explainer from a channel combination of ``(A, dS/dA)``.

    Args:
      probe: the layer.
      combine: ``combine(A [..., Kc], dS/dA [..., Kc]) -> cam [...]`` on the
        layer's grid.
      score_reduction, score_space, relu, order, output_size: as
        :func:`seg_grad_cam`.

    Returns:
      ``explain(key, params, x, target) -> map`` (``key`` ignored): one
      forward and backward pass to the layer, ``combine``, then ReLU and
      resize (:func:`finish_cam`).
    """
    check_probe(probe)
    validation.check_choice(order, "order", ORDERS)
    validation.check_bool(relu, "relu")
    check_score_options(score_reduction, score_space)
    resolve_output_size(output_size, None)  # validates now rather than at call time

    def explain(key, params, x, target):
        del key
        validation.check_input(x, target, allow_tree=True)
        activations, grads, _ = activation_gradients(
            probe,
            params,
            x,
            target,
            score_reduction=score_reduction,
            score_space=score_space,
        )
        cam = combine(activations, grads)
        # The map lives on the output's grid: target.mask's shape (the input's
        # spatial shape for an array input).
        spatial = target.mask.shape
        return finish_cam(
            cam, resolve_output_size(output_size, spatial), relu=relu, order=order
        )

    return validation.attach_class_count(explain, probe.class_count)


def hires_cam(probe: Probe, **options) -> Callable:
    """HiRes-CAM: ``L = sum_k dS/dA^k * A^k`` element-wise (no pooled weights).

    :func:`seg_grad_cam` with ``weighting="hires_cam"``; ``options`` are the
    other keyword arguments of :func:`seg_grad_cam`. Unlike Grad-CAM, each cell
    keeps its own gradient, so the map is the exact first-order contribution
    of the layer's activations to the score.

    References:
      Draelos, Carin. Use HiResCAM instead of Grad-CAM for faithful explanations
      of convolutional neural networks. arXiv:2011.08891, 2020.
    """
    return seg_grad_cam(probe, weighting="hires_cam", **options)


def xgrad_cam(probe: Probe, **options) -> Callable:
    """XGrad-CAM: weights ``alpha_k = sum_{u,v} (A^k / sum_{u,v} A^k) dS/dA^k``.

    :func:`seg_grad_cam` with ``weighting="xgrad_cam"``; ``options`` are the
    other keyword arguments of :func:`seg_grad_cam`. The weighting CAM-NAS used
    for its classification teacher-student search.

    References:
      Fu et al. Axiom-based Grad-CAM: Towards accurate visualization and
      explanation of CNNs. BMVC 2020, arXiv:2008.02312.
    """
    return seg_grad_cam(probe, weighting="xgrad_cam", **options)
