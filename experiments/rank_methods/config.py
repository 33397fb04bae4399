"""Rank methods: which explainer is best for segmentation, by cost AND quality.

Commands (the full run reuses the quickstart's teacher and trains one there
with the quickstart's recipe if it is missing; ``quick`` trains a small
teacher on the 32-px ``tiny`` dataset in its own workdir)::

    python -m experiments.main --config experiments/rank_methods/config.py \
        --workdir runs/rank_methods [--config.teacher.workdir=runs/quickstart]
    python -m experiments.main --config experiments/rank_methods/config.py:quick \
        --workdir runs/rank_methods_quick

Every method of ``experiments/shared/methods.py`` plus SmoothGrad-Squared, VarGrad and
a seeded random-saliency baseline explains the largest predicted digit of the
first 16 TextureDigits test images (ROI = its predicted region) for 3 seeds;
each map is scored for faithfulness (deletion/insertion AUC, absolute and
relative), localisation against the ground-truth mask, complexity, robustness,
model-parameter randomisation and cost. Writes ``report.md``,
``results.json``, ``deletion_curves.png``, ``insertion_curves.png``,
``cost_vs_deletion.png`` and ``explanations.png``.

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).

``quick`` (about 1.5 min): 4 test images x 2 seeds of ``tiny`` with a 40-epoch
(8, 16, 32) teacher, fewer curve steps and perturbations. The numbers only
show that the pipeline works; a tiny teacher explains poorly.
"""

from ml_collections import config_dict

from experiments.quickstart import config as quickstart

VARIANTS = ("full", "quick")

# The random baseline is always added; listing it here is optional.
METHODS = (
    "gradient",
    "gradient x input",
    "integrated gradients",
    "SmoothGrad",
    "SmoothGrad-Squared",
    "VarGrad",
    "Seg-Grad-CAM",
    "HiRes-CAM",
    "XGrad-CAM",
    "Seg-Ablation-CAM",
    "occlusion",
    "random",
)


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "rank_methods"
    # Seed of the teacher (when it is trained here) and of the evaluation keys:
    # evaluation seed s uses fold_in(key(seed), s), s = 0 .. num_seeds - 1.
    config.seed = base.seed
    # The quickstart's data and teacher recipe; the teacher is loaded from (or
    # trained in) runs/quickstart/teacher. The data config also selects the
    # explained images.
    config.data = base.data
    config.teacher = base.teacher
    config.teacher.workdir = "runs/quickstart"
    config.split = "test"
    config.num_images = 16
    config.num_seeds = 3
    config.methods = METHODS
    # Applied to every map before any metric: "none" (raw maps as the methods
    # return them), "relu" or "abs".
    config.map_postprocess = "none"
    config.explain = base.explain
    del config.explain["num_images"]  # the quickstart's; num_images above rules
    config.explain.timing_repeats = 3
    # Images explained together (vmap) per call; 0 = all at once.
    config.explain.batch_chunk_size = 0
    config.faithfulness = config_dict.ConfigDict(
        {
            "num_steps": 32,
            "deletion_fill": "black",
            "insertion_fill": "blur",
            "score": "target",  # summed logits of the class over the frozen ROI
            "step_chunk_size": 4,
            "pair_chunk_size": 4,
        }
    )
    config.localisation = config_dict.ConfigDict({"pointing_tolerance": 0})
    config.robustness = config_dict.ConfigDict(
        {
            "num_images": 8,  # the first 8 images; 0 = all (capped at num_images)
            "num_samples": 4,
            "radius": 0.02,
            "chunk_size": 5,  # original + perturbed inputs explained together
            "pair_chunk_size": 4,  # (image, seed) pairs per jitted call
        }
    )
    config.randomisation = config_dict.ConfigDict(
        {
            "num_images": 4,
            "granularity": "stage",
            "chunk_size": 0,  # images explained together per call; 0 = all
        }
    )
    if variant == "quick":
        _quick(config)
    return config


def _quick(config) -> None:
    config.teacher.workdir = ""  # this run's own workdir
    config.data.config = "tiny"
    config.teacher.model.widths = (8, 16, 32)
    # 64 training images: many small steps; the quickstart's weight decay
    # (0.05) keeps such a short run predicting background only.
    config.teacher.train.epochs = 40
    config.teacher.train.batch_size = 8
    config.teacher.train.learning_rate = 2e-2
    config.teacher.train.weight_decay = 1e-4
    config.teacher.train.warmup_steps = 8
    config.num_images = 4
    config.num_seeds = 2
    config.explain.smoothgrad_samples = 8
    config.explain.ig_steps = 8
    config.explain.ablation_layer = "enc1"
    config.explain.timing_repeats = 2
    config.faithfulness.num_steps = 16
    config.robustness.num_samples = 3
    config.randomisation.num_images = 2
