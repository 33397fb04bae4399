"""Quantitative evaluation of explanations and their compute cost."""

from segxai_jax.metrics.cost import ExplainerCost, PassCount, measure_cost, pass_counts

__all__ = ["ExplainerCost", "PassCount", "measure_cost", "pass_counts"]
