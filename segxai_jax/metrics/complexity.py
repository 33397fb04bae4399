"""Complexity: how concentrated an explanation is.

Both metrics read the magnitudes ``|s|`` of one map ``[H, W]`` (sign is
ignored) and return a float scalar; ``jax.vmap`` handles batches. They are
differentiable (the sort in the Gini index has a gradient; ``0 log 0`` is
taken as 0 with a zero gradient). NaN/inf maps raise ``ValueError`` only when
concrete (outside ``jit``).

The arithmetic is compiled once per shape and option (an internal
``jax.jit``, inlined under an outer transformation), so eager calls in a loop
are cheap; the checks run before it, in Python.

References:
  Hedstroem et al. Quantus: an explainable AI toolkit for responsible
  evaluation of neural network explanations and beyond. JMLR 24(34), 2023.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from segxai_jax.metrics._maps import as_float, check_map, safe_divide


def sparseness(saliency: jax.Array) -> jax.Array:
    """Gini index of the magnitudes ``|s|`` of a map: 0 = flat, near 1 = sparse.

    With the ``n = H W`` magnitudes sorted ascending, ``x_(1) <= ... <= x_(n)``::

      G = sum_i (2 i - n - 1) x_(i) / (n sum_i x_(i)).

    A constant map gives 0; a map with a single non-zero pixel gives
    ``1 - 1 / n`` (the maximum). An all-zero map is defined as 0 (as flat as a
    constant map; Quantus's ``+ 1e-7`` leads to the same value).

    Args:
      saliency: map ``[H, W]``.

    Returns:
      A scalar in ``[0, 1 - 1 / n]``.

    Examples:
      >>> import jax.numpy as jnp
      >>> float(sparseness(jnp.zeros((2, 2)).at[0, 1].set(-5.0)))  # 1 - 1/4
      0.75
      >>> float(sparseness(jnp.ones((2, 2))))
      0.0

    References:
      Chalasani, Chen, Chowdhury, Wu, Jha. Concise explanations of neural
      networks using adversarial training. ICML 2020. Hurley, Rickard.
      Comparing measures of sparsity. IEEE Trans. Information Theory 55(10),
      2009.
    """
    check_map(saliency, name="saliency")
    return _sparseness(saliency)


@jax.jit
def _sparseness(saliency):
    values = jnp.sort(jnp.abs(as_float(saliency)).reshape(-1))
    n = values.size
    coefficients = 2.0 * jnp.arange(1, n + 1, dtype=values.dtype) - n - 1
    return safe_divide(jnp.sum(coefficients * values), n * jnp.sum(values), 0.0)


def entropy(saliency: jax.Array) -> jax.Array:
    """Shannon entropy (nats) of ``|s|`` normalised to sum 1: low = concentrated.

    ``p = |s| / sum |s|``, ``H = -sum p log p`` with ``0 log 0 = 0``. A uniform
    map gives ``log(H W)`` (the maximum), a single non-zero pixel 0. An
    all-zero map is defined as ``log(H W)`` (our choice: the limit of constant
    maps ``c -> 0``, which all give ``log(H W)``; it concentrates on nothing).

    Args:
      saliency: map ``[H, W]``.

    Returns:
      A scalar in ``[0, log(H W)]``.

    References:
      Bhatt, Weller, Moura. Evaluating and aggregating feature-based model
      explanations. IJCAI 2020 (the complexity criterion).
    """
    check_map(saliency, name="saliency")
    return _entropy(saliency)


@jax.jit
def _entropy(saliency):
    magnitudes = jnp.abs(as_float(saliency)).reshape(-1)
    total = jnp.sum(magnitudes)
    uniform = jnp.full_like(magnitudes, 1.0 / magnitudes.size)
    p = jnp.where(total > 0, safe_divide(magnitudes, total, 0.0), uniform)
    positive = p > 0
    terms = jnp.where(positive, p * jnp.log(jnp.where(positive, p, 1.0)), 0.0)
    return -jnp.sum(terms)
