"""Input pipeline: random-access sources, deterministic batching and validation.

Sources are anything with ``__len__`` and ``__getitem__(i) -> dict`` (TFDS data
sources, `ArraySource`, the Oxford pets adapter); an optional
``__getitems__(indices) -> list[dict]`` is used for batched reads. Items hold
"image" (uint8 [H, W, C] or float in [0, 1]) and "mask" (integer [H, W]).
Batches always hold float32 images in [0, 1] and int32 masks.

The shuffle order of an epoch depends only on ``(seed, epoch)``, so a run
resumed at epoch ``e`` sees exactly the batches it would have seen without the
interruption.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from segxai_jax import validation
from segxai_jax.data import nuclei, pets, texture_digits
from segxai_jax.data.checks import check_fields, validate_batch

_READ_CHUNK_SIZE = 256


class RandomAccessSource(Protocol):
    """What the pipeline needs from a data source."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Mapping[str, Any]: ...


class ArraySource:
    """A random-access source over in-memory arrays sharing a leading axis.

    Behaves like a TFDS data source: items are dicts with one entry per array.

    Args:
      arrays: mapping from field name to array [N, ...]; all N must agree.
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        if not arrays:
            raise ValueError("arrays: expected at least one field, got none")
        self._arrays = {name: np.asarray(array) for name, array in arrays.items()}
        lengths = {name: len(array) for name, array in self._arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"arrays: expected the same leading size for all fields, got {lengths}"
            )
        self._length = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self._length

    def _check_index(self, index: int) -> int:
        if not -self._length <= index < self._length:
            raise IndexError(
                f"index {index} out of range for a source of {self._length} items"
            )
        return int(index) % self._length

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        index = self._check_index(index)
        return {name: array[index] for name, array in self._arrays.items()}

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, np.ndarray]]:
        return [self[index] for index in indices]

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}: {array.dtype}{list(array.shape)}"
            for name, array in self._arrays.items()
        )
        return f"ArraySource({fields})"


def _read_items(source: RandomAccessSource, indices: Sequence[int]) -> list[Mapping]:
    """Reads items, in one batched read where the source supports it."""
    indices = [int(index) for index in indices]
    read_many = getattr(source, "__getitems__", None)
    if read_many is not None:
        return list(read_many(indices))
    return [source[index] for index in indices]


def _images_to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images to float32 in [0, 1]; floating images to float32 unchanged."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(images.dtype, np.floating):
        return images.astype(np.float32, copy=False)
    raise ValueError(
        f"image: expected dtype uint8 or a floating dtype, got {images.dtype}"
    )


def _stack_items(items: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    return {
        name: np.stack([np.asarray(item[name]) for item in items]) for name in items[0]
    }


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")


def to_arrays(
    source: RandomAccessSource, *, num_classes: int | None = None
) -> dict[str, np.ndarray]:
    """Reads a whole split into memory.

    Args:
      source: random-access source with "image" and "mask" items.
      num_classes: if given, masks are checked to lie in [0, num_classes).

    Returns:
      dict with "image" float32 [N, H, W, C] in [0, 1], "mask" int32 [N, H, W]
      and every other field of the items stacked along a new leading axis.
    """
    num_items = len(source)
    if num_items == 0:
        raise ValueError("source: expected at least one example, got an empty source")
    chunks = []
    for start in range(0, num_items, _READ_CHUNK_SIZE):
        indices = range(start, min(start + _READ_CHUNK_SIZE, num_items))
        chunks.append(_stack_items(_read_items(source, indices)))
    arrays = {
        name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]
    }
    check_fields(arrays, "source")
    arrays["image"] = _images_to_float(arrays["image"])
    arrays["mask"] = validation.as_integer_labels(arrays["mask"], "source mask")
    validate_batch(arrays, num_classes=num_classes)
    return arrays


def batches(
    source: RandomAccessSource | Mapping[str, np.ndarray],
    *,
    batch_size: int,
    seed: int,
    epoch: int = 0,
    shuffle: bool = True,
    drop_remainder: bool = True,
) -> Iterator[dict[str, np.ndarray]]:
    """Returns an iterator over the batches of one epoch.

    Arguments are checked at the call, before any example is read.

    Args:
      source: a random-access source, or a dict of arrays as returned by
        `to_arrays` (arrays with a leading example axis).
      batch_size: examples per batch.
      seed: non-negative seed of the shuffle order.
      epoch: non-negative epoch index; the order of an epoch is a function of
        `(seed, epoch)` only.
      shuffle: if False, examples come in source order.
      drop_remainder: if True, a last batch smaller than `batch_size` is
        dropped, so every batch has the same shape (one compilation under jit).

    Returns:
      iterator over dicts with "image" float32 [B, H, W, C] in [0, 1], "mask"
      int32 [B, H, W] and "id" int64 [B]. Sources without an "id" field get
      the example's position in the source.
    """
    _check_int("batch_size", batch_size, minimum=1)
    _check_int("seed", seed, minimum=0)
    _check_int("epoch", epoch, minimum=0)
    if isinstance(source, Mapping):
        check_fields(source, "source")
        num_examples = len(source["image"])
        for name, array in source.items():
            if len(array) != num_examples:
                raise ValueError(
                    f"source: expected all arrays to have {num_examples} examples "
                    f"like 'image', got {len(array)} for {name!r}"
                )
    else:
        num_examples = len(source)
    if num_examples == 0:
        raise ValueError("source: expected at least one example, got an empty source")
    if drop_remainder and batch_size > num_examples:
        raise ValueError(
            f"batch_size: expected at most the {num_examples} examples of the source "
            f"when drop_remainder=True (no batch would be produced), got {batch_size}"
        )

    if shuffle:
        order = np.random.default_rng([seed, epoch]).permutation(num_examples)
    else:
        order = np.arange(num_examples)
    stop = num_examples - num_examples % batch_size if drop_remainder else num_examples
    # Returning a separate generator makes the checks above run at the call,
    # not at the first `next`.
    return _iterate_batches(source, order[:stop], batch_size)


def _iterate_batches(
    source: RandomAccessSource | Mapping[str, np.ndarray],
    order: np.ndarray,
    batch_size: int,
) -> Iterator[dict[str, np.ndarray]]:
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        if isinstance(source, Mapping):
            fields = {
                name: np.asarray(source[name])[indices]
                for name in ("image", "mask", "id")
                if name in source
            }
        else:
            fields = _stack_items(_read_items(source, indices))
            check_fields(fields, "source")
        ids = fields.get("id")
        batch = {
            "image": _images_to_float(np.asarray(fields["image"])),
            "mask": validation.as_integer_labels(fields["mask"], "source mask"),
            "id": (indices if ids is None else np.asarray(ids)).astype(np.int64),
        }
        validate_batch(batch)
        yield batch


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a dataset.

    Attributes:
      name: TFDS name of the dataset.
      num_classes: number of mask classes, including background (class 0).
      class_names: name of each class, indexed by class id.
      image_size: side of the square images in pixels.
      num_channels: channels C of the images (3 RGB; 1 for nuclei).
    """

    name: str
    num_classes: int
    class_names: tuple[str, ...]
    image_size: int
    num_channels: int = 3


KNOWN_DATASETS = ("texture_digits", "nuclei", "oxford_iiit_pet")


def dataset_spec(
    name: str,
    config: str | texture_digits.TextureDigitsConfig | None = None,
    *,
    image_size: int | None = None,
) -> DatasetSpec:
    """Returns the spec of a supported dataset.

    Args:
      name: one of `KNOWN_DATASETS`.
      config: for texture_digits a config name or `TextureDigitsConfig`, for
        nuclei a config name or `NucleiConfig` (default "default" for both);
        must be None for oxford_iiit_pet.
      image_size: for oxford_iiit_pet, the resize target (default 128); must be
        None for the others, whose config fixes it.

    Returns:
      the dataset's `DatasetSpec`.
    """
    if name == "texture_digits":
        if image_size is not None:
            raise ValueError(
                "image_size: expected None for texture_digits (the config sets it), "
                f"got {image_size!r}"
            )
        resolved = texture_digits.get_config("default" if config is None else config)
        return DatasetSpec(
            name=name,
            num_classes=texture_digits.NUM_CLASSES,
            class_names=texture_digits.CLASS_NAMES,
            image_size=resolved.image_size,
        )
    if name == "nuclei":
        if image_size is not None:
            raise ValueError(
                "image_size: expected None for nuclei (config.tile_size sets it), "
                f"got {image_size!r}"
            )
        tiling = nuclei.get_nuclei_config("default" if config is None else config)
        return DatasetSpec(
            name=name,
            num_classes=nuclei.NUM_CLASSES,
            class_names=nuclei.CLASS_NAMES,
            image_size=tiling.tile_size,
            num_channels=1,
        )
    if name == "oxford_iiit_pet":
        if config is not None:
            raise ValueError(
                f"config: expected None for oxford_iiit_pet, got {config!r}"
            )
        size = pets.DEFAULT_IMAGE_SIZE if image_size is None else image_size
        _check_int("image_size", size, minimum=1)
        return DatasetSpec(
            name=name,
            num_classes=pets.NUM_CLASSES,
            class_names=pets.CLASS_NAMES,
            image_size=int(size),
        )
    raise ValueError(f"name: expected one of {KNOWN_DATASETS}, got {name!r}")
