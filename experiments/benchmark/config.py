"""Benchmark: explainers x metrics x datasets x substrates, three teachers each.

Commands (the full run trains its own teachers; the nuclei data needs the
realdata extra)::

    python -m experiments.main --config experiments/benchmark/config.py \
        --workdir runs/benchmark
    python -m experiments.main --config experiments/benchmark/config.py:quick \
        --workdir runs/benchmark_quick

For every dataset of ``datasets`` and every seed of ``teacher_seeds`` a
teacher U-Net is trained end to end with that seed (initialisation and data
order: independently trained teachers, not re-drawn explainer noise), in
``workdir/teachers/<dataset>/seed<k>``. Each teacher's first ``num_images``
test images are explained (largest predicted foreground class, its predicted
region as ROI) by every method, and each map is scored for faithfulness with
every substrate (deletion and insertion curves of the target's mean
probability over the ROI, AUC), localisation, off-target leakage, complexity and cost
(seconds per image, compile time, XLA peak memory); a metric sanity check
re-scores the maps of a noisy input and of a fully randomised model. Images
are the unit of every interval (a value is averaged over the teachers first).

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

What the full run cuts to fit in about 40 minutes on 2 cores: teachers train
4 epochs on texture_digits (the quickstart's 6) and 6 on nuclei; 16 curve
steps (32 in ``rank_methods``); 16 digit images and the 24 test tiles.
``quick``: the 32-px ``tiny`` configs, 2 teachers of 2 epochs, 3 images, 5
methods and 3 substrates: a smoke test whose numbers mean nothing.
"""

import dataclasses

from experiments.shared.methods import MethodSettings
from experiments.shared.options import field, to_config_dict
from experiments.shared.recipe import DataSettings, ModelSettings, TrainSettings
from segxai_jax.data import KNOWN_DATASETS
from segxai_jax.fills import FILL_KINDS
from segxai_jax.region_scores import SCORES

VARIANTS = ("full", "quick")

METHODS = (
    "gradient",
    "gradient x input",
    "integrated gradients",
    "SmoothGrad",
    "Seg-Grad-CAM",
    "HiRes-CAM",
    "XGrad-CAM",
    "Seg-Ablation-CAM",
    "occlusion",
    "Seg-XRes-CAM",
    "Grad-CAM++",
    "LayerCAM",
    "Eigen-CAM",
    "Score-CAM",
    "RISE",
    "mask ablation",
    "random",
)
SUBSTRATES = ("black", "blur", "dataset_mean", "uniform_noise", "noisy_linear")


@dataclasses.dataclass(frozen=True)
class RecipeSettings:
    """A teacher recipe: architecture and training (trained once per seed in
    ``workdir/teachers/<dataset>/seed<k>``)."""

    model: ModelSettings = ModelSettings()
    train: TrainSettings = TrainSettings()


@dataclasses.dataclass(frozen=True)
class DatasetSettings:
    """One dataset: its data, teacher recipe, explained images and methods."""

    data: DataSettings = DataSettings()
    teacher: RecipeSettings = RecipeSettings()
    num_images: int = field(default=16, minimum=2)
    explain: MethodSettings = MethodSettings()


@dataclasses.dataclass(frozen=True)
class DatasetsSettings:
    """Per dataset of ``config.datasets``: the quickstart's recipe, trained for
    fewer epochs (4 on TextureDigits, 6 on nuclei)."""

    texture_digits: DatasetSettings = DatasetSettings(
        teacher=RecipeSettings(train=TrainSettings(epochs=4))
    )
    nuclei: DatasetSettings = DatasetSettings(
        data=DataSettings(name="nuclei"),
        teacher=RecipeSettings(train=TrainSettings(epochs=6)),
        num_images=24,
    )


@dataclasses.dataclass(frozen=True)
class FaithfulnessSettings:
    """The curves follow the mean softmax probability of the target class
    over the ROI (bounded in [0, 1]). The seed paper's summed logits
    ("target", then curves relative to the clean score) are unstable across
    datasets: on nuclei the clean summed logit of a tile is often near 0, and
    a first run's relative AUCs had intervals hundreds wide."""

    num_steps: int = field(default=16, minimum=1)
    score: str = field(default="mean_probability", choices=SCORES)
    step_chunk_size: int = field(default=4, minimum=1)
    pair_chunk_size: int = field(default=8, minimum=1)


@dataclasses.dataclass(frozen=True)
class SanitySettings:
    """The maps of x + U[-radius, radius] noise (minor) and of a model whose
    every layer is re-drawn (disruptive), scored with the deletion curve of
    ``substrate`` and the map metrics."""

    noise_radius: float = field(default=0.02, minimum=0.0)
    substrate: str = field(default="blur", choices=FILL_KINDS)


@dataclasses.dataclass(frozen=True)
class Config:
    """The benchmark's settings, declared and checked once.

    Attributes:
      seed: the evaluation keys (SmoothGrad noise, random maps, fills).
      teacher_seeds: one independently trained teacher per seed and dataset.
      datasets: the datasets benchmarked; ``settings`` holds each one's.
      units_dir: the finished (dataset, seed) units; "" keeps them in
        ``<workdir>/units``.
    """

    experiment: str = "benchmark"
    seed: int = field(default=0, minimum=0)
    teacher_seeds: tuple[int, ...] = field(
        default=(0, 1, 2), minimum=0, min_items=1, distinct=True
    )
    datasets: tuple[str, ...] = field(
        default=("texture_digits", "nuclei"),
        choices=KNOWN_DATASETS,
        min_items=1,
        distinct=True,
    )
    settings: DatasetsSettings = DatasetsSettings()
    methods: tuple[str, ...] = field(
        default=METHODS, choices=METHODS, min_items=1, distinct=True
    )
    substrates: tuple[str, ...] = field(
        default=SUBSTRATES, choices=FILL_KINDS, min_items=1, distinct=True
    )
    timing_repeats: int = field(default=3, minimum=1)
    faithfulness: FaithfulnessSettings = FaithfulnessSettings()
    sanity: SanitySettings = SanitySettings()
    units_dir: str = "experiments/benchmark/units"


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = to_config_dict(Config())
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    config.units_dir = ""
    config.teacher_seeds = (0, 1)
    config.methods = (
        "gradient",
        "Seg-Grad-CAM",
        "Seg-Ablation-CAM",
        "occlusion",
        "random",
    )
    config.substrates = ("black", "blur", "noisy_linear")
    for name in config.datasets:
        settings = config.settings[name]
        settings.data.config = "tiny"
        settings.teacher.model.widths = (4, 8)
        settings.teacher.train.epochs = 2
        settings.teacher.train.batch_size = 16
        settings.num_images = 3
        settings.explain.smoothgrad_samples = 2
        settings.explain.ig_steps = 2
        settings.explain.cam_layer = "bottleneck"
        settings.explain.ablation_layer = "enc0"
        settings.explain.occlusion_patch = 16
        settings.explain.occlusion_stride = 16
        settings.explain.rise_masks = 10
        settings.explain.segment_cells = 2
    config.timing_repeats = 1
    config.faithfulness.num_steps = 4
