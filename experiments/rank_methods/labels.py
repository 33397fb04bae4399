"""How the ranking's metrics and numbers are written in the report."""

from __future__ import annotations

import math

LABELS = {
    "deletion_auc_rel": "deletion AUC (rel.) ↓",
    "insertion_auc_rel": "insertion AUC (rel.) ↑",
    "deletion_auc": "deletion AUC (abs.) ↓",
    "insertion_auc": "insertion AUC (abs.) ↑",
    "pointing_game": "pointing game ↑",
    "relevance_mass": "relevance mass ↑",
    "relevance_rank": "relevance rank ↑",
    "top_k_iou": "top-|M| IoU ↑",
    "sparseness": "sparseness ↑",
    "entropy": "entropy ↓",
    "avg_sensitivity": "avg-sensitivity ↓",
    "max_sensitivity": "max-sensitivity ↓",
    "randomisation_top": "rand. sim. top layer ↓",
    "randomisation_mean": "rand. sim. cascade mean ↓",
}


def number_text(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value != 0 and (abs(value) < 10 ** -(digits - 1) or abs(value) >= 1e4):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def ci_text(summary: dict) -> str:
    mean, half = summary["mean"], summary["half_width"]
    if isinstance(half, float) and math.isnan(half):
        return number_text(mean)
    return f"{number_text(mean)} ± {number_text(half)}"
