"""Datasets and input pipeline for explainable semantic segmentation."""

from segxai_jax.data.checks import validate_batch, validate_images, validate_masks
from segxai_jax.data.nuclei import NucleiConfig, tile_origins
from segxai_jax.data.nuclei_tfds import Nuclei, load_nuclei
from segxai_jax.data.pets import (
    BORDER_OPTIONS,
    OxfordPetsSource,
    load_oxford_pets,
    trimap_to_mask,
)
from segxai_jax.data.photos import PHOTOS, load_photo
from segxai_jax.data.pipeline import (
    KNOWN_DATASETS,
    ArraySource,
    DatasetSpec,
    RandomAccessSource,
    batches,
    dataset_spec,
    to_arrays,
)
from segxai_jax.data.resize import resize_bilinear, resize_nearest
from segxai_jax.data.sources import load_sources
from segxai_jax.data.texture_digits import (
    CONFIGS,
    PastedDigit,
    RenderedExample,
    TextureDigitsConfig,
    generate_example,
    generate_split,
    get_config,
    render_example,
    source_digit_pool,
)
from segxai_jax.data.texture_digits_tfds import (
    TextureDigits,
    TextureDigitsBuilderConfig,
    load_texture_digits,
)
from segxai_jax.data.textures import (
    NUM_TEXTURE_FAMILIES,
    TEXTURE_FAMILY_NAMES,
    luminance,
    texture,
)

__all__ = [
    "BORDER_OPTIONS",
    "CONFIGS",
    "KNOWN_DATASETS",
    "NUM_TEXTURE_FAMILIES",
    "PHOTOS",
    "TEXTURE_FAMILY_NAMES",
    "ArraySource",
    "DatasetSpec",
    "Nuclei",
    "NucleiConfig",
    "OxfordPetsSource",
    "PastedDigit",
    "RandomAccessSource",
    "RenderedExample",
    "TextureDigits",
    "TextureDigitsBuilderConfig",
    "TextureDigitsConfig",
    "batches",
    "dataset_spec",
    "generate_example",
    "generate_split",
    "get_config",
    "load_nuclei",
    "load_oxford_pets",
    "load_photo",
    "load_sources",
    "load_texture_digits",
    "luminance",
    "render_example",
    "resize_bilinear",
    "resize_nearest",
    "source_digit_pool",
    "texture",
    "tile_origins",
    "to_arrays",
    "trimap_to_mask",
    "validate_batch",
    "validate_images",
    "validate_masks",
]
