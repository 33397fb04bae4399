"""Nuclei: one real fluorescence image tiled into a segmentation dataset.

The source is the 512 x 512 image of stained nuclei (one channel, 125 labelled
nuclei, about 20 % foreground) from the 2018 Data Science Bowl (BBBC038) that
the ``stardist`` wheel ships as test data. It is read from the installed wheel's
files (``tifffile``), without importing ``stardist``: install the optional extra
``pip install "segxai_jax[realdata]"``.

Split: the image is cut into three horizontal bands, by default rows
``[0, 256)`` train, ``[256, 320)`` validation and ``[320, 512)`` test. Tiles
never cross a band's edge, so no pixel is in two splits (a nucleus cut by a
band edge has its upper part in one split and its lower part in the other).
Training tiles overlap (stride ``train_stride``) and come in the 8 flips and
quarter turns of the square; validation and test tiles do not overlap by
default (stride ``eval_stride`` = tile size), so that a test tile can be the
unit of a confidence interval. With the default config: 3,016 train, 8
validation and 24 test tiles of 64 x 64. :func:`tile_origins` gives every
tile's corner and :func:`split_rows` the bands (drawn in the docs).

Items: "image" uint8 [T, T, 1] (the source's values, all <= 255, unscaled),
"mask" uint8 [T, T] (0 background, 1 nucleus), "instances" uint16 [T, T] (the
source's nucleus ids, 0 = background; the same nucleus keeps its id in every
tile), "id" int64, "top" / "left" int64 (the tile's corner in the source image,
before the transform) and "transform" int64 (0..7, see :func:`dihedral`).

References:
  Caicedo et al. Nucleus segmentation across imaging experiments: the 2018
  Data Science Bowl. Nature Methods 16, 2019 (BBBC038).
  Schmidt, Weigert, Broaddus, Myers. Cell detection with star-convex polygons.
  MICCAI 2018 (StarDist, whose wheel ships the image).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
from typing import Any

import numpy as np

from segxai_jax.data.texture_digits_config import _check_int, _check_split

__all__ = [
    "CLASS_NAMES",
    "CONFIGS",
    "EXTRA_INSTALL",
    "NUM_CLASSES",
    "NucleiConfig",
    "dihedral",
    "generate_split",
    "get_nuclei_config",
    "source_arrays",
    "split_rows",
    "tile_origins",
]

NUM_CLASSES = 2
CLASS_NAMES = ("background", "nucleus")
EXTRA_INSTALL = 'pip install "segxai_jax[realdata]"'
SOURCE_SIDE = 512  # the shipped image is 512 x 512
_IMAGE_FILE = "stardist/data/images/img2d.tif"
_LABELS_FILE = "stardist/data/images/mask2d.tif"
NUM_TRANSFORMS = 8

_CITATION = """\
@article{caicedo2019nucleus,
  author = {Caicedo, Juan C. and others},
  title = {Nucleus segmentation across imaging experiments: the 2018 Data
           Science Bowl},
  journal = {Nature Methods},
  volume = {16},
  pages = {1247--1253},
  year = {2019}
}"""


def split_rows(config: NucleiConfig) -> dict[str, tuple[int, int]]:
    """Each split's band of source rows ``[start, stop)`` (all columns)."""
    return {
        "train": (0, config.validation_start),
        "validation": (config.validation_start, config.test_start),
        "test": (config.test_start, SOURCE_SIDE),
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class NucleiConfig:
    """How the nuclei image is cut into tiles and splits.

    Attributes:
      name: identifier (also the TFDS config name).
      tile_size: side T of the square tiles; must divide 512.
      validation_start: first row of the validation band (train is above it);
        a multiple of ``tile_size``.
      test_start: first row of the test band (to the image's bottom); a
        multiple of ``tile_size``.
      train_stride: step between training tiles; must divide ``tile_size``.
      eval_stride: step between validation and test tiles; must divide
        ``tile_size`` (``tile_size`` = no overlap).
      augment: whether training tiles come in all 8 flips and quarter turns.
    """

    name: str = "default"
    tile_size: int = 64
    validation_start: int = 256
    test_start: int = 320
    train_stride: int = 16
    eval_stride: int = 64
    augment: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a non-empty string, got {self.name!r}")
        _check_int("tile_size", self.tile_size, minimum=8, maximum=SOURCE_SIDE)
        if SOURCE_SIDE % self.tile_size:
            raise ValueError(
                f"tile_size: expected a divisor of the image side {SOURCE_SIDE} "
                f"(e.g. 32, 64, 128), got {self.tile_size}"
            )
        for field in ("validation_start", "test_start"):
            value = getattr(self, field)
            _check_int(field, value, minimum=0, maximum=SOURCE_SIDE)
            if value % self.tile_size:
                raise ValueError(
                    f"{field}: expected a multiple of tile_size ({self.tile_size}) "
                    f"so that no tile crosses a split line, got {value}"
                )
        bands = split_rows(self)
        for split, (start, stop) in bands.items():
            if stop - start < self.tile_size:
                raise ValueError(
                    f"{split} split: expected at least one tile row "
                    f"({self.tile_size} px), got rows [{start}, {stop}) from "
                    f"validation_start={self.validation_start}, "
                    f"test_start={self.test_start}"
                )
        for field in ("train_stride", "eval_stride"):
            value = getattr(self, field)
            _check_int(field, value, minimum=1, maximum=self.tile_size)
            if self.tile_size % value:
                raise ValueError(
                    f"{field}: expected a divisor of tile_size ({self.tile_size}), "
                    f"got {value}"
                )
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment: expected a bool, got {self.augment!r}")

    def num_examples(self, split: str) -> int:
        """The number of tiles of ``split`` (with the 8 transforms for train)."""
        copies = NUM_TRANSFORMS if split == "train" and self.augment else 1
        return len(tile_origins(self, split)) * copies


CONFIGS = {
    "default": NucleiConfig(),
    # Quarter-size tiles, for tests and quick configs.
    "tiny": NucleiConfig(
        name="tiny", tile_size=32, train_stride=32, eval_stride=32, augment=False
    ),
}


def get_nuclei_config(config: str | NucleiConfig) -> NucleiConfig:
    """The `NucleiConfig` itself, or the one named in `CONFIGS`."""
    if isinstance(config, NucleiConfig):
        return config
    if not isinstance(config, str) or config not in CONFIGS:
        raise ValueError(f"config: expected one of {sorted(CONFIGS)}, got {config!r}")
    return CONFIGS[config]


def tile_origins(config: str | NucleiConfig, split: str) -> np.ndarray:
    """Top-left corners of the tiles of ``split``, row-major.

    Returns:
      int64 [N, 2] of ``(top, left)``; every tile lies inside its band.
    """
    config = get_nuclei_config(config)
    _check_split(split)
    start, stop = split_rows(config)[split]
    stride = config.train_stride if split == "train" else config.eval_stride
    tops = np.arange(start, stop - config.tile_size + 1, stride)
    lefts = np.arange(0, SOURCE_SIDE - config.tile_size + 1, stride)
    grid = np.stack(np.meshgrid(tops, lefts, indexing="ij"), axis=-1)
    return grid.reshape(-1, 2).astype(np.int64)


def dihedral(array: np.ndarray, transform: int) -> np.ndarray:
    """One of the 8 symmetries of the square on the first two axes.

    ``transform`` 0..3 rotates by that many quarter turns; 4..7 transposes first
    (a reflection), then rotates.
    """
    _check_int("transform", transform, minimum=0, maximum=NUM_TRANSFORMS - 1)
    if transform >= 4:
        array = np.swapaxes(array, 0, 1)
    return np.ascontiguousarray(np.rot90(array, k=transform % 4, axes=(0, 1)))


def _locate(relative_path: str):
    try:
        distribution = importlib.metadata.distribution("stardist")
    except importlib.metadata.PackageNotFoundError as error:
        raise ImportError(
            "the nuclei dataset reads its image from the stardist wheel, which is "
            f"not installed; install the extra: {EXTRA_INSTALL}"
        ) from error
    path = distribution.locate_file(relative_path)
    if not path.exists():
        raise FileNotFoundError(
            f"{relative_path} is missing from the installed stardist "
            f"{distribution.version}; reinstall it: {EXTRA_INSTALL}"
        )
    return path


@functools.cache
def source_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The source image and its nucleus labels, read from the stardist wheel.

    Returns:
      ``(image, instances)``: read-only uint8 [512, 512] and uint16 [512, 512]
      (0 = background, 1..125 = nucleus ids).

    Raises:
      ImportError: ``stardist`` or ``tifffile`` is missing (names the extra).
    """
    try:
        import tifffile
    except ImportError as error:
        raise ImportError(
            f"the nuclei dataset needs tifffile; install the extra: {EXTRA_INSTALL}"
        ) from error
    image = np.asarray(tifffile.imread(_locate(_IMAGE_FILE)))
    instances = np.asarray(tifffile.imread(_locate(_LABELS_FILE)))
    expected = (SOURCE_SIDE, SOURCE_SIDE)
    if image.shape != expected or instances.shape != expected:
        raise ValueError(
            f"stardist test image: expected {expected} arrays, got "
            f"{image.shape} and {instances.shape}"
        )
    if image.max() > 255:
        # Not the case for the shipped file; a different one must not wrap.
        raise ValueError(
            f"stardist test image: expected values <= 255, got max {image.max()}"
        )
    image = image.astype(np.uint8)
    instances = instances.astype(np.uint16)
    image.setflags(write=False)
    instances.setflags(write=False)
    return image, instances


def generate_example(
    config: str | NucleiConfig, split: str, index: int
) -> dict[str, Any]:
    """Tile ``index`` of ``split``: see the module docstring for the fields."""
    config = get_nuclei_config(config)
    origins = tile_origins(config, split)
    copies = NUM_TRANSFORMS if split == "train" and config.augment else 1
    _check_int("index", index, minimum=0, maximum=len(origins) * copies - 1)
    tile, transform = divmod(int(index), copies)
    top, left = (int(v) for v in origins[tile])
    image, instances = source_arrays()
    window = np.s_[top : top + config.tile_size, left : left + config.tile_size]
    tile_instances = dihedral(instances[window], transform)
    return {
        "image": dihedral(image[window], transform)[..., None],
        "mask": (tile_instances > 0).astype(np.uint8),
        "instances": tile_instances,
        "id": int(index),
        "top": top,
        "left": left,
        "transform": transform,
    }


def generate_split(config: str | NucleiConfig, split: str) -> dict[str, np.ndarray]:
    """A whole split in memory, without TFDS (fields stacked on a new axis)."""
    config = get_nuclei_config(config)
    examples = [
        generate_example(config, split, index)
        for index in range(config.num_examples(split))
    ]
    return {
        name: np.stack([np.asarray(example[name]) for example in examples])
        for name in examples[0]
    }
