"""Procedural colour textures used as backgrounds of the TextureDigits dataset.

Each of the ten families has a distinct spatial character (orientation,
periodicity, sharp versus smooth edges), so a classifier can tell the family of
a background from a small crop. Within a family, frequency, phase, orientation
and colours are random. A context-bias study relies on this: it ties the
background family to the digit class and checks whether an explanation points
at the digit or at the background.

Every texture mixes two colours with a pattern ``p`` in [0, 1]::

    texture = (1 - p) * colour_a + p * colour_b + noise

The two colours differ in luminance by 0.15 to 0.35 so the pattern is visible
in grey scale, but the background stays within a narrow luminance band; this
leaves room for digits that contrast with every background pixel, not only
with the background's mean.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NUM_TEXTURE_FAMILIES = 10
TEXTURE_FAMILY_NAMES = (
    "horizontal_stripes",
    "vertical_stripes",
    "diagonal_stripes",
    "checkerboard",
    "dots",
    "waves",
    "blobs",
    "rings",
    "grid",
    "plasma",
)

# ITU-R BT.601 luma weights.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_MIN_COLOUR_LUMINANCE_GAP = 0.15
_MAX_COLOUR_LUMINANCE_GAP = 0.35
_MIN_COLOUR_DISTANCE = 0.35
_PIXEL_NOISE_STD = 0.02
# Steepness of tanh edges of stripes, checks and rings: high enough for crisp
# edges, low enough to stay anti-aliased.
_EDGE_SHARPNESS = 6.0

_Pattern = Callable[[np.random.Generator, np.ndarray, np.ndarray, int], np.ndarray]


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Returns the BT.601 luminance of RGB values in [0, 1].

    Args:
      rgb: array [..., 3].

    Returns:
      float32 array [...].
    """
    return np.asarray(rgb, dtype=np.float32) @ _LUMA_WEIGHTS


def _rotate(
    y: np.ndarray, x: np.ndarray, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rotates the coordinate frame by `angle` radians."""
    cos, sin = np.cos(angle), np.sin(angle)
    return cos * y - sin * x, sin * y + cos * x


def _soft_square(phase: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """A square wave with soft edges; `phase` in cycles, `offset` shifts the duty."""
    return 0.5 + 0.5 * np.tanh(_EDGE_SHARPNESS * (np.sin(2 * np.pi * phase) + offset))


def _random_field(
    rng: np.random.Generator,
    y: np.ndarray,
    x: np.ndarray,
    *,
    min_cycles: float,
    max_cycles: float,
    num_waves: int = 8,
) -> np.ndarray:
    """A smooth random field with unit variance: a sum of random plane waves."""
    angles = rng.uniform(0.0, 2 * np.pi, num_waves)
    cycles = rng.uniform(min_cycles, max_cycles, num_waves)
    phases = rng.uniform(0.0, 2 * np.pi, num_waves)
    field = np.zeros_like(y)
    for angle, frequency, phase in zip(angles, cycles, phases, strict=True):
        along = np.cos(angle) * y + np.sin(angle) * x
        field += np.sin(2 * np.pi * frequency * along + phase)
    return field / np.sqrt(num_waves / 2)


def _stripes(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, angle: float
) -> np.ndarray:
    across, _ = _rotate(y, x, angle)
    cycles = rng.uniform(3.0, 6.0)
    return _soft_square(cycles * across + rng.uniform(), rng.uniform(-0.3, 0.3))


def _horizontal_stripes(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    return _stripes(rng, y, x, np.deg2rad(rng.uniform(-8.0, 8.0)))


def _vertical_stripes(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    return _stripes(rng, y, x, np.deg2rad(90.0 + rng.uniform(-8.0, 8.0)))


def _diagonal_stripes(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    base = rng.choice([45.0, 135.0])
    return _stripes(rng, y, x, np.deg2rad(base + rng.uniform(-10.0, 10.0)))


def _checkerboard(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    v, u = _rotate(y, x, np.deg2rad(rng.uniform(-10.0, 10.0)))
    cycles = rng.uniform(2.0, 4.0)
    rows = np.tanh(_EDGE_SHARPNESS * np.sin(2 * np.pi * (cycles * v + rng.uniform())))
    cols = np.tanh(_EDGE_SHARPNESS * np.sin(2 * np.pi * (cycles * u + rng.uniform())))
    return 0.5 + 0.5 * rows * cols


def _dots(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    v, u = _rotate(y, x, np.deg2rad(rng.uniform(-15.0, 15.0)))
    cycles = rng.uniform(3.0, 6.0)
    cell_v = cycles * v + rng.uniform()
    cell_u = cycles * u + rng.uniform()
    if rng.random() < 0.5:
        # Hexagonal packing: every other row of dots is shifted by half a cell.
        cell_u = cell_u + 0.5 * (np.floor(cell_v) % 2)
    offset_v = cell_v - np.floor(cell_v) - 0.5
    offset_u = cell_u - np.floor(cell_u) - 0.5
    distance_px = np.hypot(offset_v, offset_u) * (size / cycles)
    radius_px = rng.uniform(0.22, 0.36) * size / cycles
    # A one-pixel linear ramp anti-aliases the dot edge.
    return np.clip(radius_px - distance_px + 0.5, 0.0, 1.0)


def _waves(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    first_angle = rng.uniform(0.0, np.pi)
    # At least 40 degrees between the two waves, so the sum is a 2-D pattern and
    # never collapses into stripes.
    second_angle = first_angle + rng.uniform(np.deg2rad(40.0), np.deg2rad(140.0))
    pattern = np.zeros_like(y)
    for angle in (first_angle, second_angle):
        along = np.cos(angle) * y + np.sin(angle) * x
        cycles = rng.uniform(2.0, 4.0)
        pattern += np.sin(2 * np.pi * cycles * along + rng.uniform(0.0, 2 * np.pi))
    return 0.5 + 0.25 * pattern


def _blobs(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    field = _random_field(rng, y, x, min_cycles=1.0, max_cycles=3.0)
    threshold = rng.uniform(-0.4, 0.4)
    return 0.5 + 0.5 * np.tanh(4.0 * (field - threshold))


def _rings(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    centre_y, centre_x = rng.uniform(0.15, 0.85, 2)
    radius = np.hypot(y - centre_y, x - centre_x)
    cycles = rng.uniform(3.0, 6.0)
    return _soft_square(cycles * radius + rng.uniform(), rng.uniform(-0.3, 0.3))


def _grid(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    v, u = _rotate(y, x, np.deg2rad(rng.uniform(-8.0, 8.0)))
    cycles = rng.uniform(3.0, 5.0)
    half_width_px = rng.uniform(0.08, 0.14) * size / cycles
    lines = []
    for coordinate in (v, u):
        cell = cycles * coordinate + rng.uniform()
        distance_px = np.abs(cell - np.round(cell)) * (size / cycles)
        lines.append(np.clip(half_width_px - distance_px + 0.5, 0.0, 1.0))
    return np.maximum(*lines)


def _plasma(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, size: int
) -> np.ndarray:
    angle = rng.uniform(0.0, 2 * np.pi)
    gradient = np.cos(angle) * y + np.sin(angle) * x
    field = _random_field(rng, y, x, min_cycles=0.3, max_cycles=1.2, num_waves=4)
    pattern = gradient + 0.25 * field
    return (pattern - pattern.min()) / max(float(np.ptp(pattern)), 1e-6)


_PATTERNS: tuple[_Pattern, ...] = (
    _horizontal_stripes,
    _vertical_stripes,
    _diagonal_stripes,
    _checkerboard,
    _dots,
    _waves,
    _blobs,
    _rings,
    _grid,
    _plasma,
)


def _colour_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two clearly different colours whose luminance differs only moderately."""
    # Vectorised rejection sampling: draw candidate pairs in bulk and take the
    # first acceptable one; about a third of the candidates pass.
    for _ in range(100):
        colours = rng.uniform(0.0, 1.0, size=(32, 2, 3)).astype(np.float32)
        luminance_gap = np.abs(luminance(colours[:, 0]) - luminance(colours[:, 1]))
        distance = np.linalg.norm(colours[:, 0] - colours[:, 1], axis=-1)
        accepted = np.flatnonzero(
            (luminance_gap >= _MIN_COLOUR_LUMINANCE_GAP)
            & (luminance_gap <= _MAX_COLOUR_LUMINANCE_GAP)
            & (distance >= _MIN_COLOUR_DISTANCE)
        )
        if accepted.size:
            first, second = colours[accepted[0]]
            return first, second
    raise RuntimeError("could not sample a texture colour pair")  # pragma: no cover


def texture(rng: np.random.Generator, family: int, size: int) -> np.ndarray:
    """Samples a random colour texture of one family.

    Args:
      rng: source of randomness; the texture is a deterministic function of its
        state.
      family: texture family in [0, NUM_TEXTURE_FAMILIES); see
        `TEXTURE_FAMILY_NAMES`.
      size: height and width in pixels (at least 8).

    Returns:
      float32 array [size, size, 3] with values in [0, 1].
    """
    if isinstance(family, bool) or not isinstance(family, int | np.integer):
        raise ValueError(f"family: expected an integer, got {family!r}")
    if not 0 <= family < NUM_TEXTURE_FAMILIES:
        raise ValueError(
            f"family: expected a value in [0, {NUM_TEXTURE_FAMILIES}), got {family}"
        )
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 8:
        raise ValueError(f"size: expected an integer >= 8, got {size!r}")

    # Pixel centres in image units, so a pattern looks the same at any size.
    coordinates = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(coordinates, coordinates, indexing="ij")  # [S, S] each
    pattern = _PATTERNS[int(family)](rng, y, x, int(size)).astype(np.float32)
    colour_a, colour_b = _colour_pair(rng)
    pattern = pattern[..., None]  # [S, S, 1]
    image = (1.0 - pattern) * colour_a + pattern * colour_b  # [S, S, 3]
    image += _PIXEL_NOISE_STD * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0.0, 1.0, out=image)
