"""Foreground vs background deactivation per layer (Seg-Ablation-CAM study).

Command::

    python -m experiments.main --config experiments/configs/ablation_regions.py \
        --workdir runs/ablation_regions

The teacher is the quickstart's (``runs/quickstart/teacher``); when it is
missing it is trained there first with the quickstart's recipe (about 4 more
minutes). Every probe point of the U-Net, 40 test images, region thresholds 0
(any overlap) and 0.5 (majority).

Expected runtime: 1.2 minutes measured (2-core CPU shared with two other
training jobs, load average ~5; the quickstart teacher already trained): the
14 (threshold, layer) sweeps take ~60 s.

Expected result (6-epoch quickstart teacher, test mIoU 0.85, 40 images,
seed 0): partly reproduced. At every encoder stage and the bottleneck,
deactivating the foreground cells changes the target far more than the
background cells (|change of S_c| / |S_c|: 0.82-1.21 vs 0.01-0.18; 1 - Dice
0.45-0.98 vs 0.02-0.08; all paired 95 % CIs exclude 0; same direction with
the 0.5 threshold). In the decoder both changes of S_c are small (<= 4 %,
foreground still larger), but zeroing the background cells of dec1/dec0
rewrites the class region (1 - Dice 0.44-0.58 vs <= 0.07): there, zero is
far from a neutral activation.
"""

from ml_collections import config_dict

from experiments.configs import quickstart


def get_config():
    base = quickstart.get_config()
    config = config_dict.ConfigDict()
    config.experiment = "ablation_regions"
    config.seed = 0
    config.data = base.data
    config.teacher = config_dict.ConfigDict(
        {
            "workdir": "runs/quickstart",
            "train_if_missing": True,
            "model": base.model,
            "train": base.train,
        }
    )
    config.num_images = 40
    config.layers = ()  # () = every probe point of the model
    # Primary threshold first (the finding's verdict uses it).
    config.region_thresholds = (0.0, 0.5)
    config.mode = "value"
    config.ablation_value = 0.0
    config.scale = 0.0
    config.chunk_size = 8
    config.figure_layer = "bottleneck"
    config.num_figure_images = 4
    return config
