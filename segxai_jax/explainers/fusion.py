"""Multi-layer fusion of CAMs: one map from the CAMs of several layers.

A deep layer's CAM is coarse but class-specific; a shallow layer's is fine
but noisy. LayerCAM (Jiang et al. 2021) fuses the CAMs of several layers:
each map is rescaled, then the maps are combined pixel by pixel. Here each
layer's map is computed by any CAM of the library (Seg-Grad-CAM by default,
LayerCAM, Grad-CAM++, ...) at the input's size, normalised (``"min_max"`` to
``[0, 1]``; ``"tanh"``: LayerCAM's ``tanh(gamma * M / max M)`` with
``gamma = 2``; or ``"none"``) and combined (``"mean"`` or ``"max"``, LayerCAM's).

References:
  Jiang, Zhang, Hou, Cheng, Wei. LayerCAM: Exploring hierarchical class
  activation maps for localization. IEEE TIP 30, 2021.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp

from segxai_jax import validation
from segxai_jax.explainers.cams import seg_grad_cam
from segxai_jax.postprocess import min_max
from segxai_jax.probes import make_probe

NORMALISATIONS = ("min_max", "tanh", "none")
COMBINES = ("mean", "max")
TANH_GAMMA = 2.0  # LayerCAM's scale of shallow-layer maps


def fuse_maps(maps: Sequence[jnp.ndarray], *, normalise: str, combine: str):
    """One ``[H, W]`` map from same-size maps, each normalised then combined."""
    validation.check_choice(normalise, "normalise", NORMALISATIONS)
    validation.check_choice(combine, "combine", COMBINES)
    if normalise == "min_max":
        maps = [min_max(m) for m in maps]
    elif normalise == "tanh":
        maps = [
            jnp.tanh(TANH_GAMMA * m / jnp.where(m.max() > 0, m.max(), 1.0))
            for m in maps
        ]
    stacked = jnp.stack(maps)
    return stacked.mean(0) if combine == "mean" else stacked.max(0)


def multi_layer_cam(
    model,
    layers: Sequence[str],
    *,
    input_shape,
    cam: Callable = seg_grad_cam,
    normalise: str = "min_max",
    combine: str = "mean",
    apply_kwargs: dict | None = None,
    output: Callable | None = None,
    **cam_options,
) -> Callable:
    """A CAM fused over several layers of a Linen or NNX model.

    Args:
      model: the model (as for :func:`segxai_jax.make_probe`).
      layers: probe points by path (``"enc1"``, ``"encoder/block_2/conv_1"``);
        a path that does not exist is refused with the nearest ones.
      input_shape: one input's shape, e.g. ``(64, 64, 3)``.
      cam: a CAM factory ``cam(probe, **cam_options) -> explain`` whose maps
        have the input's size (the default ``output_size="input"`` of the
        library's CAMs).
      normalise: ``"min_max"``, ``"tanh"`` (LayerCAM) or ``"none"``.
      combine: ``"mean"`` or ``"max"`` (LayerCAM).
      apply_kwargs / output: as :func:`segxai_jax.make_probe`.
      **cam_options: passed to ``cam`` (score options, ``relu``, ...).

    Returns:
      ``explain(key, params, x, target) -> [H, W]``: one forward/backward
      pass per layer.
    """
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers: expected a non-empty list of paths, got {layers!r}")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers: expected distinct paths, got {list(layers)}")
    validation.check_choice(normalise, "normalise", NORMALISATIONS)
    validation.check_choice(combine, "combine", COMBINES)
    explainers = []
    for i, layer in enumerate(layers):
        try:
            probe = make_probe(
                model,
                layer,
                input_shape=input_shape,
                apply_kwargs=apply_kwargs,
                output=output,
            )
        except ValueError as error:
            raise ValueError(f"layers[{i}]: {error}") from error
        explainers.append(cam(probe, **cam_options))

    def explain(key, params, x, target):
        maps = [e(key, params, x, target) for e in explainers]
        shapes = {tuple(m.shape) for m in maps}
        if len(shapes) != 1:
            raise ValueError(
                f"cam: the layers' maps have different shapes {sorted(shapes)}; "
                "use a CAM that resizes to the input (output_size='input')"
            )
        return fuse_maps(maps, normalise=normalise, combine=combine)

    return explain
