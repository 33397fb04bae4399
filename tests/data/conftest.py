"""Shared fixtures of the data-layer tests."""

from __future__ import annotations

import pytest

from segxai_jax.data import texture_digits, texture_digits_tfds


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A TFDS data_dir holding the prepared `tiny` config (built once per session)."""
    data_dir = tmp_path_factory.mktemp("tfds")
    texture_digits_tfds.load_texture_digits("tiny", data_dir=data_dir)
    return str(data_dir)


@pytest.fixture(scope="session")
def tiny_sources(tiny_data_dir: str) -> dict:
    return texture_digits_tfds.load_texture_digits("tiny", data_dir=tiny_data_dir)


@pytest.fixture(scope="session")
def tiny_train() -> dict:
    """The `tiny` train split generated in memory with numpy."""
    return texture_digits.generate_split("tiny", "train")
