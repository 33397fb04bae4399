"""One way to get any supported dataset's splits: :func:`load_sources`.

Every dataset gives the same three splits ("train", "validation", "test") as
random-access sources of dicts with "image" and "mask" (plus its own fields),
and a :class:`~segxai_jax.data.DatasetSpec` (:func:`dataset_spec`), so an
experiment only names the dataset in its config.

* ``texture_digits``: generated locally (no extra);
* ``nuclei``: the real fluorescence image of the stardist wheel, tiled with a
  spatially disjoint split (``pip install "segxai_jax[realdata]"``);
* ``oxford_iiit_pet``: only where the user has a prepared TFDS copy; its
  validation split is the last 10 % of TFDS's train split.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from segxai_jax.data.nuclei_tfds import load_nuclei
from segxai_jax.data.pets import load_oxford_pets
from segxai_jax.data.pipeline import KNOWN_DATASETS, DatasetSpec, dataset_spec
from segxai_jax.data.texture_digits_config import SPLITS, _check_split
from segxai_jax.data.texture_digits_tfds import load_texture_digits

__all__ = ["PET_SPLITS", "load_sources"]

PET_SPLITS = {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}


def load_sources(
    name: str,
    config: str | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    splits: Sequence[str] = SPLITS,
    image_size: int | None = None,
) -> tuple[dict[str, Any], DatasetSpec]:
    """The sources of ``splits`` of dataset ``name`` and its spec.

    Args:
      name: one of `KNOWN_DATASETS`.
      config: the dataset's config name (default "default"); None for
        oxford_iiit_pet.
      data_dir: TFDS data directory; None = TFDS's default.
      splits: which of "train", "validation", "test".
      image_size: oxford_iiit_pet only: the resize target.

    Returns:
      ``(sources, spec)``: split name -> random-access source, and the spec.

    Raises:
      ValueError: an unknown dataset (the known ones are listed) or split.
      ImportError: the nuclei data without the ``realdata`` extra.
    """
    if not isinstance(name, str) or name not in KNOWN_DATASETS:
        raise ValueError(f"name: expected one of {KNOWN_DATASETS}, got {name!r}")
    if isinstance(splits, str):
        raise ValueError(f"splits: expected a sequence of split names, got {splits!r}")
    for split in splits:
        _check_split(split)
    spec = dataset_spec(name, config, image_size=image_size)
    if name == "texture_digits":
        sources = load_texture_digits(
            config or "default", data_dir=data_dir, splits=splits
        )
    elif name == "nuclei":
        sources = load_nuclei(config or "default", data_dir=data_dir, splits=splits)
    else:
        sources = {
            split: load_oxford_pets(
                split=PET_SPLITS[split], image_size=spec.image_size, data_dir=data_dir
            )
            for split in splits
        }
    return sources, spec
