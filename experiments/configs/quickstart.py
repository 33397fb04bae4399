"""Quickstart: build TextureDigits, train a U-Net teacher, evaluate and report.

Command::

    python -m experiments.main --config experiments/configs/quickstart.py \
        --workdir runs/quickstart

Expected runtime: about 4 minutes on a 2-core CPU (dataset build ~10 s,
training ~3.5 min, evaluation and figures ~20 s).

Expected result: validation mIoU >= 0.85 over the 11 classes (see README for the
measured value).

Writes into the work directory: ``report.md``, ``results.json``,
``segmentation.png`` (input / ground truth / prediction), ``training_curve.png``,
``teacher/`` (Orbax checkpoints, ``model.json``, ``train_log.jsonl``).
"""

from ml_collections import config_dict


def get_config():
    config = config_dict.ConfigDict()
    config.experiment = "quickstart"
    config.seed = 0
    config.data = config_dict.ConfigDict(
        {"name": "texture_digits", "config": "default", "data_dir": ""}
    )
    config.model = config_dict.ConfigDict(
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
    config.train = config_dict.ConfigDict(
        {
            "epochs": 6,
            "batch_size": 32,
            "learning_rate": 1e-2,
            "warmup_steps": 100,
            "weight_decay": 0.05,
            "loss": "cross_entropy+dice",
            "eval_batch_size": 100,
        }
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
