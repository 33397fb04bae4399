"""Per-image measurements of an attack on explanations, with the deployed model.

After :func:`~segxai_jax.attacks.explanation_attack` the adversarial images are
judged with the model as deployed (ReLU, ``apply_at(None)``), never with the
softplus surrogate the attack optimised:

* :func:`explanation_metrics`: MSE, SSIM and Pearson correlation of the
  explanation of ``x'`` against the target ``h_t`` and against the explanation
  of ``x``; plus those of ``h(x)`` against ``h_t`` (how far the target was to
  begin with). The same function re-measures the explanation with a defence
  (another explainer: a smoothed model, SmoothGrad) on the same images.
* :func:`output_metrics`: agreement of the argmax maps of ``f(x')`` and
  ``f(x)``, their mIoU, the MSE of the probabilities and, with labels, the
  change of mIoU against the ground truth.
* :func:`input_metrics`: L2 and L-inf norm of ``x' - x`` and PSNR.

Maps are compared as heatmaps (:func:`normalize_heatmap`); the MSE is that of
the heatmaps rescaled to mean 1 (``H * W`` times the sum-1 heatmap), so a value
reads relative to a uniform map, whatever the image size. SSIM min-max
normalises both maps (:func:`segxai_jax.metrics.similarity.ssim`).

All functions take batches, are pure and jittable, and return a dict of
``[B]`` arrays.

References:
  Dombrowski, Alber, Anders, Ackermann, Mueller, Kessel. Explanations can be
  manipulated and geometry is to blame. NeurIPS 2019.
  Gipiškis, Chiaro, Annunziata, Piccialli. The impact of adversarial attacks on
  interpretable semantic segmentation in cyber-physical systems. IEEE Systems
  Journal 17(4), 2023.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from segxai_jax.attacks.explanation_attack import normalize_heatmap
from segxai_jax.metrics.segmentation import confusion_matrix
from segxai_jax.metrics.similarity import pearson, ssim
from segxai_jax.targets import Target


def map_similarity(a: jax.Array, b: jax.Array) -> dict[str, jax.Array]:
    """MSE (heatmaps at mean 1), SSIM and Pearson of two maps ``[H, W]``."""
    scale = a.shape[0] * a.shape[1]
    ha, hb = normalize_heatmap(a) * scale, normalize_heatmap(b) * scale
    return {
        "mse": jnp.mean(jnp.square(ha - hb)),
        "ssim": ssim(ha, hb),
        "pearson": pearson(ha, hb),
    }


def explain_images(explainer, key, params, x, targets: Target) -> jax.Array:
    """Heatmaps ``[B, H, W]`` of a batch; image ``i`` gets ``split(key, B)[i]``."""
    keys = jax.random.split(key, x.shape[0])
    maps = jax.vmap(explainer, (0, None, 0, 0))(keys, params, x, targets)
    return jax.vmap(normalize_heatmap)(maps)


def explanation_metrics(
    explainer: Callable,
    key: jax.Array,
    params,
    x: jax.Array,
    x_adv: jax.Array,
    target_maps: jax.Array,
    targets: Target,
) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
    """How far the explanation moved, measured with ``explainer``.

    Args:
      explainer: ``explain(key, params, x, target) -> map`` (the deployed
        model's, or a defence's).
      key: explainer key; ``x`` and ``x_adv`` use the same per-image keys.
      params: model weights.
      x: clean images ``[B, H, W, C]``.
      x_adv: adversarial images ``[B, H, W, C]``.
      target_maps: ``[B, H, W]``.
      targets: one :class:`~segxai_jax.targets.Target` per image (batched).

    Returns:
      ``(metrics, clean_maps [B, H, W], adversarial_maps [B, H, W])``; metrics
      ``{to_target, to_original, before_to_target}_{mse, ssim, pearson}`` for
      ``h(x')`` vs ``h_t``, ``h(x')`` vs ``h(x)`` and ``h(x)`` vs ``h_t``.
    """
    clean = explain_images(explainer, key, params, x, targets)
    adversarial = explain_images(explainer, key, params, x_adv, targets)
    metrics = {}
    pairs = {
        "to_target": (adversarial, target_maps),
        "to_original": (adversarial, clean),
        "before_to_target": (clean, target_maps),
    }
    for name, (a, b) in pairs.items():
        for metric, values in jax.vmap(map_similarity)(a, b).items():
            metrics[f"{name}_{metric}"] = values
    return metrics, clean, adversarial


def _image_miou(predicted: jax.Array, reference: jax.Array, num_classes: int):
    """mIoU of one label map against another over the classes in either."""
    confusion = confusion_matrix(predicted, reference, num_classes).astype(jnp.float32)
    hits = jnp.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - hits
    present = union > 0
    iou = jnp.where(present, hits / jnp.where(present, union, 1.0), 0.0)
    return jnp.sum(iou) / jnp.maximum(jnp.sum(present), 1)


def output_metrics(
    apply_fn: Callable,
    params,
    x: jax.Array,
    x_adv: jax.Array,
    labels: jax.Array | None = None,
) -> dict[str, jax.Array]:
    """How much the segmentation changed.

    Args:
      apply_fn: the deployed model, ``apply_fn(params, x [H, W, C]) -> logits``.
      params: model weights.
      x: clean images ``[B, H, W, C]``.
      x_adv: adversarial images ``[B, H, W, C]``.
      labels: optional ground truth ``[B, H, W]`` int.

    Returns:
      ``pixel_agreement`` (share of pixels with the same argmax),
      ``miou_to_clean`` (mIoU of the adversarial prediction against the clean
      one), ``prob_mse`` (mean squared difference of the softmax outputs over
      pixels and classes); with labels also ``miou_clean``, ``miou_adv`` and
      ``miou_change = miou_adv - miou_clean``.
    """
    logits = jax.vmap(apply_fn, (None, 0))(params, jnp.concatenate([x, x_adv]))
    clean, adversarial = jnp.split(logits, 2)
    num_classes = logits.shape[-1]
    pred_clean, pred_adv = clean.argmax(-1), adversarial.argmax(-1)
    miou = jax.vmap(_image_miou, (0, 0, None))
    metrics = {
        "pixel_agreement": jnp.mean(pred_clean == pred_adv, axis=(1, 2)),
        "miou_to_clean": miou(pred_adv, pred_clean, num_classes),
        "prob_mse": jnp.mean(
            jnp.square(jax.nn.softmax(adversarial) - jax.nn.softmax(clean)),
            axis=(1, 2, 3),
        ),
    }
    if labels is not None:
        if labels.shape != pred_clean.shape:
            raise ValueError(
                f"labels: expected shape {pred_clean.shape}, got {labels.shape}"
            )
        metrics["miou_clean"] = miou(pred_clean, labels, num_classes)
        metrics["miou_adv"] = miou(pred_adv, labels, num_classes)
        metrics["miou_change"] = metrics["miou_adv"] - metrics["miou_clean"]
    return metrics


def input_metrics(x: jax.Array, x_adv: jax.Array) -> dict[str, jax.Array]:
    """``input_l2``, ``input_linf`` of ``x' - x`` and ``input_psnr`` (range 1, dB).

    Args:
      x: clean images ``[B, H, W, C]`` in ``[0, 1]``.
      x_adv: adversarial images ``[B, H, W, C]``.

    Returns:
      ``[B]`` arrays; PSNR is ``inf`` for an unchanged image.
    """
    delta = (x_adv - x).reshape(x.shape[0], -1)
    mse = jnp.mean(jnp.square(delta), axis=1)
    return {
        "input_l2": jnp.sqrt(jnp.sum(jnp.square(delta), axis=1)),
        "input_linf": jnp.max(jnp.abs(delta), axis=1),
        "input_psnr": -10.0 * jnp.log10(mse),
    }


def evaluate_attack(
    apply_fn: Callable,
    explainer: Callable,
    key: jax.Array,
    params,
    x: jax.Array,
    x_adv: jax.Array,
    target_maps: jax.Array,
    targets: Target,
    labels: jax.Array | None = None,
) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
    """All per-image measurements of an attack with the deployed model.

    Args:
      apply_fn: the deployed model (``apply_at(None)``).
      explainer: the deployed explainer (``explainer_at(None)``).
      key: explainer key (SmoothGrad: pass a key the attack did not use).
      params: model weights.
      x: clean images ``[B, H, W, C]``.
      x_adv: adversarial images ``[B, H, W, C]``.
      target_maps: ``[B, H, W]``.
      targets: batched :class:`~segxai_jax.targets.Target`.
      labels: optional ground truth ``[B, H, W]``.

    Returns:
      ``(metrics, clean_maps, adversarial_maps)``: the union of
      :func:`explanation_metrics`, :func:`output_metrics` and
      :func:`input_metrics`, each ``[B]``, and the heatmaps ``[B, H, W]``.
    """
    metrics, clean, adversarial = explanation_metrics(
        explainer, key, params, x, x_adv, target_maps, targets
    )
    metrics.update(output_metrics(apply_fn, params, x, x_adv, labels))
    metrics.update(input_metrics(x, x_adv))
    return metrics, clean, adversarial
