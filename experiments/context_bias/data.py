"""The data of :mod:`experiments.context_bias`.

The context-biased generator (the TFDS config or an in-memory variant), its
unbiased control and the matched / mismatched test pairs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from ml_collections import config_dict
from tqdm.auto import tqdm

from experiments.context_bias.swap import render_on_family
from experiments.shared.data import load_data
from segxai_jax.data import (
    TextureDigitsConfig,
    dataset_spec,
    generate_split,
    get_config,
    render_example,
)

CONDITIONS = ("matched", "mismatched")


def _as_float(split: dict) -> dict:
    out = dict(split)
    out["image"] = split["image"].astype(np.float32) / np.float32(255.0)
    out["mask"] = split["mask"].astype(np.int32)
    return out


def make_generator(data_config) -> TextureDigitsConfig:
    """The biased generator: the TFDS config, or an in-memory variant."""
    if not data_config.generate:
        return get_config(data_config.config)
    return TextureDigitsConfig(
        name=f"{data_config.config}_generated",
        image_size=data_config.image_size,
        num_train=data_config.num_train,
        num_validation=data_config.num_validation,
        num_test=data_config.num_test,
        min_digits=1,
        max_digits=1,
        context_bias=float(data_config.context_bias),
    )


def load_biased_data(data_config, generator, splits, subset: int) -> dict:
    if data_config.generate:
        data = {s: _as_float(generate_split(generator, s)) for s in splits}
        data["spec"] = dataset_spec("texture_digits", generator)
    else:
        data = load_data(data_config, splits=splits)
    if subset and "train" in data:
        data["train"] = {k: v[:subset] for k, v in data["train"].items()}
    return data


def unbiased_generator(generator, subset: int) -> TextureDigitsConfig:
    """The generator of the control data: the biased one with no bias."""
    return dataclasses.replace(
        generator,
        name=f"{generator.name}_unbiased",
        context_bias=0.0,
        num_train=subset or generator.num_train,
    )


def unbiased_data(generator, subset: int, splits) -> tuple[dict, TextureDigitsConfig]:
    """Data like the biased teacher's, with the family uniform (no bias)."""
    control = unbiased_generator(generator, subset)
    data = {s: _as_float(generate_split(control, s)) for s in splits}
    data["spec"] = dataset_spec("texture_digits", control)
    return data, control


def fingerprint(data_config, generator, subset) -> config_dict.ConfigDict:
    return config_dict.ConfigDict(
        {
            "name": data_config.name,
            "config": data_config.config,
            "generator": repr(generator),
            "train_subset": subset,
        }
    )


def render_pairs(generator, count: int, seed: int) -> dict:
    """Matched / mismatched renderings of the first ``count`` test digits."""
    count = min(count, generator.num_test)
    out = {c: {"image": [], "mask": [], "family": []} for c in CONDITIONS}
    labels = []
    for i in tqdm(range(count), desc="render pairs", unit="pair"):
        label = render_example(generator, "test", i).digits[0].label
        other = (label + 1 + np.random.default_rng([seed, i]).integers(9)) % 10
        labels.append(label)
        for condition, family in zip(CONDITIONS, (label, int(other)), strict=True):
            image, mask, _ = render_on_family(generator, "test", i, family, seed=seed)
            out[condition]["image"].append(image)
            out[condition]["mask"].append(mask)
            out[condition]["family"].append(family)
    pairs = {c: {k: np.stack(v) for k, v in out[c].items()} for c in CONDITIONS}
    pairs["label"] = np.asarray(labels)
    return pairs
