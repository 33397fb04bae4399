"""Figures and the markdown report of the ranking (from its results)."""

from __future__ import annotations

import math
from pathlib import Path

from experiments.rank_methods.findings import findings_lines
from experiments.rank_methods.labels import LABELS, ci_text, number_text
from experiments.rank_methods.methods import RANDOM
from experiments.shared.tables import markdown_table, wall_time_section
from segxai_jax import viz


def _ordered(results: dict) -> list[str]:
    methods = results["methods"]
    return sorted(
        methods,
        key=lambda n: (
            math.inf
            if math.isnan(methods[n]["rank"]["mean_rank"])
            else methods[n]["rank"]["mean_rank"]
        ),
    )


def _combined(results: dict, order: list[str]) -> str:
    methods = results["methods"]
    rows = []
    for name in order:
        m = methods[name]
        s = m["summary"]
        rows.append(
            (
                f"**{name}**" if name == RANDOM else name,
                m["cost"]["passes"],
                number_text(m["cost"]["seconds_per_image"]),
                ci_text(s["deletion_auc_rel"]),
                ci_text(s["insertion_auc_rel"]),
                ci_text(s["pointing_game"]),
                ci_text(s["relevance_mass"]),
                ci_text(s["sparseness"]),
                ci_text(s["avg_sensitivity"]),
                f"{number_text(s['randomisation_top']['mean'])} / "
                f"{number_text(s['randomisation_mean']['mean'])}",
                number_text(m["rank"]["mean_rank"], 2),
            )
        )
    return markdown_table(
        [
            "method",
            "passes / target",
            "s / image",
            LABELS["deletion_auc_rel"],
            LABELS["insertion_auc_rel"],
            LABELS["pointing_game"],
            LABELS["relevance_mass"],
            LABELS["sparseness"],
            LABELS["avg_sensitivity"],
            "rand. similarity ↓ (top / cascade)",
            "mean rank",
        ],
        rows,
    )


def _detail(results: dict, order: list[str], metrics: list[str]) -> str:
    methods = results["methods"]
    rows = []
    for name in order:
        summaries = methods[name]["summary"]
        cells = [name]
        for metric in metrics:
            s = summaries[metric]
            cells.append(f"{ci_text(s)} (n={s['n_images']})")
        rows.append(cells)
    return markdown_table(["method", *[LABELS[m] for m in metrics]], rows)


def _rank_table(results: dict, order: list[str]) -> str:
    ranked = [m["name"] for m in results["metrics"] if m["in_mean_rank"]]
    rows = []
    for name in order:
        rank = results["methods"][name]["rank"]
        rows.append(
            [
                name,
                number_text(rank["mean_rank"], 2),
                *[number_text(rank["ranks"].get(m, math.nan), 1) for m in ranked],
            ]
        )
    return markdown_table(["method", "mean rank", *[LABELS[m] for m in ranked]], rows)


def _cost_table(results: dict, order: list[str]) -> str:
    rows = []
    for name in order:
        m = results["methods"][name]
        c = m["cost"]
        rows.append(
            (
                name,
                m["description"],
                c["forward_passes"],
                c["backward_passes"],
                c["suffix_forward_passes"],
                number_text(c["compile_seconds"]),
                number_text(c["seconds_per_image"]),
                "yes" if m["seed_invariant_maps"] else "no",
            )
        )
    return markdown_table(
        [
            "method",
            "settings",
            "forward",
            "backward",
            "suffix forward",
            "compile s",
            "s / image",
            "same map for every seed",
        ],
        rows,
    )


def report_markdown(results: dict) -> str:
    """The full ``report.md``."""
    config = results["config"]
    teacher = results["teacher"]
    images = results["images"]
    order = _ordered(results)
    split_scores = teacher["scores"][images["split"]]
    epochs = f"{teacher['epochs_done']} of {teacher['train']['epochs']} epochs"
    figures = results["figures"]
    lines = [
        "# Rank methods: explainers for segmentation by cost and quality",
        "",
        f"Teacher: `{teacher['dir']}` "
        f"({'trained by this run' if teacher['trained_here'] else 'loaded'}, "
        f"{epochs}), widths {teacher['model']['widths']}; "
        f"{images['split']} mIoU {number_text(split_scores['miou'])}, pixel accuracy "
        f"{number_text(split_scores['pixel_accuracy'])}.",
        "",
        f"{len(images['indices'])} {images['split']} images of "
        f"`{config['data']['name']}/{config['data']['config']}`, each explained for "
        "its largest predicted digit (ROI = its predicted region, summed logits); "
        f"{config['num_seeds']} seeds. Target classes: "
        f"{[int(c) for c in images['target_class_ids']]}.",
        "",
        "## Findings",
        "",
        *findings_lines(results, order),
        "",
        "## Combined table (sorted by mean rank)",
        "",
        "Mean ± half-width of the 95 % Student-t interval over images (seeds "
        "averaged within each image first). Passes per target: full forward, "
        "full backward and probe-suffix forward passes. Randomisation: Spearman "
        "similarity to the original map after randomising the top layer group / "
        "mean over the cascade (lower = the map depends more on the weights).",
        "",
        _combined(results, order),
        "",
        "## Ranking",
        "",
        "Rank per metric (1 = best, ties averaged) among all rows, the random "
        "baseline included; mean over the metrics in the columns.",
        "",
        _rank_table(results, order),
        "",
        f"![cost vs deletion]({figures['cost_vs_deletion']})",
        "",
        "## Faithfulness",
        "",
        f"Deletion to a `{config['faithfulness']['deletion_fill']}` substrate and "
        f"insertion from a `{config['faithfulness']['insertion_fill']}` substrate, "
        f"{config['faithfulness']['num_steps']} steps, score "
        f"`{config['faithfulness']['score']}` (ROI frozen). Relative = divided "
        "by the clean image's score (the deletion curve's first point, the "
        "insertion curve's last); images with a clean score <= 0 have none.",
        "",
        _detail(
            results,
            order,
            ["deletion_auc_rel", "insertion_auc_rel", "deletion_auc", "insertion_auc"],
        ),
        "",
        f"![deletion curves]({figures['deletion_curves']})",
        f"![insertion curves]({figures['insertion_curves']})",
        "",
        "## Localisation and complexity",
        "",
        "Against the ground-truth mask of the target class (images where the "
        "predicted class is absent from the ground truth are left out). "
        f"Pointing-game tolerance {config['localisation']['pointing_tolerance']} px; "
        "ties count against the map.",
        "",
        _detail(
            results,
            order,
            [
                "pointing_game",
                "relevance_mass",
                "relevance_rank",
                "top_k_iou",
                "sparseness",
                "entropy",
            ],
        ),
        "",
        "## Robustness and randomisation",
        "",
        f"Sensitivity: {config['robustness']['num_samples']} uniform perturbations "
        f"of L-inf radius {config['robustness']['radius']} (clipped to [0, 1]), "
        "relative L2 change of the map; the explainer key is the same for all "
        "perturbations, so an input-independent map (the random baseline) has "
        "sensitivity 0 — robustness alone does not make a map good. "
        "Randomisation: cascading re-draw of the layer groups "
        f"{results['randomisation_layer_groups']} (output first), Spearman "
        "similarity of raw maps; the random baseline ignores the weights, so it "
        "stays at 1 (fails the sanity check, as it should).",
        "",
        _detail(
            results,
            order,
            [
                "avg_sensitivity",
                "max_sensitivity",
                "randomisation_top",
                "randomisation_mean",
            ],
        ),
        "",
        "## Cost",
        "",
        "Jitted batch of all images per call; compile s = lowering + "
        "compilation (a persistent-cache hit on reruns: "
        f"`{results['environment']['compilation_cache_dir']}`), s / image = "
        "median steady-state call / batch size "
        f"({config['explain']['timing_repeats']} calls). Maps that are "
        "bit-identical for every seed are scored once.",
        "",
        _cost_table(results, order),
        "",
        f"![explanations]({figures['explanations']})",
        "",
        "## Method notes",
        "",
        f"- Post-processing before every metric: `{config['map_postprocess']}` "
        "(raw maps; see the `experiments/rank_methods/run.py` docstring for why the "
        "signed maps are not ReLU'd or abs'd).",
        "- Confidence intervals: Student-t over images of the per-image mean over "
        "seeds (images are the sampling unit; see "
        "`experiments/shared/stats.py`).",
        "- The mean rank weighs every ranked metric equally; four of the nine "
        "are localisation metrics (correlated), so it leans towards maps that "
        "localise the digit. Read it with the per-metric ranks.",
        "- Sparseness is counted as a quality (concise maps); entropy, absolute "
        "AUCs, max-sensitivity and the top-layer randomisation similarity are "
        "reported but not ranked (they duplicate a ranked metric).",
        "",
        *wall_time_section(results["seconds"]),
        f"Total: {sum(results['seconds'].values()):.1f} s. Environment: "
        f"{results['environment']}",
        "",
    ]
    return "\n".join(lines)


def make_figures(
    workdir, images, maps, curves, costs, summaries, ranked, front, metric, labels
) -> dict:
    def flat(kind):
        return {name: c.reshape(-1, c.shape[-1]) for name, c in curves[kind].items()}

    figures = {
        "deletion_curves": viz.mean_curves(
            flat("deletion_rel_curves"),
            workdir / "deletion_curves.png",
            baseline=RANDOM,
            title="Deletion (black fill), mean over images and seeds",
            ylabel="target score / clean score",
        ),
        "insertion_curves": viz.mean_curves(
            flat("insertion_rel_curves"),
            workdir / "insertion_curves.png",
            baseline=RANDOM,
            title="Insertion (from blur), mean over images and seeds",
            ylabel="target score / clean score",
        ),
    }
    baseline = summaries.get(RANDOM, {}).get(metric, {}).get("mean")
    figures["cost_vs_deletion"] = viz.cost_quality_scatter(
        [costs[n]["seconds_per_image"] for n in ranked],
        [summaries[n][metric]["mean"] for n in ranked],
        workdir / "cost_vs_deletion.png",
        labels=ranked,
        errors=[summaries[n][metric]["half_width"] for n in ranked],
        front=front,
        baseline=baseline,
        ylabel=f"{'relative' if metric.endswith('_rel') else 'absolute'} deletion "
        "AUC (lower is better)",
        title="Cost vs faithfulness",
    )
    count = min(4, len(images))
    figures["explanations"] = viz.explanation_grid(
        images[:count],
        {name: m[0, :count] for name, m in maps.items()},
        workdir / "explanations.png",
        row_labels=labels[:count],
    )
    return {name: Path(path).name for name, path in figures.items()}
