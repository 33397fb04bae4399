"""Off-target leakage: how much of an explanation lies outside its target.

A segmentation explanation of a region should put its relevance on that region
(and its context), not on other objects. Two measures on one map ``[H, W]``:

* :func:`off_target_leakage`: share of the positive relevance outside the
  target region (``1 - relevance_mass``, spelled out so that a benchmark table
  reads "lower is better" without arithmetic);
* :func:`class_mass`: share of the positive relevance on each class's pixels
  of a label map; its entries for classes other than the target and the
  background are the leakage onto other objects.

Both ignore negative relevance (as relevance mass does) and give 0 for a map
without positive relevance. Value checks (finite maps, non-empty regions, label
ids) run only on concrete arrays; ``jax.vmap`` handles batches.

References:
  Arras, Osman, Samek. CLEVR-XAI: a benchmark dataset for the ground truth
  evaluation of neural network explanations. Information Fusion 81, 2022
  (relevance mass).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.metrics._maps import as_float, check_map, is_concrete, safe_divide
from segxai_jax.metrics.localisation import relevance_mass


def off_target_leakage(saliency: jax.Array, region: jax.Array) -> jax.Array:
    """Share of the positive relevance outside ``region``: 0 best, 1 worst.

    Args:
      saliency: map ``[H, W]``.
      region: the explained region ``[H, W]`` (inside where ``> 0``).

    Returns:
      a float32 scalar in ``[0, 1]``; 0 for a map without positive relevance.
    """
    mass = relevance_mass(saliency, region)
    positive = jnp.sum(jnp.maximum(as_float(saliency), 0.0)) > 0
    return jnp.where(positive, 1.0 - mass, 0.0)


def class_mass(saliency: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
    """Share of the positive relevance on the pixels of each class.

    Args:
      saliency: map ``[H, W]``.
      labels: class id per pixel ``[H, W]``, integers in ``[0, num_classes)``.
      num_classes: K.

    Returns:
      ``[K]`` float32 shares summing to 1 (all 0 for a map without positive
      relevance).

    Raises:
      ValueError: shapes that differ, non-integer labels, or (concrete
        arrays) labels outside ``[0, K)``.
    """
    check_map(saliency, name="saliency")
    validation.check_int(num_classes, "num_classes", minimum=1)
    if tuple(np.shape(labels)) != tuple(saliency.shape):
        raise ValueError(
            f"labels: expected shape {tuple(saliency.shape)} (the saliency map's), "
            f"got {tuple(np.shape(labels))}"
        )
    labels_dtype = getattr(labels, "dtype", None)
    if labels_dtype is None:
        labels_dtype = np.asarray(labels).dtype
    if not np.issubdtype(labels_dtype, np.integer):
        raise ValueError(
            f"labels: expected integer class ids, got dtype {labels_dtype}"
        )
    if is_concrete(labels):
        values = np.asarray(labels)
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"labels: expected class ids in [0, {num_classes}), got min "
                f"{values.min()} max {values.max()}"
            )
    positive = jnp.maximum(as_float(saliency), 0.0)
    one_hot = jax.nn.one_hot(jnp.asarray(labels), num_classes, dtype=positive.dtype)
    per_class = jnp.einsum("hw,hwk->k", positive, one_hot)
    return safe_divide(per_class, jnp.sum(positive), 0.0)
