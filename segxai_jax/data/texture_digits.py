"""TextureDigits: handwritten digits pasted onto procedural textures.

A small semantic-segmentation dataset that is generated locally, with no
download: real handwritten digits (the 1,797 8x8 digits bundled with
scikit-learn) are upscaled, coloured and pasted onto a textured background.
Masks have 11 classes: 0 = background and ``digit + 1`` for the digits 0..9.

Each image also records its background texture family. In the
``context_bias`` config the family equals the digit (family index == digit,
i.e. ``class - 1``) in most images, so a model can take a shortcut through the
background; explanation methods are then checked for whether they reveal it.

Storage: images are uint8 [S, S, 3] and masks uint8 [S, S]. The generator
quantises to 8 bits anyway, and uint8 is four times smaller than float32; the
input pipeline (`segxai_jax.data.pipeline`) converts images to float32 in
[0, 1].

Determinism: example ``i`` of a split is a function of
``np.random.default_rng([config.seed, split_code, i])`` only, so the same
config gives identical arrays whatever the generation order or parallelism.
The source digits are split once, by a fixed permutation that does not depend
on ``config.seed``, into disjoint pools for train (60 %), validation (20 %) and
test (20 %): evaluation always uses handwriting never seen in training.

References:
  Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten
  Digits. UCI Machine Learning Repository. https://doi.org/10.24432/C50P49
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

import numpy as np

from segxai_jax.data.resize import resize_bilinear
from segxai_jax.data.texture_digits_config import (
    _SPLIT_CODES,
    CONFIGS,
    SPLITS,
    TextureDigitsConfig,
    _check_int,
    _check_split,
    get_config,
)
from segxai_jax.data.textures import NUM_TEXTURE_FAMILIES, luminance, texture

logger = logging.getLogger(__name__)

__all__ = [
    "CLASS_NAMES",
    "CONFIGS",
    "NUM_CLASSES",
    "SPLITS",
    "PastedDigit",
    "RenderedExample",
    "TextureDigitsConfig",
    "generate_example",
    "generate_split",
    "get_config",
    "render_example",
    "source_digit_pool",
]

NUM_CLASSES = 11
CLASS_NAMES = ("background",) + tuple(str(digit) for digit in range(10))

# The pools must never change: a different permutation would move test
# handwriting into the training pool of already prepared datasets.
_POOL_PERMUTATION_SEED = 1_797
_POOL_FRACTIONS = {"train": 0.6, "validation": 0.2}


_MIN_CONTRAST = 0.35  # luminance difference of a digit to its local background
_MAX_CONTRAST = 0.7
_FOREGROUND_NOISE_STD = 0.03
_MASK_ALPHA_THRESHOLD = 0.5
# Pixels with more ink than this count as occupied when avoiding overlaps; it is
# below the mask threshold so soft edges of two digits do not merge either.
_OCCUPIED_ALPHA = 0.05
_MAX_PLACEMENT_ATTEMPTS = 20

_DIGITS_CITATION = """\
@misc{alpaydin1998digits,
  author = {Alpaydin, E. and Kaynak, C.},
  title = {Optical Recognition of Handwritten Digits},
  year = {1998},
  howpublished = {UCI Machine Learning Repository},
  doi = {10.24432/C50P49}
}"""


@functools.cache
def _source_digits() -> tuple[np.ndarray, np.ndarray]:
    """The scikit-learn digits: images float32 [1797, 8, 8] in [0, 1], labels."""
    from sklearn.datasets import load_digits  # slow import, only when generating

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.cache
def _digit_pools() -> dict[str, np.ndarray]:
    num_digits = len(_source_digits()[1])
    permutation = np.random.default_rng(_POOL_PERMUTATION_SEED).permutation(num_digits)
    num_train = round(_POOL_FRACTIONS["train"] * num_digits)
    num_validation = round(_POOL_FRACTIONS["validation"] * num_digits)
    bounds = {
        "train": (0, num_train),
        "validation": (num_train, num_train + num_validation),
        "test": (num_train + num_validation, num_digits),
    }
    pools = {}
    for split, (start, stop) in bounds.items():
        pool = np.sort(permutation[start:stop])
        pool.setflags(write=False)
        pools[split] = pool
    return pools


def source_digit_pool(split: str) -> np.ndarray:
    """Returns the indices into `sklearn.datasets.load_digits()` used by `split`.

    The pools of the three splits are disjoint and fixed (independent of the
    config seed).

    Args:
      split: one of "train", "validation", "test".

    Returns:
      read-only sorted int64 array [P].
    """
    _check_split(split)
    return _digit_pools()[split]


@dataclasses.dataclass(frozen=True)
class PastedDigit:
    """Where one source digit was pasted.

    Attributes:
      source_index: index into `sklearn.datasets.load_digits()`.
      label: the digit, 0..9 (its mask class is `label + 1`).
      top: row of the top-left corner of the digit's square.
      left: column of the top-left corner of the digit's square.
      size: side of the digit's square in pixels.
    """

    source_index: int
    label: int
    top: int
    left: int
    size: int


@dataclasses.dataclass(frozen=True)
class RenderedExample:
    """A generated example together with how it was composed.

    Attributes:
      image: uint8 [S, S, 3].
      mask: uint8 [S, S], 0 = background, `digit + 1` on digit pixels.
      family: background texture family in [0, 10).
      digits: pasted digits in paint order (later ones cover earlier ones).
    """

    image: np.ndarray
    mask: np.ndarray
    family: int
    digits: tuple[PastedDigit, ...]


def _digit_alpha(source_image: np.ndarray, size: int) -> np.ndarray:
    """Opacity [size, size] of an upscaled digit with a soft edge."""
    intensity = resize_bilinear(source_image, (size, size))
    # A linear ramp around 0.5 makes stroke cores opaque while the threshold
    # that defines the mask (alpha > 0.5) stays at intensity 0.5.
    return np.clip((intensity - 0.35) / 0.3, 0.0, 1.0)


def _with_luminance(colour: np.ndarray, target: float) -> np.ndarray:
    """Moves `colour` towards black or white until its luminance is `target`."""
    current = float(luminance(colour))
    if current > target:
        return colour * (target / current)
    return 1.0 - (1.0 - colour) * ((1.0 - target) / (1.0 - current))


def _contrasting_colour(
    rng: np.random.Generator, background_luminance: float
) -> np.ndarray:
    """A random colour whose luminance differs from the background's by 0.35 or more.

    Rather than resampling until a random colour happens to contrast, a random
    hue is brightened or darkened to a target luminance: always succeeds, in
    constant time.
    """
    darker = (
        background_luminance - _MAX_CONTRAST,
        background_luminance - _MIN_CONTRAST,
    )
    lighter = (
        background_luminance + _MIN_CONTRAST,
        background_luminance + _MAX_CONTRAST,
    )
    feasible = [
        (max(low, 0.0), min(high, 1.0))
        for low, high in (darker, lighter)
        if max(low, 0.0) <= min(high, 1.0)
    ]
    low, high = feasible[rng.integers(len(feasible))]
    target = rng.uniform(low, high)
    return _with_luminance(rng.uniform(0.0, 1.0, 3).astype(np.float32), target)


def _place(
    rng: np.random.Generator,
    occupied: np.ndarray,
    footprint: np.ndarray,
) -> tuple[int, int]:
    """Rejection-samples a position where `footprint` overlaps `occupied` least."""
    image_size, size = occupied.shape[0], footprint.shape[0]
    best_position, best_overlap = (0, 0), None
    for _ in range(_MAX_PLACEMENT_ATTEMPTS):
        top, left = (int(v) for v in rng.integers(0, image_size - size + 1, size=2))
        overlap = np.count_nonzero(
            occupied[top : top + size, left : left + size] & footprint
        )
        if best_overlap is None or overlap < best_overlap:
            best_position, best_overlap = (top, left), overlap
        if overlap == 0:
            break
    return best_position


def render_example(
    config: str | TextureDigitsConfig, split: str, index: int
) -> RenderedExample:
    """Generates example `index` of `split`, with its composition.

    Args:
      config: a `TextureDigitsConfig` or the name of one in `CONFIGS`.
      split: one of "train", "validation", "test".
      index: example index in [0, config.num_examples(split)).

    Returns:
      the example and the digits it is composed of.
    """
    config = get_config(config)
    num_examples = config.num_examples(split)
    _check_int("index", index, minimum=0, maximum=num_examples - 1)
    rng = np.random.default_rng([config.seed, _SPLIT_CODES[split], int(index)])
    source_images, source_labels = _source_digits()
    size = config.image_size

    num_digits = int(rng.integers(config.min_digits, config.max_digits + 1))
    sources = rng.choice(source_digit_pool(split), size=num_digits)
    labels = source_labels[sources]
    if rng.random() < config.context_bias:
        family = int(labels[0])
    else:
        family = int(rng.integers(NUM_TEXTURE_FAMILIES))

    canvas = texture(rng, family, size)  # [S, S, 3]
    mask = np.zeros((size, size), dtype=np.uint8)  # [S, S]
    occupied = np.zeros((size, size), dtype=bool)  # [S, S]
    min_digit_size, max_digit_size = config.digit_size_range
    pasted = []
    for source, label in zip(sources, labels, strict=True):
        digit_size = int(rng.integers(min_digit_size, max_digit_size + 1))
        alpha = _digit_alpha(source_images[source], digit_size)  # [D, D]
        footprint = alpha > _OCCUPIED_ALPHA
        top, left = _place(rng, occupied, footprint)
        window = np.s_[top : top + digit_size, left : left + digit_size]

        # Contrast is measured against what the digit covers, including earlier
        # digits, so a digit painted over another one stays visible.
        colour = _contrasting_colour(rng, float(luminance(canvas[window]).mean()))
        noise = rng.standard_normal((digit_size, digit_size, 3), dtype=np.float32)
        foreground = colour + _FOREGROUND_NOISE_STD * noise  # [D, D, 3]
        canvas[window] += alpha[..., None] * (foreground - canvas[window])
        mask[window][alpha > _MASK_ALPHA_THRESHOLD] = label + 1
        occupied[window] |= footprint
        pasted.append(
            PastedDigit(
                source_index=int(source),
                label=int(label),
                top=top,
                left=left,
                size=digit_size,
            )
        )

    image = np.round(np.clip(canvas, 0.0, 1.0) * 255.0).astype(np.uint8)
    return RenderedExample(image=image, mask=mask, family=family, digits=tuple(pasted))


def generate_example(
    config: str | TextureDigitsConfig, split: str, index: int
) -> dict[str, Any]:
    """Generates example `index` of `split`.

    Args:
      config: a `TextureDigitsConfig` or the name of one in `CONFIGS`.
      split: one of "train", "validation", "test".
      index: example index in [0, config.num_examples(split)).

    Returns:
      dict with "image" uint8 [S, S, 3], "mask" uint8 [S, S] (classes 0..10),
      "id" int (the index) and "family" int (background texture family).
    """
    example = render_example(config, split, index)
    return {
        "image": example.image,
        "mask": example.mask,
        "id": int(index),
        "family": example.family,
    }


def generate_split(
    config: str | TextureDigitsConfig, split: str
) -> dict[str, np.ndarray]:
    """Generates a whole split in memory, without TFDS.

    Args:
      config: a `TextureDigitsConfig` or the name of one in `CONFIGS`.
      split: one of "train", "validation", "test".

    Returns:
      dict with "image" uint8 [N, S, S, 3], "mask" uint8 [N, S, S], "id" int64
      [N] and "family" int64 [N].
    """
    config = get_config(config)
    examples = [
        generate_example(config, split, index)
        for index in range(config.num_examples(split))
    ]
    return {
        "image": np.stack([example["image"] for example in examples]),
        "mask": np.stack([example["mask"] for example in examples]),
        "id": np.array([example["id"] for example in examples], dtype=np.int64),
        "family": np.array([example["family"] for example in examples], dtype=np.int64),
    }
