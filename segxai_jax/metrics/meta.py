"""Meta-evaluation: is a metric itself trustworthy? (MetaQuantus' idea.)

A quality metric of explanations should react to a disruptive change (the
model's learned weights replaced by random ones: the explanation no longer
reflects the model, so its score should move) and resist a minor one (a small
input noise that leaves the prediction unchanged: the score should stay). With
per-image scores of one metric under the three conditions,
:func:`metric_sanity` reports

* ``reactivity``: ``P(|d_disruptive| > |d_minor|)`` over pairs of images, the
  probability that the score moved more under randomisation than under noise
  (a Mann-Whitney AUC; ties count one half). 1 = always, 0.5 = no better than
  chance: a metric near 0.5 cannot tell a trained model's explanation from a
  random model's beyond its own noise;
* ``noise_resilience``: ``1 - median(|d_minor|) / (IQR of the clean scores)``,
  how small the noise-induced change is relative to the spread of the scores
  across images (1 = no change; <= 0 = noise moves a score as much as the
  image does); NaN when the clean scores do not spread;
* the medians of ``|d_minor|`` and ``|d_disruptive|``.

Pure numpy on given scores: how the conditions are produced (noise level,
which layers are randomised) is the caller's, stated with the results.

References:
  Hedstroem, Bommer, Wickstroem, Samek, Lapuschkin, Hoehne. The meta-evaluation
  problem in explainable AI: identifying reliable estimators with MetaQuantus.
  TMLR 2023.
  Adebayo et al. Sanity checks for saliency maps. NeurIPS 2018.
"""

from __future__ import annotations

import numpy as np

__all__ = ["metric_sanity"]


def _scores(values, name: str, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size < 2:
        raise ValueError(
            f"{name}: expected per-image scores [N] with N >= 2, got shape "
            f"{array.shape}"
        )
    if length is not None and array.size != length:
        raise ValueError(
            f"{name}: expected {length} scores (one per image of clean), got "
            f"{array.size}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite scores, found NaN or inf")
    return array


def metric_sanity(clean, minor, disruptive) -> dict[str, float]:
    """How a metric's per-image scores react to randomisation and to noise.

    Args:
      clean: ``[N]`` scores of the trained model's explanations.
      minor: ``[N]`` scores of the same images with a small input noise.
      disruptive: ``[N]`` scores of a randomised model's explanations.

    Returns:
      dict with ``reactivity``, ``noise_resilience``, ``median_minor_change``
      and ``median_disruptive_change`` (see the module docstring).

    Raises:
      ValueError: fewer than 2 images, lengths that differ, non-finite scores.
    """
    clean = _scores(clean, "clean")
    minor = np.abs(_scores(minor, "minor", clean.size) - clean)
    disruptive = np.abs(_scores(disruptive, "disruptive", clean.size) - clean)
    greater = (disruptive[:, None] > minor[None, :]).mean()
    ties = (disruptive[:, None] == minor[None, :]).mean()
    low, high = np.percentile(clean, [25, 75])
    spread = high - low
    resilience = 1.0 - np.median(minor) / spread if spread > 0 else float("nan")
    return {
        "reactivity": float(greater + 0.5 * ties),
        "noise_resilience": float(resilience),
        "median_minor_change": float(np.median(minor)),
        "median_disruptive_change": float(np.median(disruptive)),
    }
