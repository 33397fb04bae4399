"""CAM-NAS for segmentation: explanation-matching evolutionary search.

Search a space of U-Net students (:class:`SearchSpace`, integer genomes) under
a :class:`Budget` with an :class:`EvolutionarySearch` (``init``/``ask``/
``tell``); score each population with ONE jitted, vmapped and sharded call on
a masked supernet (:func:`make_population_evaluator`); the fitness compares
student and teacher explanations (:func:`make_explanation_fitness`), or, as
training-free baselines, their sample relations (:func:`make_relation_proxy`,
DisWOT-style) or the student's input sensitivity (:func:`make_zen_proxy`); run,
checkpoint and resume with :func:`run_search`; turn the winner into a real
U-Net with :func:`materialise` / :meth:`SearchSpace.to_config`.

References:
  Zhang, Wang, Joe. CAM-NAS: an efficient and interpretable neural
  architecture search model based on class activation mapping. Applied
  Sciences 13(17), 9686, 2023.
  Lin et al. Zen-NAS: a zero-shot NAS for high-performance image recognition.
  ICCV 2021.
"""

from segxai_jax.nas.budget import Budget, budget_limits, within_budget
from segxai_jax.nas.fitness import (
    Fitness,
    make_explanation_fitness,
    make_warmup,
    make_zen_proxy,
    student_explainer,
    teacher_maps,
)
from segxai_jax.nas.population import make_population_evaluator, population_mesh
from segxai_jax.nas.proxies import make_relation_proxy, relation_matrix
from segxai_jax.nas.search import SearchResult, run_search
from segxai_jax.nas.space import SearchSpace, active_genes, genome_cost
from segxai_jax.nas.strategy import (
    EvolutionarySearch,
    EvolutionHyperparams,
    EvolutionState,
)
from segxai_jax.nas.supernet import (
    genome_masks,
    init_supernet,
    materialise,
    supernet_apply_fn,
    supernet_forward,
    supernet_probe,
    supernet_size,
)

__all__ = [
    "Budget",
    "EvolutionState",
    "EvolutionHyperparams",
    "EvolutionarySearch",
    "Fitness",
    "SearchResult",
    "SearchSpace",
    "active_genes",
    "budget_limits",
    "genome_cost",
    "genome_masks",
    "init_supernet",
    "make_explanation_fitness",
    "make_population_evaluator",
    "make_relation_proxy",
    "make_warmup",
    "make_zen_proxy",
    "materialise",
    "population_mesh",
    "relation_matrix",
    "run_search",
    "student_explainer",
    "supernet_apply_fn",
    "supernet_forward",
    "supernet_probe",
    "supernet_size",
    "teacher_maps",
    "within_budget",
]
