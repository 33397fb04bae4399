"""Quickstart: build TextureDigits, train a U-Net teacher, evaluate and report.

Commands::

    python -m experiments.main --config experiments/quickstart/config.py \
        --workdir runs/quickstart
    # the same U-Net trained for 30 epochs instead of 6:
    python -m experiments.main --config experiments/quickstart/config.py:long \
        --workdir runs/quickstart_long
    # the same recipe on real pixels (the tiled nuclei image; needs the
    # realdata extra), one run per seed:
    python -m experiments.main --config experiments/quickstart/config.py:nuclei \
        --workdir runs/quickstart_nuclei_seed0 --config.seed=0

Writes into the work directory: ``report.md``, ``results.json``,
``segmentation.png`` (input / ground truth / prediction), ``training_curve.png``,
``explanations.png``, ``teacher/`` (Orbax checkpoints, ``model.json``,
``train_log.jsonl``).

The teacher recipe (``teacher.model``, ``teacher.train``) is the one the other
experiments load from ``runs/quickstart`` (their configs copy it from here).

Measured runtime, results and verdicts of the last full run: ``README.md``
beside this file (its numbers come from the committed ``results.json``).
"""

from ml_collections import config_dict

VARIANTS = ("full", "long", "nuclei")
# Epochs per variant: nuclei has 3,016 training tiles (8,000 digit images), so
# more epochs give about as many steps as the digits' 6.
_EPOCHS = {"full": 6, "long": 30, "nuclei": 16}


def get_config(variant: str = "full"):
    if variant not in VARIANTS:
        raise ValueError(f"config variant: expected one of {VARIANTS}, got {variant!r}")
    config = config_dict.ConfigDict()
    config.experiment = "quickstart"
    config.seed = 0
    dataset = "nuclei" if variant == "nuclei" else "texture_digits"
    config.data = config_dict.ConfigDict(
        {"name": dataset, "config": "default", "data_dir": ""}
    )
    model = config_dict.ConfigDict(
        {
            "widths": (8, 16, 32, 64),
            "blocks_per_stage": 2,
            "kernel_size": 3,
            "activation": "relu",
            "norm": "none",
            "input_norm": "per_image",
            "bottleneck_head": True,
        }
    )
    train = config_dict.ConfigDict(
        {
            "epochs": _EPOCHS[variant],
            "batch_size": 32,
            "learning_rate": 1e-2,
            "warmup_steps": 100,
            "weight_decay": 0.05,
            "loss": "cross_entropy+dice",
            "eval_batch_size": 100,
        }
    )
    # The quickstart trains its teacher in its own workdir.
    config.teacher = config_dict.ConfigDict(
        {"workdir": "", "train_if_missing": True, "model": model, "train": train}
    )
    config.report = config_dict.ConfigDict({"num_figure_images": 6})
    config.explain = config_dict.ConfigDict(
        {
            "num_images": 4,
            "smoothgrad_samples": 16,
            "noise_level": 0.15,
            "ig_steps": 16,
            "cam_layer": "bottleneck",
            "ablation_layer": "enc2",
            "occlusion_patch": 8,
            "occlusion_stride": 4,
            "occlusion_fill": "grey",
            "timing_repeats": 3,
        }
    )
    return config
