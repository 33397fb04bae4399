"""Compute cost of an explainer: compile time, steady-state time, memory, passes.

The seed paper ranks explanation methods by quality AND cost. Cost is measured
the same way for every method: the function is jitted, lowered and compiled
once (compile time), then called ``repeats`` times on the same arguments
(steady-state time, median, with ``block_until_ready``). XLA's compiled memory
analysis gives the peak temporary memory where the backend reports it.

Pass counts are analytic (see :func:`pass_counts`): XLA's FLOP count undercounts
loops (``lax.map`` bodies are counted once), so it is not used for them.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import jax

from segxai_jax.memory import peak_bytes


@dataclasses.dataclass(frozen=True)
class ExplainerCost:
    """Measured cost of one jitted call.

    Attributes:
      compile_seconds: lowering + compilation (first-call latency minus run).
      seconds_per_call: median wall time of a compiled call.
      seconds_per_item: ``seconds_per_call / items_per_call`` (e.g. per image).
      repeats: number of timed calls.
      temp_bytes: XLA's temporary buffer size for the call (``None`` if the
        backend does not report it).
      peak_bytes: the program's peak: arguments + outputs + temporaries
        (:func:`segxai_jax.memory.peak_bytes`; ``None`` if not reported).
    """

    compile_seconds: float
    seconds_per_call: float
    seconds_per_item: float
    repeats: int
    temp_bytes: int | None
    peak_bytes: int | None = None


def measure_cost(
    fn: Callable, *args, repeats: int = 5, items_per_call: int = 1
) -> tuple[ExplainerCost, object]:
    """Compiles ``fn`` for ``args`` and times it.

    Args:
      fn: a jittable function (not yet jitted, or jitted: both work).
      *args: arguments of one call (arrays / pytrees).
      repeats: timed calls after compilation (median reported); >= 1.
      items_per_call: how many images/targets one call explains.

    Returns:
      ``(cost, output)``: an :class:`ExplainerCost` and the output of the last
      call (so the result need not be computed again).
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    if items_per_call < 1:
        raise ValueError(f"items_per_call: expected >= 1, got {items_per_call}")
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_seconds = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        output = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - start)
    per_call = statistics.median(times)
    cost = ExplainerCost(
        compile_seconds=compile_seconds,
        seconds_per_call=per_call,
        seconds_per_item=per_call / items_per_call,
        repeats=repeats,
        temp_bytes=_temp_bytes(compiled),
        peak_bytes=peak_bytes(compiled),
    )
    return cost, output


def _temp_bytes(compiled) -> int | None:
    try:
        analysis = compiled.memory_analysis()
    except Exception:  # backends without memory analysis raise various errors
        return None
    return None if analysis is None else int(analysis.temp_size_in_bytes)


@dataclasses.dataclass(frozen=True)
class PassCount:
    """Network evaluations one explanation (one image, one target) needs.

    Attributes:
      forward: full forward passes.
      backward: full backward passes (to the input or to a probe).
      partial_forward: passes of the part downstream of a probe only.
      formula: how the numbers follow from the hyper-parameters.
    """

    forward: int
    backward: int
    partial_forward: int = 0
    formula: str = ""

    def __str__(self) -> str:
        parts = [f"{self.forward} fwd", f"{self.backward} bwd"]
        if self.partial_forward:
            parts.append(f"{self.partial_forward} suffix fwd")
        return " + ".join(parts)


def pass_counts(method: str, **hyper) -> PassCount:
    """Analytic pass counts of the library's explainers.

    Args:
      method: ``"vanilla_gradient"``, ``"gradient_x_input"``,
        ``"integrated_gradients"`` (``num_steps``), ``"smoothgrad"``
        (``num_samples`` and ``base``: the base method's :class:`PassCount`),
        ``"seg_grad_cam"`` (any weighting), ``"seg_xres_cam"``,
        ``"grad_cam_plus_plus"``,
        ``"layer_cam"``, ``"eigen_cam"``, ``"score_cam"`` and
        ``"seg_ablation_cam"`` (``num_channels``), ``"occlusion"``
        (``num_windows``), ``"rise"`` and ``"mask_ablation"``
        (``num_masks``); and the metrics ``"deletion"`` / ``"insertion"``
        (``num_steps``).
      **hyper: the hyper-parameters named above.
    """
    if method in (
        "vanilla_gradient",
        "gradient_x_input",
        "seg_grad_cam",
        "seg_xres_cam",
        "grad_cam_plus_plus",
        "layer_cam",
    ):
        return PassCount(1, 1, formula="1 forward + 1 backward")
    if method == "eigen_cam":  # activations only: no gradient, no target
        return PassCount(1, 0, formula="1 forward")
    if method == "score_cam":
        k = int(hyper["num_channels"])
        return PassCount(1 + k, 0, formula="1 + channels forward")
    if method == "rise":
        n = int(hyper["num_masks"])
        return PassCount(n, 0, formula="num_masks forward")
    if method == "mask_ablation":
        m = int(hyper["num_masks"])
        return PassCount(1 + m, 0, formula="1 + masks forward")
    if method == "integrated_gradients":
        n = int(hyper["num_steps"])
        return PassCount(n, n, formula="num_steps x (forward + backward)")
    if method == "smoothgrad":
        n, base = int(hyper["num_samples"]), hyper["base"]
        return PassCount(
            n * base.forward,
            n * base.backward,
            n * base.partial_forward,
            formula=f"num_samples x ({base.formula})",
        )
    if method == "seg_ablation_cam":
        k = int(hyper["num_channels"])
        return PassCount(1, 0, k, formula="1 forward + channels x suffix forward")
    if method == "occlusion":
        w = int(hyper["num_windows"])
        return PassCount(1 + w, 0, formula="1 + windows forward")
    if method in ("deletion", "insertion"):
        n = int(hyper["num_steps"])
        return PassCount(n + 1, 0, formula="num_steps + 1 forward")
    raise ValueError(f"method: unknown explainer {method!r}")
