"""Nuclei as a TFDS dataset: built once locally from the stardist wheel's image.

Like TextureDigits, it is written in the ``array_record`` format and read
without TensorFlow; :func:`load_nuclei` builds a config on first use (about a
second) and returns random-access sources. Needs the ``realdata`` extra.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from segxai_jax.data import nuclei
from segxai_jax.data.texture_digits_config import SPLITS, _check_split
from segxai_jax.data.texture_digits_tfds import _ensure_writable

logger = logging.getLogger(__name__)


@dataclasses.dataclass(kw_only=True)
class NucleiBuilderConfig(tfds.core.BuilderConfig):
    """TFDS builder config carrying a `NucleiConfig`."""

    tiling: nuclei.NucleiConfig


class Nuclei(tfds.core.GeneratorBasedBuilder):
    """TFDS builder of the tiled nuclei image (array_record, no download)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        NucleiBuilderConfig(
            name=name,
            description=(
                f"{config.tile_size} px tiles; train rows [0, "
                f"{config.validation_start}), validation rows "
                f"[{config.validation_start}, {config.test_start}), test rows "
                f"[{config.test_start}, {nuclei.SOURCE_SIDE})"
            ),
            tiling=config,
        )
        for name, config in nuclei.CONFIGS.items()
    ]

    def __init__(self, *, file_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(file_format=file_format or "array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        size = self.builder_config.tiling.tile_size

        def tensor(shape, dtype):
            return tfds.features.Tensor(
                shape=shape, dtype=dtype, encoding=tfds.features.Encoding.ZLIB
            )

        scalar = tfds.features.Tensor(shape=(), dtype=np.int64)
        features = tfds.features.FeaturesDict(
            {
                "image": tensor((size, size, 1), np.uint8),
                "mask": tensor((size, size), np.uint8),
                "instances": tensor((size, size), np.uint16),
                "id": scalar,
                "top": scalar,
                "left": scalar,
                "transform": scalar,
            }
        )
        return tfds.core.DatasetInfo(
            builder=self,
            description=nuclei.__doc__,
            features=features,
            supervised_keys=None,
            disable_shuffling=True,  # item i of a split is tile i
            homepage="https://bbbc.broadinstitute.org/BBBC038",
            citation=nuclei._CITATION,
        )

    def _split_generators(self, dl_manager: Any) -> dict[str, Iterator]:
        del dl_manager  # the source comes from an installed wheel
        nuclei.source_arrays()  # fail before TFDS starts writing
        return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict[str, Any]]]:
        config = self.builder_config.tiling
        for index in range(config.num_examples(split)):
            yield index, nuclei.generate_example(config, split, index)


def load_nuclei(
    config: str = "default",
    *,
    data_dir: str | os.PathLike | None = None,
    splits: Sequence[str] = SPLITS,
) -> dict[str, Any]:
    """TFDS random-access sources of the nuclei tiles, building them if needed.

    Args:
      config: name of a config in `nuclei.CONFIGS`.
      data_dir: TFDS data directory; `None` uses TFDS's default.
      splits: splits to return.

    Returns:
      dict mapping each split to a data source of the items described in
      :mod:`segxai_jax.data.nuclei`.

    Raises:
      ImportError: the ``realdata`` extra is not installed (names the command).
    """
    if not isinstance(config, str) or config not in nuclei.CONFIGS:
        raise ValueError(
            f"config: expected one of {sorted(nuclei.CONFIGS)}, got {config!r}"
        )
    if isinstance(splits, str):
        raise ValueError(f"splits: expected a sequence of split names, got {splits!r}")
    for split in splits:
        _check_split(split)
    builder = Nuclei(
        config=config, data_dir=None if data_dir is None else os.fspath(data_dir)
    )
    if not builder.is_prepared():
        nuclei.source_arrays()  # the extra's message before any TFDS work
        _ensure_writable(os.path.dirname(os.fspath(builder.data_dir)), "nuclei")
        logger.info("Building nuclei/%s in %s", config, builder.data_dir)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(try_download_gcs=False)
        )
    return {split: builder.as_data_source(split=split) for split in splits}
