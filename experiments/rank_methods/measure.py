"""The measurement stages of the ranking, and their summaries.

Each stage takes the methods (``name -> Method``), the inputs ``(params,
images [B, H, W, C], targets [B])`` and the run's options ``opts``
(:class:`experiments.rank_methods.config.Config`), and returns per method
arrays ``[B, S, ...]`` (images x seeds) with NaN where a value is undefined or
was not evaluated. Work is batched: one jitted call per method for the maps
(all images), ONE jitted call for all deletion (and one for all insertion)
curves of all methods, images and seeds, one for all localisation and
complexity scores, and one compiled program per method for robustness and for
randomisation, called on fixed-size chunks of (image, seed) pairs.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from segxai_jax import explainers
from segxai_jax.metrics import (
    auc,
    batched_curves,
    deletion_curve,
    entropy,
    insertion_curve,
    measure_cost,
    pointing_game,
    randomise_params,
    relative_curve,
    relevance_mass,
    relevance_rank,
    sensitivities,
    sparseness,
    spearman,
    top_k_iou_with_mask,
)
from segxai_jax.models import unet_apply_fn


def explain_methods(methods, inputs, explain_keys, explain):
    """Maps ``[S, B, H, W]`` per method, the cost, and seed invariance.

    ``explain``: the config's ``explain`` section (``batch_chunk_size``,
    ``timing_repeats``).
    """
    params, images, targets = inputs
    chunk = explain.batch_chunk_size or None
    maps, costs, invariant = {}, {}, {}
    bar = tqdm(methods.items(), desc="explain", unit="method")
    for name, method in bar:
        bar.set_postfix_str(name)
        batched = explainers.explain_batch(method.explain, chunk_size=chunk)
        cost, first = measure_cost(
            batched,
            explain_keys[0],
            params,
            images,
            targets,
            repeats=explain.timing_repeats,
            items_per_call=len(images),
        )
        jitted = jax.jit(batched)
        per_seed = [np.asarray(first)] + [
            np.asarray(jitted(key, params, images, targets)) for key in explain_keys[1:]
        ]
        stacked = np.stack(per_seed).astype(np.float32)
        if not np.all(np.isfinite(stacked)):
            raise FloatingPointError(f"method {name!r} produced NaN or inf saliency")
        maps[name] = stacked
        invariant[name] = all(np.array_equal(per_seed[0], m) for m in per_seed[1:])
        costs[name] = {
            **dataclasses.asdict(cost),
            "seconds_per_image": cost.seconds_per_item,
            "passes": str(method.passes),
            "forward_passes": method.passes.forward,
            "backward_passes": method.passes.backward,
            "suffix_forward_passes": method.passes.partial_forward,
            "pass_formula": method.passes.formula,
        }
    return maps, costs, invariant


def _rows(maps, invariant):
    """Distinct maps ``[R, B, H, W]`` and, per method, the row of each seed."""
    rows, index = [], {}
    for name, stacked in maps.items():
        if invariant[name]:
            index[name] = [len(rows)] * len(stacked)
            rows.append(stacked[0])
        else:
            index[name] = list(range(len(rows), len(rows) + len(stacked)))
            rows.extend(stacked)
    return np.stack(rows), index


def _per_method(row_values, index):
    """Row-indexed ``[R, B, ...]`` values -> method -> ``[B, S, ...]``."""
    return {name: np.moveaxis(row_values[rows], 0, 1) for name, rows in index.items()}


def faithfulness(model, inputs, maps, invariant, options, seed: int) -> dict:
    """Deletion and insertion curves of every distinct map, AUCs.

    ``options``: the config's ``faithfulness`` section; ``seed`` keys the
    random fills.

    Returns:
      ``{kind}_curves`` / ``{kind}_rel_curves`` ``[B, S, n + 1]`` and
      ``{kind}_auc`` / ``{kind}_auc_rel`` ``[B, S]`` per method for ``kind`` in
      deletion, insertion; ``clean_scores [B]`` (the clean target score) and
      ``num_points``. Relative curves are NaN where the clean score is <= 0.
    """
    params, images, targets = inputs
    apply_fn = unet_apply_fn(model)
    saliencies, index = _rows(maps, invariant)
    common_options = dict(
        num_steps=options.num_steps,
        score=options.score,
        chunk_size=options.step_chunk_size,
    )
    curve_fns = {
        "deletion": deletion_curve(
            apply_fn, fill=options.deletion_fill, **common_options
        ),
        "insertion": insertion_curve(
            apply_fn, fill=options.insertion_fill, **common_options
        ),
    }
    key = jax.random.key(seed)  # only random fills read it
    result = {"num_points": options.num_steps + 1}
    for kind, curve in tqdm(curve_fns.items(), desc="curves", unit="kind"):
        batched = jax.jit(batched_curves(curve, chunk_size=options.pair_chunk_size))
        absolute = np.asarray(batched(key, params, images, saliencies, targets))
        reference = "start" if kind == "deletion" else "end"
        clean = absolute[..., 0] if kind == "deletion" else absolute[..., -1]
        relative = np.full_like(absolute, np.nan)
        valid = clean > 0  # a ratio to a non-positive clean score is meaningless
        if valid.any():
            relative[valid] = np.asarray(
                relative_curve(absolute[valid], reference=reference)
            )
        result[f"{kind}_curves"] = _per_method(absolute, index)
        result[f"{kind}_rel_curves"] = _per_method(relative, index)
        result[f"{kind}_auc"] = _per_method(np.asarray(auc(absolute)), index)
        result[f"{kind}_auc_rel"] = _per_method(np.asarray(auc(relative)), index)
        result["clean_scores"] = clean[0]
    return result


@jax.jit
def _scores_of_maps(saliencies, truth_masks):
    """Localisation and complexity of maps ``[R, B, H, W]`` vs masks ``[B, H, W]``."""

    def one(saliency, mask):
        return {
            "pointing_game": pointing_game(saliency, mask),
            "relevance_mass": relevance_mass(saliency, mask),
            "relevance_rank": relevance_rank(saliency, mask),
            "top_k_iou": top_k_iou_with_mask(saliency, mask),
            "sparseness": sparseness(saliency),
            "entropy": entropy(saliency),
        }

    return jax.vmap(jax.vmap(one), in_axes=(0, None))(saliencies, truth_masks)


def map_metrics(maps, invariant, truth_masks, pointing_tolerance: int) -> dict:
    """Localisation (vs ``truth_masks [B, H, W]``) and complexity, ``[B, S]``.

    Localisation is NaN for images whose ground truth lacks the target class.
    """
    saliencies, index = _rows(maps, invariant)
    tolerance = pointing_tolerance
    scores = {
        k: np.asarray(v) for k, v in _scores_of_maps(saliencies, truth_masks).items()
    }
    if tolerance:  # the jitted default is tolerance 0; rerun the one that differs
        scores["pointing_game"] = np.asarray(
            jax.vmap(
                jax.vmap(lambda s, m: pointing_game(s, m, tolerance=tolerance)),
                in_axes=(0, None),
            )(saliencies, truth_masks)
        )
    # The predicted target class may be absent from the ground truth: no
    # localisation is defined there.
    empty = truth_masks.sum(axis=(1, 2)) == 0
    for name in ("pointing_game", "relevance_mass", "relevance_rank", "top_k_iou"):
        scores[name] = np.where(empty[None], np.nan, scores[name])
    return {name: _per_method(v, index) for name, v in scores.items()}


def _pairs(count: int, num_images: int, num_seeds: int):
    """(seed, image) pairs of the first ``count`` images (0 = all)."""
    count = min(count or num_images, num_images)
    return [(s, b) for s in range(num_seeds) for b in range(count)]


def _chunked_calls(fn, batched_args, chunk: int) -> np.ndarray:
    """``fn`` on equal chunks of the leading axis (the last chunk padded).

    One compiled program for any number of items; Python loops over chunks,
    which on CPU avoids the slow loop bodies of ``lax.map`` around gradients.
    """
    count = jax.tree.leaves(batched_args)[0].shape[0]
    chunk = min(chunk or count, count)
    outputs = []
    for start in range(0, count, chunk):
        idx = np.minimum(np.arange(start, start + chunk), count - 1)
        part = jax.tree.map(lambda leaf, i=idx: leaf[i], batched_args)
        outputs.append(np.asarray(fn(*part))[: count - start])
    return np.concatenate(outputs)


def _spread(pairs, values, num_images, num_seeds) -> np.ndarray:
    """Pair values ``[P, ...]`` -> ``[B, S, ...]`` with NaN where not evaluated."""
    out = np.full((num_images, num_seeds, *values.shape[1:]), np.nan, np.float64)
    for (s, b), value in zip(pairs, values, strict=True):
        out[b, s] = value
    return out


def _pair_args(pairs, keys_by_seed, images, targets):
    """Per-pair keys (``fold_in(seed key, image)``), images and targets."""
    idx = np.asarray([b for _, b in pairs])
    keys = jnp.stack([jax.random.fold_in(keys_by_seed[s], b) for s, b in pairs])
    return keys, jnp.asarray(images[idx]), jax.tree.map(lambda a: a[idx], targets)


def robustness(methods, inputs, robustness_keys, options, num_seeds: int) -> dict:
    """Avg- and max-sensitivity ``[B, S]`` (NaN beyond ``robustness.num_images``).

    :func:`segxai_jax.metrics.sensitivities` per (image, seed) pair, with key
    ``fold_in(seed's robustness key, image)``; pairs are vmapped in chunks of
    ``robustness.pair_chunk_size`` (one compiled program per method).
    """
    params, images, targets = inputs
    pairs = _pairs(options.num_images, len(images), num_seeds)
    args = _pair_args(pairs, robustness_keys, images, targets)
    result = {"avg_sensitivity": {}, "max_sensitivity": {}}
    bar = tqdm(methods.items(), desc="robustness", unit="method")
    for name, method in bar:
        bar.set_postfix_str(name)

        def one(tree, key, x, target, explain=method.explain):
            values = sensitivities(
                explain,
                key,
                tree,
                x,
                target,
                radius=options.radius,
                num_samples=options.num_samples,
                chunk_size=options.chunk_size or None,
            )
            return jnp.stack([jnp.mean(values), jnp.max(values)])

        fn = jax.jit(jax.vmap(one, in_axes=(None, 0, 0, 0)))
        values = _chunked_calls(
            lambda *a, f=fn: f(params, *a), args, options.pair_chunk_size
        )  # [P, 2]
        spread = _spread(pairs, values, len(images), num_seeds)
        result["avg_sensitivity"][name] = spread[..., 0]
        result["max_sensitivity"][name] = spread[..., 1]
    return result


def randomisation(
    methods, inputs, randomisation_keys, layer_groups, options, num_seeds: int
):
    """Cascading model-parameter randomisation, Spearman vs the original map.

    The computation of :func:`segxai_jax.metrics.parameter_randomisation`
    (the original and ``L`` cascading randomised trees explained with ONE
    explainer key, Spearman similarity of each randomised map to the
    original), organised for a ranking of many methods:

    * the trees are drawn once per seed by
      :func:`segxai_jax.metrics.randomise_params` and shared by every method
      and image, so methods are compared on the same randomised models (and
      the re-draw compiles once, not once per method);
    * each method's batched explainer is compiled once and called once per
      tree (weights are an argument of the same shape), instead of
      ``vmap``-ping over stacked weights: batched-weight convolutions
      compiled and ran several times slower on the 2-core CPU (~17-25 s per
      method for the 4 x 3 (image, seed) pairs of the full config).

    Returns:
      ``randomisation [B, S, L]`` (NaN beyond ``randomisation.num_images``),
      ``randomisation_top [B, S]`` (the output group randomised) and
      ``randomisation_mean [B, S]`` (mean over the cascade), per method.
    """
    params, images, targets = inputs
    count = min(options.num_images or len(images), len(images))
    xs = jnp.asarray(images[:count])
    subset = jax.tree.map(lambda leaf: leaf[:count], targets)
    trees_by_seed, explain_keys = [], []
    for key in randomisation_keys:
        key_params, key_explain = jax.random.split(key)
        trees = randomise_params(key_params, params, layer_groups, mode="cascading")
        trees_by_seed.append([dict(params), *trees])  # the original first
        explain_keys.append(key_explain)
    # [B, H, W] original vs [L, B, H, W] randomised -> [L, B]
    similarity = jax.jit(jax.vmap(jax.vmap(spearman), in_axes=(None, 0)))
    shape = (len(images), num_seeds, len(layer_groups))
    result = {"randomisation_top": {}, "randomisation_mean": {}, "randomisation": {}}
    bar = tqdm(methods.items(), desc="randomisation", unit="method")
    for name, method in bar:
        bar.set_postfix_str(name)
        explain = jax.jit(
            explainers.explain_batch(
                method.explain, chunk_size=options.chunk_size or None
            )
        )
        values = np.full(shape, np.nan)
        for seed, trees in enumerate(trees_by_seed):
            maps = [explain(explain_keys[seed], tree, xs, subset) for tree in trees]
            values[:count, seed] = np.asarray(
                similarity(maps[0], jnp.stack(maps[1:]))
            ).T
        result["randomisation"][name] = values
        result["randomisation_top"][name] = values[..., 0]
        result["randomisation_mean"][name] = values.mean(axis=-1)
    return result
