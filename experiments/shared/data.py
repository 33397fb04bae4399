"""The dataset of an experiment, from its config's ``data`` section."""

from __future__ import annotations

from segxai_jax.data import dataset_spec, load_texture_digits, to_arrays


def load_data(data_config, splits=("train", "validation", "test")) -> dict:
    """In-memory arrays of each split plus the dataset spec under ``"spec"``.

    Args:
      data_config: ``name`` (only ``texture_digits`` is built locally),
        ``config`` (builder config name) and ``data_dir`` ("" = TFDS default).
      splits: which splits to load.

    Raises:
      ValueError: an unknown ``config.data.name``.
    """
    if data_config.name != "texture_digits":
        raise ValueError(
            f"config.data.name: expected 'texture_digits', got {data_config.name!r}"
        )
    sources = load_texture_digits(
        data_config.config, data_dir=data_config.data_dir or None, splits=splits
    )
    spec = dataset_spec("texture_digits", data_config.config)
    data = {split: to_arrays(sources[split]) for split in splits}
    data["spec"] = spec
    return data
