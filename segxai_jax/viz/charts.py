"""Curves, scatters, heatmaps and bars of experiment results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np

# Background black, then the ten tab10 colours (one per digit class of the
# default dataset), then tab20b for datasets with more classes.
from segxai_jax.viz._figures import (
    _new_figure,
    _save,
)


def training_curve(history: Sequence[Mapping], path, *, dpi: int = 100) -> str:
    """Saves train loss and validation mIoU per epoch, side by side.

    Args:
      history: one dict per epoch with ``epoch``, ``train_loss`` and
        ``val_miou`` (as written by :mod:`segxai_jax.training`); missing or
        ``None`` values are skipped.
      path: PNG file to write.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    if not history:
        raise ValueError("history: expected at least one epoch")
    fig = _new_figure((8, 3))
    axes = fig.subplots(1, 2)
    for ax, key, label in zip(
        axes,
        ("train_loss", "val_miou"),
        ("train loss", "validation mIoU"),
        strict=True,
    ):
        points = [
            (entry["epoch"], entry[key])
            for entry in history
            if entry.get(key) is not None
        ]
        if points:
            epochs, values = zip(*points, strict=True)
            ax.plot(epochs, values, marker="o")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    return _save(fig, path, dpi)


def mean_curves(
    curves_by_method: Mapping[str, object],
    path,
    *,
    baseline: str | None = None,
    title: str = "",
    xlabel: str = "fraction of pixels moved",
    ylabel: str = "score",
    band: bool = True,
    dpi: int = 100,
) -> str:
    """Saves the mean curve of each method (e.g. deletion/insertion curves).

    Args:
      curves_by_method: method name -> curves ``[N, n + 1]`` sampled at ``n + 1``
        evenly spaced points of ``[0, 1]`` (one row per image/seed; NaN rows
        are ignored). Every method may have its own ``N`` and ``n``.
      path: PNG file to write.
      baseline: name of a reference method (e.g. the random baseline), drawn
        as a black dashed line.
      title: axes title.
      xlabel: x-axis label.
      ylabel: y-axis label.
      band: shade the mean +- one standard error.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    if not curves_by_method:
        raise ValueError("curves_by_method: expected at least one method")
    if baseline is not None and baseline not in curves_by_method:
        raise ValueError(
            f"baseline: expected one of {list(curves_by_method)}, got {baseline!r}"
        )
    fig = _new_figure((7, 4.5))
    ax = fig.subplots()
    colours = matplotlib.colormaps["tab20"].colors
    for index, (name, curves) in enumerate(curves_by_method.items()):
        curves = np.asarray(curves, np.float64)
        if curves.ndim != 2 or curves.shape[1] < 2:
            raise ValueError(
                f"curves_by_method[{name!r}]: expected [N, n + 1] with n >= 1, got "
                f"shape {curves.shape}"
            )
        curves = curves[~np.isnan(curves).any(axis=1)]
        if not len(curves):
            continue
        steps = np.linspace(0.0, 1.0, curves.shape[1])
        mean = curves.mean(axis=0)
        if name == baseline:
            style = {"color": "black", "linestyle": "--", "linewidth": 2.0}
        else:
            style = {"color": colours[index % len(colours)], "linewidth": 1.4}
        ax.plot(steps, mean, label=name, **style)
        if band and len(curves) > 1:
            error = curves.std(axis=0, ddof=1) / np.sqrt(len(curves))
            ax.fill_between(
                steps, mean - error, mean + error, color=style["color"], alpha=0.12
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(0.0, 1.0)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path, dpi)


def cost_quality_scatter(
    seconds,
    quality,
    path,
    *,
    labels: Sequence[str],
    errors=None,
    front: Sequence[int] = (),
    baseline: float | None = None,
    baseline_label: str = "random baseline",
    xlabel: str = "seconds per image (log scale)",
    ylabel: str = "quality",
    title: str = "",
    dpi: int = 100,
) -> str:
    """Saves a cost-vs-quality scatter with a logarithmic cost axis.

    Args:
      seconds: cost per method ``[M]`` (must be > 0 to be drawn on the log axis).
      quality: quality per method ``[M]``.
      path: PNG file to write.
      labels: ``M`` method names, written next to the points.
      errors: optional half-widths ``[M]`` of the quality's confidence
        intervals, drawn as vertical error bars (NaN = none).
      front: indices of the Pareto-optimal methods, joined by a step line.
      baseline: optional quality of a reference (e.g. the random baseline),
        drawn as a horizontal dashed line.
      baseline_label: legend label of ``baseline``.
      xlabel: x-axis label.
      ylabel: y-axis label.
      title: axes title.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    seconds = np.asarray(seconds, np.float64)
    quality = np.asarray(quality, np.float64)
    count = len(labels)
    if seconds.shape != (count,) or quality.shape != (count,):
        raise ValueError(
            f"seconds/quality: expected [{count}] values (one per label), got "
            f"{seconds.shape} and {quality.shape}"
        )
    drawable = (seconds > 0) & np.isfinite(seconds) & np.isfinite(quality)
    if not drawable.any():
        raise ValueError("seconds: expected at least one positive, finite cost")
    fig = _new_figure((7, 4.5))
    ax = fig.subplots()
    yerr = None
    if errors is not None:
        errors = np.asarray(errors, np.float64)
        if errors.shape != (count,):
            raise ValueError(f"errors: expected [{count}] values, got {errors.shape}")
        yerr = np.nan_to_num(errors[drawable], nan=0.0)
    ax.errorbar(
        seconds[drawable],
        quality[drawable],
        yerr=yerr,
        fmt="o",
        color="tab:blue",
        ecolor="tab:gray",
        capsize=3,
        label="method (mean, 95% CI)" if errors is not None else "method",
    )
    for i in np.flatnonzero(drawable):
        ax.annotate(
            labels[i],
            (seconds[i], quality[i]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    front = [i for i in front if drawable[i]]
    if front:
        order = sorted(front, key=lambda i: seconds[i])
        ax.step(
            seconds[order],
            quality[order],
            where="post",
            color="tab:red",
            linewidth=1.2,
            label="Pareto front",
        )
    if baseline is not None and np.isfinite(baseline):
        ax.axhline(baseline, color="black", linestyle="--", label=baseline_label)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path, dpi)


def matrix_heatmaps(
    matrices: Mapping[str, object],
    labels: Sequence[str],
    path,
    *,
    vmin: float = -1.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    cell_inches: float = 0.55,
    dpi: int = 100,
) -> str:
    """Saves square matrices (e.g. map similarity between fills) side by side.

    Args:
      matrices: panel title -> ``[L, L]`` values; cells are annotated.
      labels: the ``L`` row/column names.
      path: PNG file to write.
      vmin: lower colour limit.
      vmax: upper colour limit.
      cmap: colour map.
      cell_inches: size of one cell.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    mats = {name: np.asarray(m, np.float64) for name, m in matrices.items()}
    size = len(labels)
    if not mats:
        raise ValueError("matrices: expected at least one matrix")
    for name, m in mats.items():
        if m.shape != (size, size):
            raise ValueError(
                f"matrices[{name!r}]: expected [{size}, {size}] (one row per label), "
                f"got {m.shape}"
            )
    side = cell_inches * size + 1.2
    fig = _new_figure((side * len(mats), side))
    fig.set_layout_engine("constrained")  # keeps colour bars off the next panel
    axes = fig.subplots(1, len(mats), squeeze=False)[0]
    for ax, (name, m) in zip(axes, mats.items(), strict=True):
        image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_xticks(range(size), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(size), labels, fontsize=8)
        ax.set_title(name, fontsize=9)
        middle = (vmin + vmax) / 2
        for i in range(size):
            for j in range(size):
                if np.isfinite(m[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{m[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="black" if m[i, j] > middle else "white",
                    )
        fig.colorbar(image, ax=ax, shrink=0.8)
    return _save(fig, path, dpi)


def grouped_bars(
    panels: Mapping[str, Mapping[str, object]],
    categories: Sequence[str],
    path,
    *,
    ylabel: str = "",
    panel_inches: tuple[float, float] = (5.0, 3.2),
    dpi: int = 100,
) -> str:
    """Bar charts with confidence intervals, one panel per measured quantity.

    Args:
      panels: panel title -> {series name -> ``(means [C], lows [C], highs
        [C])``}; each series is one bar per category, error bars from ``lows``
        to ``highs`` (e.g. a 95 % confidence interval; NaN draws none).
      categories: the ``C`` group names on the x axis.
      path: PNG file to write.
      ylabel: y-axis label of every panel.
      panel_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    if not panels:
        raise ValueError("panels: expected at least one panel")
    count = len(categories)
    arrays = {}
    for title, series in panels.items():
        if not series:
            raise ValueError(f"panels[{title!r}]: expected at least one series")
        arrays[title] = {}
        for name, values in series.items():
            values = [np.asarray(v, np.float64) for v in values]
            shapes = [v.shape for v in values]
            if len(values) != 3 or any(shape != (count,) for shape in shapes):
                raise ValueError(
                    f"panels[{title!r}][{name!r}]: expected three arrays (means, "
                    f"lows, highs) of {count} values (one per category), got "
                    f"shapes {shapes}"
                )
            arrays[title][name] = values
    fig = _new_figure((panel_inches[0] * len(panels), panel_inches[1]))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, series) in zip(axes, arrays.items(), strict=True):
        width = 0.8 / len(series)
        for s, (name, (means, lows, highs)) in enumerate(series.items()):
            x = np.arange(count) + (s - (len(series) - 1) / 2) * width
            errors = np.stack([means - lows, highs - means])
            errors = np.where(np.isfinite(errors), np.maximum(errors, 0), 0)
            ax.bar(x, means, width, yerr=errors, capsize=2, label=name)
        crowded = count > 4
        ax.set_xticks(
            range(count),
            categories,
            fontsize=8,
            rotation=30 if crowded else 0,
            ha="right" if crowded else "center",
        )
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path, dpi)
