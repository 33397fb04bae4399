"""Figures for reports: saliency overlays, explanation grids, segmentations, curves.

Figures are built as ``matplotlib.figure.Figure`` objects and written with the
Agg renderer; ``pyplot`` is never imported, so nothing here touches global
figure state or needs a display. Inputs may be NumPy or JAX arrays.

Saliency maps are drawn as given: each map uses its own colour limits (its min
and max) unless ``vmin``/``vmax`` are passed, so post-process (e.g.
:func:`segxai_jax.postprocess.min_max`) first when maps must share a scale.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Background black, then the ten tab10 colours (one per digit class of the
# default dataset), then tab20b for datasets with more classes.
_PALETTE = np.concatenate(
    [
        np.zeros((1, 3)),
        np.asarray(matplotlib.colormaps["tab10"].colors)[:, :3],
        np.asarray(matplotlib.colormaps["tab20b"].colors)[:, :3],
    ]
)


def class_colormap(num_classes: int) -> ListedColormap:
    """A fixed categorical colour map: class 0 black, classes 1-10 tab10, ..."""
    if not 1 <= num_classes <= len(_PALETTE):
        raise ValueError(
            f"num_classes: expected 1 to {len(_PALETTE)} classes, got {num_classes}"
        )
    return ListedColormap(_PALETTE[:num_classes], name=f"classes{num_classes}")


def _image(image) -> np.ndarray:
    image = np.asarray(image, np.float32)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"image: expected [H, W, 3] (or 1 channel), got {image.shape}")
    image = np.clip(image, 0.0, 1.0)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _new_figure(figsize) -> Figure:
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)  # render with Agg whatever pyplot's backend is
    return fig


def _save(fig: Figure, path, dpi: int) -> str:
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def _check_images(images) -> np.ndarray:
    """Converts a batch of grid images, checking it is ``[N, H, W, 3]``.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.

    Returns:
      ``images`` as a NumPy array.

    Raises:
      ValueError: ``images`` is not 4-dimensional.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected [N, H, W, 3], got shape {images.shape}")
    return images


def _check_grid_maps(
    maps_by_method: Mapping[str, object], count: int
) -> dict[str, np.ndarray]:
    """Converts the maps of a grid, checking each is ``[count, h, w]``.

    Args:
      maps_by_method: column title -> maps ``[count, h, w]``.
      count: number of images (rows) of the grid.

    Returns:
      The maps as NumPy arrays, in the order of ``maps_by_method``.

    Raises:
      ValueError: a map stack has another rank or number of rows.
    """
    maps = {name: np.asarray(m) for name, m in maps_by_method.items()}
    for name, m in maps.items():
        if m.ndim != 3 or m.shape[0] != count:
            raise ValueError(
                f"maps_by_method[{name!r}]: expected [{count}, h, w], got {m.shape}"
            )
    return maps


def _check_row_labels(row_labels: Sequence[str] | None, count: int) -> None:
    """Checks that ``row_labels`` (when given) has one label per image.

    Args:
      row_labels: optional label per row.
      count: number of images (rows) of the grid.

    Raises:
      ValueError: ``row_labels`` has another length than ``count``.
    """
    if row_labels is not None and len(row_labels) != count:
        raise ValueError(
            f"row_labels: expected {count} labels (one per image), "
            f"got {len(row_labels)}"
        )


def _input_panel(ax, image, label: str | None = None) -> None:
    """Draws a grid's input panel: the image, with ``label`` written on its left.

    Args:
      ax: a matplotlib ``Axes``.
      image: ``[H, W, 3]`` in ``[0, 1]`` (clipped).
      label: optional row label, written vertically left of the panel.
    """
    ax.imshow(_image(image))
    ax.set_axis_off()
    if label is not None:
        ax.text(
            -0.05,
            0.5,
            label,
            rotation=90,
            va="center",
            ha="right",
            transform=ax.transAxes,
        )


def overlay(image, saliency, ax, *, alpha=0.5, cmap="jet", vmin=None, vmax=None):
    """Draws ``saliency`` over ``image`` on ``ax``.

    Args:
      image: ``[H, W, 3]`` with values in ``[0, 1]`` (clipped).
      saliency: ``[h, w]``; stretched over the image if its size differs (a
        CAM at layer resolution shows as blocks, honestly).
      ax: a matplotlib ``Axes``.
      alpha: opacity of the saliency layer.
      cmap: colour map name of the saliency layer.
      vmin: lower colour limit (default: the map's minimum).
      vmax: upper colour limit (default: the map's maximum).

    Returns:
      The saliency ``AxesImage`` (e.g. for a colour bar).
    """
    image = _image(image)
    saliency = np.asarray(saliency, np.float32)
    if saliency.ndim != 2:
        raise ValueError(f"saliency: expected [H, W], got shape {saliency.shape}")
    height, width = image.shape[:2]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    ax.imshow(image, extent=extent)
    layer = ax.imshow(
        saliency, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax, extent=extent
    )
    ax.set_axis_off()
    return layer


def explanation_grid(
    images,
    maps_by_method: Mapping[str, object],
    path,
    *,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Saves a grid: one row per image; columns = the input, then one per method.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.
      maps_by_method: method name -> maps ``[N, h, w]`` (column order = dict
        order), drawn as overlays with :func:`overlay`.
      path: PNG file to write (parent folders are created).
      titles: column titles; default ``["input", *method names]``.
      row_labels: optional label per row (e.g. the explained class).
      alpha: opacity of the saliency layer.
      cmap: colour map of the saliency layer.
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images = _check_images(images)
    count = images.shape[0]
    maps = _check_grid_maps(maps_by_method, count)
    titles = ["input", *maps] if titles is None else list(titles)
    if len(titles) != len(maps) + 1:
        raise ValueError(f"titles: expected {len(maps) + 1} titles, got {len(titles)}")
    _check_row_labels(row_labels, count)
    columns = len(maps) + 1
    fig = _new_figure((cell_inches * columns, cell_inches * count))
    axes = fig.subplots(count, columns, squeeze=False)
    for row in range(count):
        label = None if row_labels is None else str(row_labels[row])
        _input_panel(axes[row, 0], images[row], label)
        for col, m in enumerate(maps.values(), start=1):
            overlay(images[row], m[row], axes[row, col], alpha=alpha, cmap=cmap)
    for col, title in enumerate(titles):
        axes[0, col].set_title(title, fontsize=9)
    return _save(fig, path, dpi)


def segmentation_grid(
    images,
    masks,
    predictions,
    path,
    num_classes: int,
    *,
    class_names: Sequence[str] | None = None,
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Saves rows of (input, ground truth, prediction) with a fixed class palette.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.
      masks: ground-truth labels ``[N, H, W]`` int.
      predictions: predicted labels ``[N, H, W]`` int (argmax of the logits).
      path: PNG file to write.
      num_classes: K; colours come from :func:`class_colormap`.
      class_names: legend names (default: the class ids).
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images, masks, predictions = map(np.asarray, (images, masks, predictions))
    if images.ndim != 4 or masks.shape != images.shape[:3]:
        raise ValueError(
            f"images/masks: expected [N, H, W, 3] and [N, H, W], got {images.shape} "
            f"and {masks.shape}"
        )
    if predictions.shape != masks.shape:
        raise ValueError(
            f"predictions: expected shape {masks.shape} (labels, not logits), got "
            f"{predictions.shape}"
        )
    colours = class_colormap(num_classes)
    style = {"cmap": colours, "vmin": -0.5, "vmax": num_classes - 0.5}
    count = images.shape[0]
    fig = _new_figure((cell_inches * 3, cell_inches * count + 0.6))
    axes = fig.subplots(count, 3, squeeze=False)
    for row in range(count):
        axes[row, 0].imshow(_image(images[row]))
        axes[row, 1].imshow(masks[row], interpolation="nearest", **style)
        axes[row, 2].imshow(predictions[row], interpolation="nearest", **style)
        for ax in axes[row]:
            ax.set_axis_off()
    for ax, title in zip(axes[0], ("input", "ground truth", "prediction"), strict=True):
        ax.set_title(title, fontsize=9)
    names = class_names or [str(c) for c in range(num_classes)]
    handles = [Patch(color=colours(c), label=names[c]) for c in range(num_classes)]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=min(num_classes, 11),
        fontsize=7,
        frameon=False,
    )
    return _save(fig, path, dpi)


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


def fixed_scale_grid(
    images,
    maps_by_method: Mapping[str, object],
    path,
    *,
    vmin: float,
    vmax: float,
    row_labels: Sequence[str] | None = None,
    colorbar_label: str = "",
    alpha: float = 0.6,
    cmap: str = "jet",
    cell_inches: float = 2.0,
    dpi: int = 100,
) -> str:
    """Like :func:`explanation_grid` but every map shares one colour scale.

    Shows how strong maps are in absolute terms (e.g. a score drop as a
    fraction of the clean score on ``[0, 1]``), which per-map limits hide.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]``.
      maps_by_method: column title -> maps ``[N, h, w]``.
      path: PNG file to write.
      vmin: lower colour limit shared by all maps.
      vmax: upper colour limit shared by all maps.
      row_labels: optional label per row.
      colorbar_label: label of the shared colour bar.
      alpha: opacity of the saliency layer.
      cmap: colour map of the saliency layer.
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images = _check_images(images)
    if not vmax > vmin:
        raise ValueError(f"vmax: expected > vmin ({vmin}), got {vmax}")
    count = images.shape[0]
    maps = _check_grid_maps(maps_by_method, count)
    _check_row_labels(row_labels, count)
    columns = len(maps) + 1
    fig = _new_figure((cell_inches * columns + 0.8, cell_inches * count))
    axes = fig.subplots(count, columns, squeeze=False)
    layer = None
    for row in range(count):
        label = None if row_labels is None else str(row_labels[row])
        _input_panel(axes[row, 0], images[row], label)
        for col, m in enumerate(maps.values(), start=1):
            layer = overlay(
                images[row],
                m[row],
                axes[row, col],
                alpha=alpha,
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
            )
    for col, title in enumerate(["input", *maps]):
        axes[0, col].set_title(title, fontsize=9)
    if layer is not None:
        fig.colorbar(layer, ax=axes, shrink=0.8, label=colorbar_label)
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


def image_label_columns(
    images,
    labels,
    path,
    num_classes: int,
    *,
    titles: Sequence[str] | None = None,
    cell_inches: float = 1.8,
    dpi: int = 100,
) -> str:
    """Saves one column per image: the image above, a label map below.

    Args:
      images: ``[N, H, W, 3]`` in ``[0, 1]`` (e.g. occluded inputs).
      labels: ``[N, H, W]`` int label maps (e.g. the model's predictions).
      path: PNG file to write.
      num_classes: K; colours from :func:`class_colormap`.
      titles: optional title per column.
      cell_inches: size of one panel.
      dpi: resolution of the PNG.

    Returns:
      ``path`` as a string.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or labels.shape != images.shape[:3]:
        raise ValueError(
            f"images/labels: expected [N, H, W, 3] and [N, H, W], got {images.shape} "
            f"and {labels.shape}"
        )
    count = images.shape[0]
    if titles is not None and len(titles) != count:
        raise ValueError(f"titles: expected {count} titles, got {len(titles)}")
    style = {
        "cmap": class_colormap(num_classes),
        "vmin": -0.5,
        "vmax": num_classes - 0.5,
    }
    fig = _new_figure((cell_inches * count, cell_inches * 2))
    axes = fig.subplots(2, count, squeeze=False)
    for col in range(count):
        axes[0, col].imshow(_image(images[col]))
        axes[1, col].imshow(labels[col], interpolation="nearest", **style)
        axes[0, col].set_axis_off()
        axes[1, col].set_axis_off()
        if titles is not None:
            axes[0, col].set_title(str(titles[col]), fontsize=8)
    return _save(fig, path, dpi)
