"""The real-pixel figures of docs/data.md: the nuclei split, explained photos.

Run from the repository root (needs the realdata extra, about a minute on 2
CPU cores)::

    python docs/figures/real_data.py

Writes ``docs/figures/nuclei_split.png`` (the source image, its three bands
and the tile grid of each split) and ``docs/figures/photos_explained.png``:
a plain Flax Linen segmenter of the user's kind (nothing in it knows about
this library), fitted for a few hundred steps to each photo ITSELF (one
photo is all there is: the maps show the API at work on real pixels, not
what a model learns from a dataset), explained per instance in one vmapped
call with Seg-Grad-CAM at its layer ``"features"`` and with the vanilla
gradient; the ARC model reads RGB and depth as two inputs (a dict).
"""

from __future__ import annotations

from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import segxai_jax as sx
from segxai_jax.data import load_photo, nuclei
from segxai_jax.data.resize import resize_bilinear, resize_nearest

OUT = Path(__file__).parent
SIDE = 128  # photos are resized to SIDE x SIDE for the CPU


class PhotoNet(nn.Module):
    """A user's plain Linen segmenter; RGB only or a dict {"rgb", "depth"}."""

    num_classes: int

    @nn.compact
    def __call__(self, x):
        if isinstance(x, dict):
            x = jnp.concatenate([x["rgb"], x["depth"]], axis=-1)
        x = nn.relu(nn.Conv(16, (3, 3), name="stem")(x))
        x = nn.relu(nn.Conv(32, (3, 3), strides=2, name="down")(x))
        x = nn.relu(nn.Conv(32, (3, 3), name="features")(x))
        x = jax.image.resize(x, (x.shape[0], SIDE, SIDE, 32), "bilinear")
        return nn.Conv(self.num_classes, (1, 1), name="head")(x)


def nuclei_split_figure() -> str:
    image, instances = nuclei.source_arrays()
    config = nuclei.CONFIGS["default"]
    fig = Figure(figsize=(11, 5.4))
    left, right = fig.subplots(1, 2)
    left.imshow(image, cmap="gray")
    left.contour(instances > 0, levels=[0.5], colors="yellow", linewidths=0.4)
    left.set_title("source image (BBBC038, stardist wheel) and masks", fontsize=10)
    colours = {"train": "tab:green", "validation": "tab:orange", "test": "tab:red"}
    right.imshow(image, cmap="gray")
    for split, (start, stop) in nuclei.split_rows(config).items():
        right.axhspan(start - 0.5, stop - 0.5, color=colours[split], alpha=0.18)
        size = config.tile_size
        origins = nuclei.tile_origins(config, split)
        if split == "train":  # overlapping tiles: draw the non-overlapping subset
            step = config.tile_size // config.train_stride
            grid = origins.reshape(-1, (512 - size) // config.train_stride + 1, 2)
            origins = grid[::step, ::step].reshape(-1, 2)
        for top, left_ in origins:
            right.add_patch(
                Rectangle(
                    (left_ - 0.5, top - 0.5),
                    size,
                    size,
                    fill=False,
                    edgecolor=colours[split],
                    linewidth=0.8,
                )
            )
        right.text(
            4,
            start + 14,
            f"{split}: rows [{start}, {stop}), {config.num_examples(split)} tiles",
            color="white",
            fontsize=8,
            bbox={"facecolor": colours[split], "alpha": 0.8, "pad": 1.5},
        )
    right.set_title(
        f"bands and {config.tile_size}-px tiles (train: stride "
        f"{config.train_stride} x 8 transforms, 1 in {step}x{step} drawn)",
        fontsize=10,
    )
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    path = OUT / "nuclei_split.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return str(path)


def _photo(name: str):
    photo = load_photo(name)
    rgb = resize_bilinear(photo["image"].astype(np.float32) / 255, (SIDE, SIDE))
    instances = resize_nearest(photo["instances"], (SIDE, SIDE))
    classes = resize_nearest(photo["classes"], (SIDE, SIDE))
    x = jnp.asarray(rgb)
    if "depth" in photo:
        depth = resize_nearest(photo["depth"], (SIDE, SIDE))[..., None]
        x = {"rgb": x, "depth": jnp.asarray(depth / max(depth.max(), 1e-6))}
    return photo, x, np.asarray(instances), np.asarray(classes)


def _fit(model, x, labels, steps: int = 300):
    batched = jax.tree.map(lambda a: a[None], x)
    params = model.init(jax.random.key(0), batched)["params"]
    optimiser = optax.adam(3e-3)
    state = optimiser.init(params)

    @jax.jit
    def step(params, state):
        def loss(p):
            logits = model.apply({"params": p}, batched)[0]
            return optax.softmax_cross_entropy_with_integer_labels(
                logits, labels
            ).mean()

        value, grads = jax.value_and_grad(loss)(params)
        updates, state = optimiser.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    for _ in range(steps):
        params, state, _ = step(params, state)
    return params


def photos_figure() -> str:
    rows = []
    for name in ("voc", "arc2017"):
        photo, x, instances, classes = _photo(name)
        model = PhotoNet(num_classes=len(photo["class_names"]))
        params = _fit(model, x, jnp.asarray(classes))
        shape = jax.tree.map(lambda a: a.shape, x)
        probe = sx.make_probe(model, "features", input_shape=shape)
        targets = sx.instance_targets(instances, classes, min_pixels=30)
        cams = jax.jit(sx.explain_targets(sx.seg_grad_cam(probe)))(
            None, params, x, targets
        )
        gradient = sx.vanilla_gradient(sx.linen_apply_fn(model))
        grads = jax.jit(sx.explain_targets(gradient))(None, params, x, targets)
        grads = jax.tree.map(lambda g: jnp.abs(g).max(-1), grads)
        if isinstance(grads, dict):  # one map per input: sum RGB's and depth's
            grads = grads["rgb"] + grads["depth"]
        # The two largest instances.
        order = np.argsort(-np.asarray(targets.mask).sum(axis=(1, 2)))[:2]
        rgb = np.asarray(x["rgb"] if isinstance(x, dict) else x)
        for index in order:
            cls = photo["class_names"][int(targets.class_id[index])]
            rows.append(
                (
                    f"{name}: {cls}",
                    rgb,
                    np.asarray(targets.mask[index]),
                    np.asarray(cams[index]),
                    np.asarray(grads[index]),
                )
            )
    fig = Figure(figsize=(10, 2.6 * len(rows)))
    axes = fig.subplots(len(rows), 4, squeeze=False)
    titles = ("photo", "instance (target ROI)", "Seg-Grad-CAM 'features'", "|gradient|")
    for r, (label, rgb, mask, cam, grad) in enumerate(rows):
        panels = (rgb, mask, cam, grad)
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            if c == 0:
                ax.imshow(rgb)
                ax.set_ylabel(label, fontsize=9)
            elif c == 1:
                ax.imshow(rgb)
                ax.imshow(mask, alpha=0.5, cmap="Reds")
            else:
                ax.imshow(rgb)
                ax.imshow(panel, alpha=0.6, cmap="jet")
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    path = OUT / "photos_explained.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return str(path)


if __name__ == "__main__":
    print(nuclei_split_figure())
    print(photos_figure())
