"""Adapter for the Oxford-IIIT Pet dataset (TFDS ``oxford_iiit_pet``).

Turns the TFDS examples (images of varying size, trimap masks) into the items
the input pipeline expects: square uint8 images, binary masks and an id.

Trimap: 1 = pet, 2 = background, 3 = border (the uncertain band along the
pet's outline). By default the border counts as pet: the pet's silhouette is
then complete, and attributions on the outline (fur, ears, whiskers) count as
on-object. ``border="background"`` keeps only the confidently labelled pet
pixels instead.

Images are stretched to a square without cropping, so no part of a pet is cut
away; aspect ratios change by up to about 1.5x.

The data is read with ``download=False``: it must have been prepared before,
in array_record format (the only format TFDS can read without TensorFlow).
Decoding the stored JPEG images needs Pillow (or OpenCV).

References:
  Parkhi, O. M., Vedaldi, A., Zisserman, A. and Jawahar, C. V. (2012). Cats
  and Dogs. CVPR.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from segxai_jax.data.resize import resize_bilinear, resize_nearest

TFDS_NAME = "oxford_iiit_pet"
NUM_CLASSES = 2
CLASS_NAMES = ("background", "pet")
DEFAULT_IMAGE_SIZE = 128
BORDER_OPTIONS = ("foreground", "background")

_TRIMAP_PET = 1
_TRIMAP_BORDER = 3


def trimap_to_mask(trimap: np.ndarray, *, border: str = "foreground") -> np.ndarray:
    """Converts a pet trimap to a binary mask.

    Args:
      trimap: integer array [H, W] or [H, W, 1] with 1 = pet, 2 = background,
        3 = border.
      border: "foreground" maps the border to pet, "background" to background.

    Returns:
      uint8 array [H, W]: 1 on pet pixels, 0 elsewhere. Values other than 1
      and 3 (only 2 occurs in the real data) are background.
    """
    _check_border(border)
    trimap = np.asarray(trimap)
    if trimap.ndim == 3 and trimap.shape[-1] == 1:
        trimap = trimap[..., 0]
    if trimap.ndim != 2:
        raise ValueError(
            f"trimap: expected shape [H, W] or [H, W, 1], got {trimap.shape}"
        )
    pet = trimap == _TRIMAP_PET
    if border == "foreground":
        pet |= trimap == _TRIMAP_BORDER
    return pet.astype(np.uint8)


def _check_border(border: str) -> None:
    if border not in BORDER_OPTIONS:
        raise ValueError(f"border: expected one of {BORDER_OPTIONS}, got {border!r}")


def _check_image_size(image_size: Any) -> None:
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int | np.integer)
        or image_size < 8
    ):
        raise ValueError(f"image_size: expected an integer >= 8, got {image_size!r}")


class OxfordPetsSource:
    """Random-access source of resized Oxford pets with binary masks.

    Items are dicts with "image" uint8 [S, S, 3] (bilinear resize), "mask"
    uint8 [S, S] (nearest resize; 0 = background, 1 = pet) and "id" (the
    position of the example in the split).

    Args:
      raw_source: random-access source of TFDS `oxford_iiit_pet` examples.
      image_size: side S of the output images.
      border: how trimap border pixels are labelled; see `trimap_to_mask`.
    """

    def __init__(
        self,
        raw_source: Any,
        *,
        image_size: int = DEFAULT_IMAGE_SIZE,
        border: str = "foreground",
    ) -> None:
        _check_image_size(image_size)
        _check_border(border)
        self._raw_source = raw_source
        self._image_size = int(image_size)
        self._border = border

    def __len__(self) -> int:
        return len(self._raw_source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        length = len(self)
        if not -length <= index < length:
            raise IndexError(
                f"index {index} out of range for a source of {length} items"
            )
        index = int(index) % length
        return self._convert(self._raw_source[index], index)

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        # Per-item reads: decoding and resizing dominate, so batching the raw
        # reads would gain little.
        return [self[index] for index in indices]

    def _convert(self, example: Mapping[str, Any], index: int) -> dict[str, Any]:
        size = (self._image_size, self._image_size)
        image = np.asarray(example["image"])  # [H, W, 3]
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(
                f"image: expected shape [H, W, 3] in example {index}, got {image.shape}"
            )
        resized = resize_bilinear(image, size)  # [S, S, 3]
        mask = trimap_to_mask(example["segmentation_mask"], border=self._border)
        return {
            "image": np.clip(np.round(resized), 0, 255).astype(np.uint8),
            "mask": resize_nearest(mask, size),  # [S, S]
            "id": index,
        }

    def __repr__(self) -> str:
        return (
            f"OxfordPetsSource(len={len(self)}, image_size={self._image_size}, "
            f"border={self._border!r})"
        )


def _not_prepared_message(data_dir: str | os.PathLike | None) -> str:
    location = (
        f"data_dir {os.fspath(data_dir)!r}"
        if data_dir is not None
        else "the default TFDS data_dir ($TFDS_DATA_DIR or ~/tensorflow_datasets)"
    )
    return (
        f"{TFDS_NAME} is not prepared in array_record format in {location}. "
        "Prepare it on a machine with network access with "
        f"`tfds build {TFDS_NAME} --file_format=array_record --data_dir=DIR`, copy "
        "DIR to this machine and pass data_dir=DIR (this library never downloads)."
    )


def load_oxford_pets(
    *,
    split: str,
    image_size: int = DEFAULT_IMAGE_SIZE,
    data_dir: str | os.PathLike | None = None,
    border: str = "foreground",
) -> OxfordPetsSource:
    """Returns a random-access source of a prepared Oxford-IIIT Pet split.

    Args:
      split: TFDS split, e.g. "train", "test" or "train[:90%]".
      image_size: side S of the square output images.
      data_dir: TFDS data directory holding the prepared dataset; `None` uses
        TFDS's default.
      border: "foreground" (default) or "background": the class of trimap
        border pixels.

    Returns:
      an `OxfordPetsSource` with "image" uint8 [S, S, 3], "mask" uint8 [S, S]
      and "id" items.

    Raises:
      ValueError: for invalid arguments, or if the dataset is not prepared.
    """
    if not isinstance(split, str) or not split:
        raise ValueError(f"split: expected a TFDS split name, got {split!r}")
    _check_image_size(image_size)
    _check_border(border)
    try:
        raw_source = tfds.data_source(
            TFDS_NAME,
            split=split,
            data_dir=None if data_dir is None else os.fspath(data_dir),
            download=False,
            builder_kwargs={"file_format": "array_record"},
        )
    # TFDS reports missing data in several ways: empty split info (KeyError),
    # data prepared in another file format (NotImplementedError) or missing
    # files (FileNotFoundError).
    except (KeyError, NotImplementedError, FileNotFoundError) as error:
        raise ValueError(_not_prepared_message(data_dir)) from error
    return OxfordPetsSource(raw_source, image_size=image_size, border=border)
