"""Training-free detectors of attacked inputs: explanations that disagree.

An attack moves the attacked explanation ``h`` towards a target; a second
explanation of the same image that the attack did not optimise need not
follow. Each detector scores an image by ``1 - Pearson(h(x), r(x))`` between
the deployed explanation and a re-explanation ``r`` (larger = more suspect):

* ``softplus``: the same explainer on the model with every ReLU replaced by
  softplus with a small beta (Dombrowski et al.'s smoothing, here as a
  detector);
* ``smoothgrad``: SmoothGrad of the explainer's base method (fresh noise);
* ``ablation_cam``: Seg-Ablation-CAM, a gradient-free explanation, at
  ``ablation_layer``.

For an attacked perturbation-based explainer (the gradient-free phase) the
detectors are ``softplus`` (the same method on the softplus model) and
``smoothgrad`` (SmoothGrad of the vanilla gradient: a gradient method
against a perturbation method).

The scores of the clean and the attacked image of every unit are stored, so
AUROCs pool any set of units (:func:`experiments.shared.stats.auroc_ci`).
"""

from __future__ import annotations

import jax
import numpy as np

from experiments.shared.attacks import explainer_factories
from segxai_jax import attacks
from segxai_jax.explainers import seg_ablation_cam, smoothgrad, vanilla_gradient
from segxai_jax.metrics.similarity import pearson
from segxai_jax.probes import make_probe

DETECTORS = ("softplus", "smoothgrad", "ablation_cam")


def re_explainers(model, name: str, image_shape, plan, ablation_layer) -> dict:
    """The re-explanation of each detector for the attacked explainer ``name``.

    ``plan``: the unit's :class:`~experiments.shared.attacks.AttackPlan` (its
    ``cam_layer``, ``smoothgrad`` and ``defence`` settings).
    """
    explainer_at, base_at = explainer_factories(
        model,
        name,
        image_shape,
        cam_layer=plan.cam_layer,
        smoothgrad=plan.smoothgrad,
    )
    probe = make_probe(model, ablation_layer, input_shape=image_shape)
    return {
        "softplus": explainer_at(plan.defence.softplus_beta),
        "smoothgrad": smoothgrad(
            base_at(None),
            num_samples=plan.defence.smoothgrad_samples,
            noise_level=plan.defence.noise_level,
        ),
        "ablation_cam": seg_ablation_cam(probe),
    }


def perturbation_re_explainers(model, explainer_at, defence) -> dict:
    """The detectors of an attacked perturbation-based explainer ``explainer_at``."""
    apply_at = attacks.unet_apply_at(model)
    return {
        "softplus": explainer_at(defence.softplus_beta),
        "smoothgrad": smoothgrad(
            vanilla_gradient(apply_at(None)),
            num_samples=defence.smoothgrad_samples,
            noise_level=defence.noise_level,
        ),
    }


def detector_scores(
    explainers: dict, params, x, x_adv, clean_maps, adv_maps, targets, key
) -> dict:
    """``{detector: {"clean": [B], "attacked": [B]}}`` disagreement scores.

    Args:
      explainers: detector name -> re-explainer (:func:`re_explainers`,
        :func:`perturbation_re_explainers`).
      clean_maps / adv_maps: the deployed explanation's heatmaps ``[B, H, W]``
        of ``x`` and ``x_adv`` (as the attack measured them).
    """

    @jax.jit
    def scores(params, x, x_adv, clean_maps, adv_maps):
        out = {}
        for detector, explain in explainers.items():
            out[detector] = {}
            for which, images, maps in (
                ("clean", x, clean_maps),
                ("attacked", x_adv, adv_maps),
            ):
                again = attacks.explain_images(explain, key, params, images, targets)
                out[detector][which] = 1.0 - jax.vmap(pearson)(maps, again)
        return out

    measured = scores(params, x, x_adv, clean_maps, adv_maps)
    return jax.tree.map(np.asarray, measured)
