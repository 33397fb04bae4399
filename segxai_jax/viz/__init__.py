"""Figures for reports: saliency overlays, explanation grids, segmentations, curves.

Figures are built as ``matplotlib.figure.Figure`` objects and written with the
Agg renderer; ``pyplot`` is never imported, so nothing here touches global
figure state or needs a display. Inputs may be NumPy or JAX arrays.

Saliency maps are drawn as given: each map uses its own colour limits (its min
and max) unless ``vmin``/``vmax`` are passed, so post-process (e.g.
:func:`segxai_jax.postprocess.min_max`) first when maps must share a scale.
"""

from segxai_jax.viz._figures import class_colormap
from segxai_jax.viz.charts import (
    cost_quality_scatter,
    grouped_bars,
    matrix_heatmaps,
    mean_curves,
    training_curve,
)
from segxai_jax.viz.maps import (
    explanation_grid,
    fixed_scale_grid,
    image_label_columns,
    overlay,
)
from segxai_jax.viz.panels import curve_panels
from segxai_jax.viz.segmentation import segmentation_grid

__all__ = [
    "class_colormap",
    "cost_quality_scatter",
    "curve_panels",
    "explanation_grid",
    "fixed_scale_grid",
    "grouped_bars",
    "image_label_columns",
    "matrix_heatmaps",
    "mean_curves",
    "overlay",
    "segmentation_grid",
    "training_curve",
]
