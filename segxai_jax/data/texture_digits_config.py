"""The variants of TextureDigits: sizes, digits per image, context bias, seed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

SPLITS = ("train", "validation", "test")
_SPLIT_CODES = {"train": 0, "validation": 1, "test": 2}

# Digit sizes for 64-pixel images; other image sizes scale them.
_REFERENCE_IMAGE_SIZE = 64
_REFERENCE_DIGIT_SIZE_RANGE = (20, 36)
_MIN_DIGIT_SIZE = 8  # the source resolution


@dataclasses.dataclass(frozen=True, kw_only=True)
class TextureDigitsConfig:
    """Parameters of a TextureDigits variant.

    Attributes:
      name: identifier of the variant (also the TFDS config name).
      image_size: height and width of the square images in pixels.
      num_train: number of training examples.
      num_validation: number of validation examples.
      num_test: number of test examples.
      min_digits: fewest digits pasted per image.
      max_digits: most digits pasted per image.
      min_digit_size: smallest digit side in pixels; `None` scales 20 px at
        64 px image size to `image_size` (see `digit_size_range`).
      max_digit_size: largest digit side in pixels; `None` scales 36 px at
        64 px image size to `image_size`. A default never conflicts with an
        explicitly given other bound.
      context_bias: probability that the background texture family equals the
        first pasted digit; otherwise the family is uniform over all ten. 0
        gives uniform families.
      seed: seed of the generator; different seeds give different datasets
        from the same digit pools.
    """

    name: str
    image_size: int = 64
    num_train: int = 8000
    num_validation: int = 500
    num_test: int = 500
    min_digits: int = 1
    max_digits: int = 3
    min_digit_size: int | None = None
    max_digit_size: int | None = None
    context_bias: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a non-empty string, got {self.name!r}")
        _check_int("image_size", self.image_size, minimum=16)
        for field in ("num_train", "num_validation", "num_test"):
            _check_int(field, getattr(self, field), minimum=1)
        _check_int("min_digits", self.min_digits, minimum=1)
        _check_int("max_digits", self.max_digits, minimum=self.min_digits)
        if self.min_digit_size is not None:
            _check_int("min_digit_size", self.min_digit_size, minimum=_MIN_DIGIT_SIZE)
        if self.max_digit_size is not None:
            _check_int("max_digit_size", self.max_digit_size, minimum=_MIN_DIGIT_SIZE)
        min_size, max_size = self.digit_size_range
        if min_size > max_size:
            raise ValueError(
                f"min_digit_size: expected at most max_digit_size ({max_size}), "
                f"got {min_size}"
            )
        if max_size > self.image_size:
            raise ValueError(
                f"max_digit_size: expected at most image_size ({self.image_size}), "
                f"got {max_size}"
            )
        if isinstance(self.context_bias, bool) or not isinstance(
            self.context_bias, int | float | np.integer | np.floating
        ):
            raise ValueError(
                f"context_bias: expected a float in [0, 1], got {self.context_bias!r}"
            )
        if not 0.0 <= self.context_bias <= 1.0:
            raise ValueError(
                f"context_bias: expected a float in [0, 1], got {self.context_bias}"
            )
        _check_int("seed", self.seed, minimum=0)

    @property
    def digit_size_range(self) -> tuple[int, int]:
        """(smallest, largest) digit side in pixels, after scaling defaults."""
        scaled = [
            max(_MIN_DIGIT_SIZE, round(size * self.image_size / _REFERENCE_IMAGE_SIZE))
            for size in _REFERENCE_DIGIT_SIZE_RANGE
        ]
        if self.min_digit_size is None and self.max_digit_size is None:
            return scaled[0], scaled[1]
        if self.max_digit_size is None:
            return self.min_digit_size, max(scaled[1], self.min_digit_size)
        if self.min_digit_size is None:
            return min(scaled[0], self.max_digit_size), self.max_digit_size
        return self.min_digit_size, self.max_digit_size

    def num_examples(self, split: str) -> int:
        """Returns the number of examples of `split`."""
        _check_split(split)
        return getattr(self, f"num_{split}")


def _check_int(
    name: str, value: Any, *, minimum: int, maximum: int | None = None
) -> None:
    expectation = f"an integer >= {minimum}"
    if maximum is not None:
        expectation = f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: expected {expectation}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name}: expected {expectation}, got {value}")


CONFIGS: Mapping[str, TextureDigitsConfig] = {
    config.name: config
    for config in (
        TextureDigitsConfig(name="default"),
        TextureDigitsConfig(
            name="context_bias", min_digits=1, max_digits=1, context_bias=0.9
        ),
        TextureDigitsConfig(
            name="tiny",
            image_size=32,
            num_train=64,
            num_validation=16,
            num_test=16,
            min_digits=1,
            max_digits=2,
        ),
    )
}


def get_config(config: str | TextureDigitsConfig) -> TextureDigitsConfig:
    """Returns the named config, or `config` itself if it is already a config."""
    if isinstance(config, TextureDigitsConfig):
        return config
    if config not in CONFIGS:
        raise ValueError(f"config: expected one of {sorted(CONFIGS)}, got {config!r}")
    return CONFIGS[config]


def _check_split(split: str) -> None:
    if split not in _SPLIT_CODES:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
