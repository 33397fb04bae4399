"""The quickstart's explanation stage: every method on a few images, timed."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from experiments.shared.methods import build_methods
from experiments.shared.targets import largest_digit_targets
from segxai_jax import viz
from segxai_jax.explainers import explain_batch, explain_targets
from segxai_jax.metrics import measure_cost
from segxai_jax.targets import class_targets


def explain_and_time(workdir, model, params, data, options, *, seed: int) -> dict:
    """Explains a few validation images with every method and times each.

    Args:
      workdir: where the figures go.
      model, params: the teacher.
      data: ``load_data`` output (the validation split is used).
      options: the ``config.explain`` section.
      seed: the run's seed (the key of the stochastic methods).

    Returns:
      ``{"targets": class names, "methods": one row per method (passes,
      compile and per-image seconds), "figures": {name: file}}``.
    """
    spec = data["spec"]
    images = data["validation"]["image"][: options.num_images]
    predicted = np.asarray(model.apply({"params": params}, images).argmax(-1))
    truth = data["validation"]["mask"][: options.num_images]
    targets = largest_digit_targets(predicted, truth, spec.num_classes)
    methods = build_methods(model, image_size=spec.image_size, options=options)
    key = jax.random.key(seed)
    maps, table = {}, []
    for name, method in methods.items():
        batched = explain_batch(method.explain, num_classes=spec.num_classes)
        cost, output = measure_cost(
            batched,
            key,
            params,
            images,
            targets,
            repeats=options.timing_repeats,
            items_per_call=len(images),
        )
        maps[name] = np.asarray(output)
        table.append(
            {
                "method": name,
                "description": method.description,
                "passes": str(method.passes),
                "compile_seconds": cost.compile_seconds,
                "seconds_per_image": cost.seconds_per_item,
                "peak_bytes": cost.peak_bytes,
            }
        )
    labels = [spec.class_names[int(c)] for c in np.asarray(targets.class_id)]
    figures = {
        "explanations": Path(
            viz.explanation_grid(
                images,
                maps,
                workdir / "explanations.png",
                row_labels=[f"class {name}" for name in labels],
            )
        ).name
    }
    # Every class present in the first image, in one call per method.
    first = predicted[0] if np.any(predicted[0] > 0) else data["validation"]["mask"][0]
    all_targets = class_targets(first, spec.num_classes)
    per_class = {}
    for name in ("gradient", "Seg-Grad-CAM"):
        explain_all = jax.jit(explain_targets(methods[name].explain))
        per_class[name] = np.asarray(explain_all(key, params, images[0], all_targets))
    count = len(all_targets.class_id)
    figures["all_targets"] = Path(
        viz.explanation_grid(
            np.repeat(images[:1], count, axis=0),
            per_class,
            workdir / "explanations_all_classes.png",
            row_labels=[
                f"class {spec.class_names[int(c)]}"
                for c in np.asarray(all_targets.class_id)
            ],
        )
    ).name
    return {"targets": labels, "methods": table, "figures": figures}
