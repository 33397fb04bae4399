"""The dataset of an experiment, from its config's ``data`` section."""

from __future__ import annotations

from segxai_jax.data import load_sources, to_arrays


def load_data(data_config, splits=("train", "validation", "test")) -> dict:
    """In-memory arrays of each split plus the dataset spec under ``"spec"``.

    Args:
      data_config: ``name`` (one of ``segxai_jax.data.KNOWN_DATASETS``),
        ``config`` (the dataset's config name; "" = its default) and
        ``data_dir`` ("" = TFDS default).
      splits: which splits to load.

    Raises:
      ValueError: an unknown ``config.data.name`` (the known ones are listed).
      ImportError: a dataset whose optional extra is missing (names the
        ``pip install`` command).
    """
    try:
        sources, spec = load_sources(
            data_config.name,
            data_config.config or None,
            data_dir=data_config.data_dir or None,
            splits=splits,
        )
    except ValueError as error:
        raise ValueError(f"config.data: {error}") from error
    data = {
        split: to_arrays(sources[split], num_classes=spec.num_classes)
        for split in splits
    }
    data["spec"] = spec
    return data
