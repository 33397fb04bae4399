"""Small multiples: one panel of mean curves per condition (e.g. substrate)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
import numpy as np

from segxai_jax.viz._figures import _new_figure, _save

__all__ = ["curve_panels"]


def curve_panels(
    panels: Mapping[str, Mapping[str, object]],
    path,
    *,
    baseline: str | None = None,
    columns: int = 5,
    xlabel: str = "fraction of pixels moved",
    ylabel: str = "score",
    dpi: int = 100,
) -> str:
    """Saves small multiples: one panel of mean curves per condition.

    Args:
      panels: panel title (e.g. a substrate) -> method -> mean curve ``[n + 1]``
        sampled at evenly spaced points of ``[0, 1]``; NaN points are skipped.
      path: PNG file to write.
      baseline: a method drawn as a black dashed line in every panel.
      columns: panels per row.
      xlabel: x-axis label of the bottom row.
      ylabel: y-axis label of the left column.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    if not panels:
        raise ValueError("panels: expected at least one panel")
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns: expected an int >= 1, got {columns!r}")
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    fig = _new_figure((2.9 * columns + 1.6, 2.4 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    colours = matplotlib.colormaps["tab20"].colors
    names = list(dict.fromkeys(n for curves in panels.values() for n in curves))
    for ax, (title, curves) in zip(axes, panels.items(), strict=False):
        for index, name in enumerate(names):
            if name not in curves:
                continue
            curve = np.asarray(curves[name], np.float64)
            if curve.ndim != 1 or curve.size < 2:
                raise ValueError(
                    f"panels[{title!r}][{name!r}]: expected a curve [n + 1] with "
                    f"n >= 1, got shape {curve.shape}"
                )
            if name == baseline:
                style = {"color": "black", "linestyle": "--", "linewidth": 1.8}
            else:
                style = {"color": colours[index % len(colours)], "linewidth": 1.2}
            ax.plot(np.linspace(0, 1, curve.size), curve, label=name, **style)
        ax.set_title(title, fontsize=9)
        ax.set_xlim(0.0, 1.0)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[(rows - 1) * columns :]:
        ax.set_xlabel(xlabel, fontsize=8)
    for ax in axes[::columns]:
        ax.set_ylabel(ylabel, fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="center right")
    fig.subplots_adjust(right=1 - 1.5 / (2.9 * columns + 1.6), hspace=0.45)
    return _save(fig, path, dpi)
