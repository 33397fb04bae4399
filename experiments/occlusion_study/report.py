"""Figures and the markdown report of :mod:`experiments.occlusion_study`."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.occlusion_study.sweeps import fill_substrate
from experiments.shared.findings import Finding, findings_markdown
from experiments.shared.options import as_namespace  # noqa: E402
from experiments.shared.stats import fmt_ci
from experiments.shared.tables import markdown_table, wall_time_section
from segxai_jax import viz
from segxai_jax.explainers import apply_fill, occlusion_windows
from segxai_jax.targets import box_roi


def make_figures(
    workdir,
    images,
    shown: list[tuple[int, dict, dict]],
    summary: dict,
    opts,
    spec_classes: int,
    dataset_mean,
    key_noise,
    predict,
) -> dict:
    """The study's figures.

    Args:
      workdir: where they go.
      images: the test images ``[N, H, W, C]`` (indexed by unit image).
      shown: per figure image, ``(index, maps, clean_score)``: its maps
        ``{"<fill> k=<patch>": [H, W]}`` and the clean target score per
        ``patch -> fill``.
      summary: :func:`~experiments.occlusion_study.measure.aggregate_units`.
      opts: the study's plan.
      spec_classes: K (for the label colours).
      dataset_mean, key_noise: the fills' substrates (as in the sweeps).
      predict: ``[B, H, W, C] -> labels [B, H, W]``.
    """
    fills, patches, ref = opts.fills, opts.patch_sizes, opts.reference_patch
    rows = [(i, maps, p) for i, maps, _ in shown for p in patches]
    grid = {f: np.stack([maps[f"{f} k={p}"] for _, maps, p in rows]) for f in fills}
    row_images = np.stack([np.asarray(images[i]) for i, _, _ in rows])
    figures = {
        "maps": viz.explanation_grid(
            row_images,
            grid,
            workdir / "occlusion_maps.png",
            row_labels=[f"image {i}, k={p}" for i, _, p in rows],
        )
    }
    relative = {
        f: np.stack(
            [
                maps[f"{f} k={ref}"] / max(abs(clean[str(ref)][f]), 1e-12)
                for _, maps, clean in shown
            ]
        )
        for f in fills
    }
    figures["fixed_scale"] = viz.fixed_scale_grid(
        np.stack([np.asarray(images[i]) for i, _, _ in shown]),
        relative,
        workdir / "occlusion_fixed_scale.png",
        vmin=0.0,
        vmax=1.0,
        colorbar_label="drop of S_c / |S_c| (fixed scale)",
        row_labels=[f"image {i}, k={ref}" for i, _, _ in shown],
    )
    sim = summary["similarity"]["between_fills"][str(ref)]
    figures["similarity"] = viz.matrix_heatmaps(
        {f"Spearman, k={ref}": sim["spearman"], f"SSIM, k={ref}": sim["ssim"]},
        fills,
        workdir / "fill_similarity.png",
    )
    summaries = summary["summaries"]

    def bars(metric):
        return {
            f"k={p}": tuple(
                np.asarray([summaries[str(p)][f][metric][k] for f in fills])
                for k in ("mean", "ci_low", "ci_high")
            )
            for p in patches
        }

    figures["distortion"] = viz.grouped_bars(
        {
            "occluded background predicted as digit": bars("fake_digit_fraction"),
            "labels changed outside the patch": bars("changed_outside"),
        },
        fills,
        workdir / "fill_distortion.png",
        ylabel="fraction (mean, 95 % CI)",
    )
    figures["examples"] = _example_figure(
        workdir,
        images,
        summary["worst_window"],
        opts,
        spec_classes,
        dataset_mean,
        key_noise,
        predict,
    )
    return {k: Path(v).name for k, v in figures.items()}


def _example_figure(
    workdir, images, worst, opts, num_classes, dataset_mean, key, predict
):
    """Every fill on the same window: the one where black fakes most digit pixels."""
    ref, fills = opts.reference_patch, opts.fills
    image, window = worst["image"], worst["window"]
    tops, lefts = occlusion_windows(images.shape[1:3], ref, max(ref // 2, 1))
    top, left = tops[window // len(lefts)], lefts[window % len(lefts)]
    x = jnp.asarray(images[image])
    mask = box_roi(x.shape[:2], top, left, ref, ref)
    key = jax.random.fold_in(key, int(image))
    inputs = np.stack(
        [np.asarray(x)]
        + [
            np.asarray(apply_fill(x, fill_substrate(f, x, dataset_mean, key), mask))
            for f in fills
        ]
    )
    return viz.image_label_columns(
        inputs,
        predict(jnp.asarray(inputs)),
        workdir / "fill_examples.png",
        num_classes,
        titles=["clean", *fills],
    )


def report_markdown(results) -> str:
    """The report, from ``results.json``."""
    opts = as_namespace(results["config"])
    fills, patches, ref = opts.fills, opts.patch_sizes, opts.reference_patch
    teacher = results["teacher"]
    summaries, deletion = results["summaries"], results["deletion"]
    findings = [Finding(**f) for f in results["findings"]]
    count = results["images"]["count"]
    lines = [
        "# Occlusion study: fills and patch sizes",
        "",
        "Reproduces the findings of Gipiskis & Kurasova, *Occlusion-based approach "
        "for interpretable semantic segmentation* (CISTI 2023), as summarised in "
        "the seed paper (sec. 5).",
        "",
        f"Teacher: `{teacher['dir']}` (test mIoU "
        f"{teacher['test_scores']['miou']:.3f}, mean Dice "
        f"{teacher['test_scores']['mean_dice']:.3f}). {count} test images of "
        f"`{results['dataset']}`; target = the largest predicted digit, its "
        "predicted region frozen as ROI M; occlusion score = drop of S_c = "
        "summed logits over M. "
        f"Patch sizes {list(patches)} with stride k/2; fills {list(fills)} "
        "(dataset mean = validation-split channel mean; noise = N(0.5, 0.2^2), "
        "one draw per image). Forward passes: "
        + ", ".join(f"k={k}: {v}" for k, v in results["forward_passes"].items())
        + ".",
        "",
        "## Findings",
        "",
        findings_markdown(findings),
        "",
        "## Deletion AUC of the occlusion maps (lower = more faithful)",
        "",
        f"Score: {deletion['score']}; {opts.deletion.num_steps} steps; the same "
        "settings for every fill; mean [95 % CI] over images.",
        "",
    ]
    substrates = list(deletion["substrates"])
    rows = []
    for p in patches:
        for f in fills:
            rows.append(
                (
                    f,
                    p,
                    *(
                        fmt_ci(deletion["substrates"][s][f"{f} k={p}"])
                        for s in substrates
                    ),
                )
            )
    rows.append(
        (
            "random",
            "-",
            *(fmt_ci(deletion["substrates"][s]["random"]) for s in substrates),
        )
    )
    best = {
        (s, p): min(
            fills,
            key=lambda f, s=s, p=p: deletion["substrates"][s][f"{f} k={p}"]["mean"],
        )
        for s in substrates
        for p in patches
    }
    lowest = "; ".join(f"{s} deletion, k={p}: {f}" for (s, p), f in best.items())
    own = [f == s for (s, _), f in best.items() if s in fills]
    lines += [
        markdown_table(
            ["fill", "patch", *(f"AUC, {s} deletion" for s in substrates)], rows
        ),
        "",
        f"Lowest AUC (most faithful maps) per setting: {lowest}. In "
        f"{sum(own)} of the {len(own)} settings whose deletion substrate is one "
        "of the tested fills, the maps made with that same fill score best: the "
        "deletion substrate favours its own fill, so fills are compared under "
        "two substrates.",
        "",
        "## Distortion: what the fill does to the prediction",
        "",
        "fake digit = share of occluded pixels that the clean prediction called "
        "background and the occluded image's prediction calls a digit (pooled "
        "over windows and images; per-image mean [CI]); windows = share of "
        "windows on background where more than "
        f"{opts.fake_digit_threshold:.0%} of those pixels turn into a digit; "
        "changed outside = share of pixels outside the patch whose label changes; "
        "1 - Dice = change of the target class region.",
        "",
    ]
    lines += [
        _settings_table(
            summaries,
            patches,
            fills,
            {
                "fake digit (pooled)": "fake_digit_fraction_pooled",
                "fake digit (per image)": "fake_digit_fraction",
                "windows": "fake_digit_windows",
                "changed outside": "changed_outside",
                "1 - Dice (mean)": "dice_drop_mean",
            },
        ),
        "",
        f"![distortion]({results['figures']['distortion']})",
        "",
        f"![examples]({results['figures']['examples']})",
        "",
        "Same window, every fill (the window where black fakes the most digit "
        "pixels); top: input, bottom: prediction.",
        "",
        "## How much do the scores move?",
        "",
        "Per image, over the windows: the spread (std) and the largest drop of "
        "each score; S_c (summed logits over M) relative to its clean value, "
        "probabilities as they are. Segmentation: S_c and the mean probability "
        "of class c over M. Classification-style proxies: the probability of "
        "class c after global average (GAP) or max pooling of the logits over "
        "the image, softmax over the digit classes.",
        "",
    ]
    lines += [
        _settings_table(
            summaries,
            patches,
            fills,
            {
                "S_c std / S_c": "seg_score_rel_std",
                "S_c max drop / S_c": "seg_score_max_rel_drop",
                "prob(M) std": "seg_probability_std",
                "GAP prob std": "gap_probability_std",
                "max-pool prob std": "max_probability_std",
                "max-pool prob max drop": "max_probability_max_drop",
            },
        ),
        "",
        f"![fixed scale]({results['figures']['fixed_scale']})",
        "",
        "Maps on a fixed scale (drop of S_c / |S_c| in [0, 1]) versus each map's "
        "own min-max range below.",
        "",
        f"![occlusion maps]({results['figures']['maps']})",
        "",
        "## Map similarity between fills",
        "",
        f"Mean over images at k={ref} (Spearman rank correlation; SSIM of min-max "
        "normalised maps):",
        "",
    ]
    sim = results["similarity"]["between_fills"][str(ref)]
    rho, structural = np.asarray(sim["spearman"]), np.asarray(sim["ssim"])
    lines += [
        markdown_table(
            ["Spearman", *fills],
            [(f, *map(float, rho[i])) for i, f in enumerate(fills)],
        ),
        "",
        markdown_table(
            ["SSIM", *fills],
            [(f, *map(float, structural[i])) for i, f in enumerate(fills)],
        ),
        "",
        f"![similarity]({results['figures']['similarity']})",
        "",
        "Spearman between patch sizes, same fill:",
        "",
    ]
    pairs = list(next(iter(results["similarity"]["between_patches"].values())))
    lines += [
        markdown_table(
            ["fill", *pairs],
            [(f, *results["similarity"]["between_patches"][f].values()) for f in fills],
        ),
        "",
        "Check against the library: max relative difference of these maps to "
        f"`segxai_jax.explainers.occlusion` on image 0: {results['library_check']}.",
        "",
        *wall_time_section(results["seconds"]),
    ]
    return "\n".join(lines)


def _settings_table(summaries, patches, fills, columns: dict[str, str]) -> str:
    """A markdown table with one row per (patch, fill) setting.

    Args:
      summaries: ``summaries[str(patch)][fill]`` -> entry name -> value, as
        written by :func:`experiments.occlusion_study_metrics.summarise`.
      patches: patch sizes, the outer loop of the rows.
      fills: fill names, the inner loop of the rows.
      columns: column header -> entry name; entries that are confidence
        summaries (dicts) are printed with :func:`fmt_ci`, others as they are.

    Returns:
      The table, with the columns ``fill``, ``patch`` and then ``columns``.
    """

    def cell(value):
        return fmt_ci(value) if isinstance(value, dict) else value

    rows = [
        (f, p, *(cell(summaries[str(p)][f][key]) for key in columns.values()))
        for p in patches
        for f in fills
    ]
    return markdown_table(["fill", "patch", *columns], rows)
