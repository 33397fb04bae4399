"""Read and replace a layer's activations, in any Flax model, from outside.

Activation-space explainers (Seg-Grad-CAM, Seg-Ablation-CAM, CAM-NAS fitness,
salient replay) need a layer's activations ``A`` and the logits after changing
them. A :class:`~segxai_jax.types.Probe` wraps one layer in one primitive,

    forward(params, x, edit) -> (logits, A)

for ONE input ``x``: ``A`` as computed, and the logits after ``edit(A) -> A'``
replaced it. :func:`make_probe` builds one for an unmodified model:

* Linen (:mod:`.linen`): any submodule's output by path, any method's output,
  or a ``self.perturb(name, x)`` point, through Flax's method interception;
* NNX (:mod:`.nnx`): any submodule's output by path, through a per-call copy
  of the module graph;
* token layers of transformers (:mod:`.tokens`): ``[N, C]`` shown as the
  patch grid ``[gh, gw, C]``.

The prefix property holds for every backend: under ``jax.vmap`` over the
edit's parameters, nothing upstream of the probe depends on the batched
values, so XLA computes it once and batches only the rest.
"""

from segxai_jax.probes.make import make_probe, probe_points
from segxai_jax.probes.points import Point
from segxai_jax.probes.tokens import token_grid, token_probe
from segxai_jax.types import Probe

__all__ = [
    "Point",
    "Probe",
    "make_probe",
    "probe_points",
    "token_grid",
    "token_probe",
]
