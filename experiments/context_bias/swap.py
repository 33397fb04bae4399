"""The same digits on a background texture family of our choice.

The context-bias study needs pairs of images that differ ONLY in the
background family: the digit (same source handwriting, size and position) on
a texture that matches its class and on one that does not. The dataset
generator draws the family before the digits, from one random stream, so
forcing another family there would move the digits too. Instead the
composition of a generated example (:func:`segxai_jax.data.render_example`)
is replayed here onto a freshly drawn texture:

* the texture: :func:`segxai_jax.data.texture` of the chosen family, from
  ``rng = default_rng([seed, index, family])``;
* each digit's opacity: the generator's recipe (bilinear upscaling, a linear
  ramp around intensity 0.5, mask = opacity > 0.5); the resulting mask is
  checked against the generated example's mask, so a change of the generator
  is caught instead of silently producing different pairs;
* each digit's colour: a random hue brightened or darkened to a luminance
  0.35-0.7 away from the new background under the digit (the generator's
  contrast rule), drawn from ``default_rng([seed, index])`` so that the two
  versions of a pair share the hue and the lighter/darker choice.
"""

from __future__ import annotations

import functools

import numpy as np

from segxai_jax.data import (
    NUM_TEXTURE_FAMILIES,
    get_config,
    luminance,
    render_example,
    resize_bilinear,
    texture,
)

_MIN_CONTRAST, _MAX_CONTRAST = 0.35, 0.7
_FOREGROUND_NOISE_STD = 0.03


@functools.cache
def _source_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().images / 16.0).astype(np.float32)  # [1797, 8, 8]


def _alpha(source: np.ndarray, size: int) -> np.ndarray:
    intensity = resize_bilinear(source, (size, size))
    return np.clip((intensity - 0.35) / 0.3, 0.0, 1.0)


def _colour(rng: np.random.Generator, background: float) -> np.ndarray:
    hue = rng.uniform(0.0, 1.0, 3).astype(np.float32)
    darker = rng.random() < 0.5
    offset = rng.uniform(_MIN_CONTRAST, _MAX_CONTRAST)
    target = background - offset if darker else background + offset
    if not 0.0 <= target <= 1.0:  # infeasible side: take the other one
        target = background + offset if darker else background - offset
    target = float(np.clip(target, 0.0, 1.0))
    current = float(luminance(hue))
    if current > target:
        return hue * (target / current)
    return 1.0 - (1.0 - hue) * ((1.0 - target) / (1.0 - current))


def render_on_family(config, split: str, index: int, family: int, *, seed: int = 0):
    """Example ``index`` of ``split`` with its digits replayed onto ``family``.

    Args:
      config: a texture-digits config name or ``TextureDigitsConfig``.
      split: ``"train"``, ``"validation"`` or ``"test"``.
      index: example index.
      family: background texture family in ``[0, 10)``.
      seed: seed of the new texture and digit colours.

    Returns:
      ``(image float32 [S, S, 3] in [0, 1], mask int32 [S, S], labels)`` with
      ``labels`` the pasted digits (0..9) in paint order.

    Raises:
      ValueError: ``family`` out of range.
      RuntimeError: the replayed mask differs from the generated example's.
    """
    if not 0 <= int(family) < NUM_TEXTURE_FAMILIES:
        raise ValueError(
            f"family: expected a value in [0, {NUM_TEXTURE_FAMILIES}), got {family}"
        )
    config = get_config(config)
    example = render_example(config, split, int(index))
    size = config.image_size
    canvas = texture(np.random.default_rng([seed, index, family]), int(family), size)
    colour_rng = np.random.default_rng([seed, index])
    noise_rng = np.random.default_rng([seed, index, 10 + NUM_TEXTURE_FAMILIES])
    mask = np.zeros((size, size), np.int32)
    for digit in example.digits:
        alpha = _alpha(_source_images()[digit.source_index], digit.size)
        window = np.s_[
            digit.top : digit.top + digit.size, digit.left : digit.left + digit.size
        ]
        colour = _colour(colour_rng, float(luminance(canvas[window]).mean()))
        noise = noise_rng.standard_normal((digit.size, digit.size, 3)).astype(
            np.float32
        )
        foreground = colour + _FOREGROUND_NOISE_STD * noise
        canvas[window] += alpha[..., None] * (foreground - canvas[window])
        mask[window][alpha > 0.5] = digit.label + 1
    if not np.array_equal(mask, example.mask):
        raise RuntimeError(
            f"render_on_family: the replayed mask of {split} example {index} differs "
            "from the generator's; the generator's digit recipe has changed"
        )
    image = np.round(np.clip(canvas, 0.0, 1.0) * 255.0) / 255.0
    return image.astype(np.float32), mask, tuple(d.label for d in example.digits)
