"""Instance and connected-component targets."""

import jax
import numpy as np
import pytest
import scipy.ndimage as ndimage

import segxai_jax as sx
from segxai_jax.instances import connected_components


@pytest.mark.parametrize("connectivity", [4, 8])
def test_components_match_scipy(connectivity):
    rng = np.random.default_rng(0)
    binary = rng.random((12, 15)) > 0.6
    ours = np.asarray(
        jax.jit(connected_components, static_argnames="connectivity")(
            binary, connectivity=connectivity
        )
    )
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    theirs, count = ndimage.label(binary, structure)
    # Same partition: a one-to-one map between labels.
    pairs = set(zip(ours[binary].tolist(), theirs[binary].tolist(), strict=True))
    assert len(pairs) == count == len({a for a, _ in pairs})
    assert np.all(ours[~binary] == 0)


def test_instance_targets_classes_from_a_label_map_a_dict_or_an_int():
    instances = np.zeros((6, 6), int)
    instances[0:2, 0:3], instances[3:6, 3:6] = 4, 2
    labels = np.zeros((6, 6), int)
    labels[0:2, 0:3], labels[3:6, 3:6] = 5, 1
    labels[3, 3] = 7  # a stray pixel: the majority decides
    targets = sx.instance_targets(instances, labels)
    np.testing.assert_array_equal(targets.class_id, [1, 5])  # ids 2, 4 in order
    np.testing.assert_array_equal(targets.mask.sum((1, 2)), [9, 6])
    np.testing.assert_array_equal(
        sx.instance_targets(instances, {2: 3, 4: 8}).class_id, [3, 8]
    )
    np.testing.assert_array_equal(sx.instance_targets(instances, 6).class_id, [6, 6])
    assert sx.instance_targets(instances, 6, min_pixels=7).class_id.shape == (1,)


def test_bad_instance_inputs():
    instances = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match="no instance"):
        sx.instance_targets(instances, 1)
    instances[0, 0] = 1
    with pytest.raises(ValueError, match="classes"):
        sx.instance_targets(instances)
    with pytest.raises(ValueError, match=r"classes: no class for instance\(s\) \[1\]"):
        sx.instance_targets(instances, {2: 1})
    with pytest.raises(ValueError, match="classes: expected a label map of shape"):
        sx.instance_targets(instances, np.zeros((3, 3), int))
    with pytest.raises(TypeError, match="instances"):
        sx.instance_targets(instances.astype(float), 1)
    with pytest.raises(ValueError, match="connectivity"):
        sx.component_targets(instances, 1, connectivity=6)


def test_component_targets_raster_order_and_min_pixels():
    labels = np.zeros((6, 8), int)
    labels[4:6, 0:2], labels[0:1, 5:8], labels[2, 2] = 3, 3, 3
    targets = sx.component_targets(labels, 3, min_pixels=2)
    np.testing.assert_array_equal(targets.mask.sum((1, 2)), [3, 4])  # top first
    np.testing.assert_array_equal(targets.class_id, [3, 3])
