"""Model parameter randomisation test (a sanity check for explanations).

An explanation that reflects what the model learned must change when the
learned weights are replaced by random ones. Layers are randomised from the
output down, either cumulatively (``"cascading"``: after step ``i`` the ``i +
1`` top layer groups are random) or one at a time (``"independent"``), and the
similarity between the original explanation and each randomised model's is
reported. High similarity after randomisation is a failed sanity check.

A "layer group" is one or more top-level entries of the Flax ``params`` dict
(e.g. a convolution and its normalisation) randomised together;
:func:`unet_layer_groups` lists a :class:`~segxai_jax.models.unet.UNet`'s.

Re-drawing (our default, the paper re-initialises with the training
initialiser): every array leaf is replaced by i.i.d. ``N(0, rms^2)`` values,
``rms`` = the leaf's root mean square, which keeps each layer's scale (for
zero-mean kernels ``rms`` is the weights' standard deviation) but destroys all
learned structure, including learned means; an all-zero leaf stays zero. Pass
``init_fn(key, leaf) -> new leaf`` to use another distribution (e.g. the
model's initialiser). Every listed layer is re-drawn once, so a group's random
weights are the same in both modes and in every tree that randomises it. The
default draws all values with ONE call of ``jax.random.normal``: on CPU each
random call adds ~0.15 s of compile time, which per-leaf draws (a custom
``init_fn`` gets one key per leaf) multiply by the number of leaves.

References:
  Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim. Sanity checks for saliency
  maps. NeurIPS 2018.
  Hedstroem et al. Quantus: an explainable AI toolkit for responsible
  evaluation of neural network explanations and beyond. JMLR 24(34), 2023.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.explainers.smoothgrad import check_explainer
from segxai_jax.sweeps import (
    check_chunk_size,
    check_strategy,
    map_chunked,
)
from segxai_jax.targets import Target
from segxai_jax.validation import check_image, check_target_against

MODES = ("cascading", "independent")
GRANULARITIES = ("stage", "conv")

InitFn = Callable[[jax.Array, jax.Array], jax.Array]


def _rms(leaf: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.mean(jnp.square(leaf.astype(jnp.float32))))


def _redraw(key, leaves: list, init_fn: InitFn | None) -> list:
    """New values for ``leaves`` (the default: ``N(0, rms^2)`` from one draw)."""
    if init_fn is not None:
        keys = jax.random.split(key, len(leaves))
        return [init_fn(k, leaf) for k, leaf in zip(keys, leaves, strict=True)]
    sizes = [leaf.size for leaf in leaves]
    noise = jax.random.normal(key, (sum(sizes),), jnp.float32)
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return [
        (_rms(leaf) * noise[start : start + leaf.size])
        .reshape(leaf.shape)
        .astype(leaf.dtype)
        for start, leaf in zip(starts, leaves, strict=True)
    ]


def _groups(layer_names_top_down, params: Mapping) -> tuple[tuple[str, ...], ...]:
    validation.check_instance(params, "params", Mapping, "a dict of layers")
    name = "layer_names_top_down"
    if isinstance(layer_names_top_down, str) or not len(layer_names_top_down):
        raise ValueError(
            f"{name}: expected a non-empty sequence of layer names or groups of "
            f"names, got {layer_names_top_down!r}"
        )
    groups = tuple(
        (entry,) if isinstance(entry, str) else tuple(entry)
        for entry in layer_names_top_down
    )
    seen = set()
    for group in groups:
        if not group or not all(isinstance(n, str) for n in group):
            raise ValueError(f"{name}: expected names or non-empty groups of names")
        for layer in group:
            if layer not in params:
                raise ValueError(
                    f"{name}: {layer!r} is not a top-level entry of params; "
                    f"available: {sorted(params)}"
                )
            if layer in seen:
                raise ValueError(f"{name}: {layer!r} appears more than once")
            seen.add(layer)
    return groups


def randomise_params(
    key: jax.Array,
    params: Mapping,
    layer_names_top_down: Sequence[str | Sequence[str]],
    *,
    mode: str = "cascading",
    init_fn: InitFn | None = None,
) -> list[dict]:
    """The randomised parameter trees of the parameter randomisation test.

    Args:
      key: PRNG key.
      params: the model's parameters, a mapping of layer names to subtrees.
      layer_names_top_down: layer groups from the output down; each entry a
        top-level name of ``params`` or a sequence of names randomised
        together.
      mode: ``"cascading"`` (tree ``i`` has groups ``0..i`` random) or
        ``"independent"`` (tree ``i`` has only group ``i`` random).
      init_fn: ``init_fn(key, leaf) -> array`` of the leaf's shape, called
        with one key per leaf; ``None`` (default) = i.i.d. ``N(0, rms^2)``
        with the leaf's root mean square (see the module docstring).

    Returns:
      A list of ``len(layer_names_top_down)`` parameter dicts with the
      structure of ``params`` (the top level as a ``dict``).
    """
    validation.check_choice(mode, "mode", MODES)
    groups = _groups(layer_names_top_down, params)
    original = dict(params)
    layers = [layer for group in groups for layer in group]
    leaves, treedef = jax.tree.flatten([original[layer] for layer in layers])
    new_leaves = _redraw(key, leaves, init_fn)
    for leaf, new in zip(leaves, new_leaves, strict=True):
        if jnp.shape(new) != jnp.shape(leaf):
            raise ValueError(
                f"init_fn: expected an array of the leaf's shape {jnp.shape(leaf)}, "
                f"got {jnp.shape(new)}"
            )
    redrawn = dict(zip(layers, jax.tree.unflatten(treedef, new_leaves), strict=True))
    trees, current = [], dict(original)
    for group in groups:
        drawn = {layer: redrawn[layer] for layer in group}
        if mode == "cascading":
            current = {**current, **drawn}
            trees.append(current)
        else:
            trees.append({**original, **drawn})
    return trees


def parameter_randomisation(
    explain: Callable,
    similarity: Callable[[jax.Array, jax.Array], jax.Array],
    key: jax.Array,
    params: Mapping,
    x: jax.Array,
    target: Target,
    *,
    layer_names_top_down: Sequence[str | Sequence[str]],
    mode: str = "cascading",
    init_fn: InitFn | None = None,
    chunk_size: int | None = None,
    strategy: str = "unroll",
) -> jax.Array:
    """Similarity of the original explanation to each randomised model's.

    The original and the ``L`` randomised parameter trees are stacked and
    explained in one sweep (``map_chunked`` over the trees), all with the same
    explainer key, so a stochastic explainer (SmoothGrad) sees the same noise
    and only the weights differ; the original is part of the sweep, so a tree
    equal to ``params`` gives exactly the original map and a similarity of 1.

    The sweep is compiled (an internal ``jax.jit`` with ``explain``,
    ``similarity``, ``init_fn`` and the options static; inlined under an outer
    ``jit``), so the explainer's own value checks that need the model's output
    (class id within ``[0, K)``) do not run: call
    :func:`segxai_jax.validate_explainer_inputs` with ``num_classes`` first if
    in doubt. ``x`` and ``target`` are checked here.

    Args:
      explain: ``explain(key, params, x[H, W, C], target) -> map``; the maps
        must suit ``similarity`` (``[H, W]`` for this package's similarities:
        use a ``channel_reduction`` for input gradients).
      similarity: ``similarity(original_map, randomised_map) -> scalar``, e.g.
        :func:`segxai_jax.metrics.similarity.spearman` (Adebayo et al. report
        rank correlation of raw and absolute maps, SSIM and HOG similarity:
        wrap it, e.g. ``lambda a, b: spearman(abs(a), abs(b))``).
      key: PRNG key, split into the randomisation key and the explainer key.
      params: the (trained) model's parameters.
      x: the image ``[H, W, C]``.
      target: the explained target.
      layer_names_top_down: layer groups from the output down (see
        :func:`randomise_params`).
      mode: ``"cascading"`` or ``"independent"``.
      init_fn: re-draw function (see :func:`randomise_params`).
      chunk_size: parameter trees explained together by ``vmap``; ``None``
        (default) = all ``L + 1`` at once.
      strategy: ``"unroll"`` or ``"lax_map"`` (see ``map_chunked``).

    Returns:
      ``[L]`` similarities, in the order of ``layer_names_top_down``.
    """
    check_explainer(explain, "explain")
    validation.check_callable(
        similarity, "similarity", "similarity(map_a, map_b) -> scalar", 2
    )
    validation.check_key(key)
    check_chunk_size(chunk_size)
    check_strategy(strategy)
    validation.check_choice(mode, "mode", MODES)
    check_image(x)
    check_target_against(target, x.shape[:2])
    # The explainer runs inside jit and vmap, where it cannot see the class id.
    validation.check_target_classes(explain, params, x, target)
    groups = _groups(layer_names_top_down, params)
    options = (groups, mode, init_fn, chunk_size, strategy)
    return _parameter_randomisation(
        explain, similarity, key, dict(params), x, target, *options
    )


@functools.partial(jax.jit, static_argnums=(0, 1, 6, 7, 8, 9, 10))
def _parameter_randomisation(
    explain, similarity, key, params, x, target, groups, mode, init_fn, chunk, strategy
):
    key_params, key_explain = jax.random.split(key)
    trees = randomise_params(key_params, params, groups, mode=mode, init_fn=init_fn)
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), params, *trees)
    maps = map_chunked(
        lambda tree: explain(key_explain, tree, x, target),
        stacked,
        chunk_size=chunk,
        strategy=strategy,
    )  # [L + 1, *map_shape]
    return jax.vmap(similarity, in_axes=(None, 0))(maps[0], maps[1:])


def unet_layer_groups(config, *, granularity: str = "stage") -> tuple[tuple[str, ...]]:
    """A :class:`~segxai_jax.models.unet.UNet`'s layer groups, output first.

    Order: ``head``; ``bottleneck_head`` if present (it feeds the output
    directly); the decoder stages ``dec0 .. dec{depth-1}``; the bottleneck; the
    encoder stages ``enc{depth-1} .. enc0``. Within a stage the convolutions
    run from the last to the first, then a decoder's ``dec{i}_up``. A
    convolution's GroupNorm (``{stage}_norm{j}``) is grouped with it.

    Args:
      config: a :class:`~segxai_jax.models.unet.UNetConfig`.
      granularity: ``"stage"`` (one group per stage, with its up-sampling) or
        ``"conv"`` (one group per convolution).

    Returns:
      A tuple of groups (tuples of top-level parameter names) for
      :func:`randomise_params`.

    Examples:
      >>> from segxai_jax.models.unet import UNetConfig
      >>> unet_layer_groups(UNetConfig(widths=(8, 16), blocks_per_stage=1))
      (('head',), ('dec0_conv0', 'dec0_up'), ('bottleneck_conv0',), ('enc0_conv0',))
    """
    validation.check_choice(granularity, "granularity", GRANULARITIES)
    groups = [("head",)]
    if config.bottleneck_head:
        groups.append(("bottleneck_head",))
    names, blocks = config.probe_names, config.stage_blocks
    for s in reversed(range(config.num_stages)):
        stage = names[s]
        convs = []
        for j in reversed(range(blocks[s])):
            conv = (f"{stage}_conv{j}",)
            if config.norm == "group":
                conv = (*conv, f"{stage}_norm{j}")
            convs.append(conv)
        if stage.startswith("dec"):
            convs.append((f"{stage}_up",))
        if granularity == "conv":
            groups.extend(convs)
        else:
            groups.append(tuple(name for conv in convs for name in conv))
    return tuple(groups)
