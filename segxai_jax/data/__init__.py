"""Datasets and input pipeline for explainable semantic segmentation."""

from segxai_jax.data.checks import validate_batch, validate_images, validate_masks
from segxai_jax.data.pets import (
    BORDER_OPTIONS,
    OxfordPetsSource,
    load_oxford_pets,
    trimap_to_mask,
)
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
    "TEXTURE_FAMILY_NAMES",
    "ArraySource",
    "DatasetSpec",
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
    "load_oxford_pets",
    "load_texture_digits",
    "luminance",
    "render_example",
    "resize_bilinear",
    "resize_nearest",
    "source_digit_pool",
    "texture",
    "to_arrays",
    "trimap_to_mask",
    "validate_batch",
    "validate_images",
    "validate_masks",
]
