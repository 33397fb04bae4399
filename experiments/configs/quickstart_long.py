"""Quickstart trained longer: the same U-Net for 30 epochs instead of 6.

Command::

    python -m experiments.main --config experiments/configs/quickstart_long.py \
        --workdir runs/quickstart_long

Everything but the number of epochs is the quickstart's (same data, model,
optimiser, cosine schedule stretched over the longer run, same explanation
stage).

Measured (2-core CPU, jax 0.10.2): validation mIoU 0.907, test mIoU 0.899
(0.863 / 0.850 after the quickstart's 6 epochs); validation mIoU passed 0.90
at epoch 22 and stayed within 0.905-0.910 from there. The run took 45 min
while the machine was shared with other jobs; alone, an epoch takes about
38 s, so expect about 20 min.

The published TextureMNIST U-Net (Gipiskis et al.) reaches IoU 0.9875 after
long training on a different texture-digit dataset (digits from MNIST, 28x28
sources); this small model (122k parameters) levels off about 0.08 below it.
"""

from experiments.configs import quickstart


def get_config():
    config = quickstart.get_config()
    config.train.epochs = 30
    return config
