"""One target per object: instance-id maps and connected components.

Semantic targets explain a class over its whole region; instance
segmentation (and "which of these nuclei made the model say nucleus") needs
one target per object. Both builders return a batched
:class:`~segxai_jax.types.Target` (``class_id [T]``, ``mask [T, H, W]``) to
explain every object of an image in ONE vmapped call with
:func:`segxai_jax.explain_targets`; like :func:`segxai_jax.class_targets`
they run on concrete arrays (the number of objects decides the shapes).

* :func:`instance_targets`: from an instance-id map (0 = no object), with
  the class of each instance taken from a label map (its most frequent
  label), a fixed class, or binary (one-logit) targets;
* :func:`component_targets`: the connected components of one class of a
  label map (a prediction or the ground truth).

:func:`connected_components` is jittable (label propagation through the
4- or 8-neighbourhood, as :func:`segxai_jax.targets.largest_component_roi`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from segxai_jax import validation
from segxai_jax.targets import binary_target, make_target
from segxai_jax.types import Target

CONNECTIVITIES = (4, 8)


def connected_components(binary, *, connectivity: int = 4) -> jax.Array:
    """Labels of the connected components of a binary mask ``[H, W]`` (jittable).

    Args:
      binary: ``[H, W]``; pixels ``> 0`` are on.
      connectivity: 4 (edge neighbours) or 8 (edges and corners).

    Returns:
      int32 ``[H, W]``: 0 off, and for each component the largest flat pixel
      index + 1 inside it (labels are not consecutive; see
      :func:`component_targets` for consecutive ones).
    """
    validation.check_choice(connectivity, "connectivity", CONNECTIVITIES)
    binary = binary if hasattr(binary, "dtype") else np.asarray(binary)
    if getattr(binary, "ndim", None) != 2:
        raise ValueError(
            f"binary: expected a mask [H, W], got shape {np.shape(binary)}"
        )
    h, w = binary.shape
    on = jnp.asarray(binary) > 0
    labels = jnp.where(on, jnp.arange(1, h * w + 1, dtype=jnp.int32).reshape(h, w), 0)
    offsets = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        offsets += [(-1, -1), (-1, 1), (1, -1), (1, 1)]

    def sweep(current):
        padded = jnp.pad(current, 1)
        shifted = [
            padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in offsets
        ]
        return jnp.where(on, jnp.max(jnp.stack([current, *shifted]), axis=0), 0)

    def cond(carry):
        previous, current = carry
        return jnp.any(previous != current)

    def body(carry):
        return carry[1], sweep(carry[1])

    return jax.lax.while_loop(cond, body, (labels, sweep(labels)))[1]


def _check_labels(array, name: str) -> np.ndarray:
    array = array if hasattr(array, "dtype") else np.asarray(array)
    if np.dtype(array.dtype) == np.bool_:
        array = np.asarray(array, np.int32)  # a binary mask: labels 0 and 1
    validation.check_label_array(array, name, ndim=2)
    return np.asarray(array)


def _min_pixels(min_pixels) -> int:
    return validation.check_int(min_pixels, "min_pixels", minimum=1)


def component_targets(
    labels, class_id: int, *, connectivity: int = 4, min_pixels: int = 1, binary=False
) -> Target:
    """One target per connected component of class ``class_id`` in ``labels``.

    Args:
      labels: ``[H, W]`` integer label map (a prediction or the ground truth).
      class_id: the class whose components are the objects.
      connectivity: 4 or 8.
      min_pixels: smaller components are left out (speckle).
      binary: build binary (one-logit) foreground targets instead of class
        targets (for a sigmoid segmenter; ``labels`` then is the thresholded
        prediction and ``class_id`` 1).

    Returns:
      A batched :class:`~segxai_jax.types.Target`, components ordered by
      their first pixel in raster order.

    Raises:
      ValueError: no component of ``min_pixels`` or more pixels.
    """
    labels = _check_labels(labels, "labels")
    validation.check_int(class_id, "class_id", minimum=0)
    validation.check_bool(binary, "binary")
    minimum = _min_pixels(min_pixels)
    components = np.asarray(
        connected_components(labels == class_id, connectivity=connectivity)
    )
    return _targets_of(components, {}, class_id, minimum, binary, f"class {class_id}")


def instance_targets(
    instances, classes=None, *, min_pixels: int = 1, binary: bool = False
) -> Target:
    """One target per instance of an instance-id map.

    Args:
      instances: ``[H, W]`` integer map, 0 = no instance, ``i > 0`` the pixels
        of instance ``i``.
      classes: the class of each instance: a label map ``[H, W]`` (the most
        frequent label inside the instance), one int for all, or a dict
        ``{instance id: class}``; ignored (may be ``None``) with ``binary``.
      min_pixels: smaller instances are left out.
      binary: binary (one-logit) foreground targets.

    Returns:
      A batched :class:`~segxai_jax.types.Target`, instances in increasing id
      order.

    Raises:
      ValueError: no instance, a label map of another shape, or an instance
        without a class in ``classes``.
    """
    instances = _check_labels(instances, "instances")
    validation.check_bool(binary, "binary")
    minimum = _min_pixels(min_pixels)
    if binary:
        class_of = {}
        default = 1
    elif classes is None:
        raise ValueError(
            "classes: expected a label map [H, W], an int or {instance: class} "
            "(or binary=True for a one-logit model), got None"
        )
    elif isinstance(classes, dict):
        class_of, default = dict(classes), None
    elif isinstance(classes, int | np.integer) and not isinstance(classes, bool):
        class_of, default = {}, validation.check_int(classes, "classes", minimum=0)
    else:
        label_map = _check_labels(classes, "classes")
        if label_map.shape != instances.shape:
            raise ValueError(
                f"classes: expected a label map of shape {instances.shape} (the "
                f"instances'), got {label_map.shape}"
            )
        class_of = {
            int(i): int(np.bincount(label_map[instances == i]).argmax())
            for i in np.unique(instances)
            if i > 0
        }
        default = None
    return _targets_of(instances, class_of, default, minimum, binary, "instance")


def _targets_of(ids, class_of, default, minimum, binary, what) -> Target:
    candidates = (
        _ordered_ids(ids)
        if what != "instance"
        else [int(i) for i in np.unique(ids) if i > 0]
    )
    present = [i for i in candidates if np.sum(ids == i) >= minimum]
    if not present:
        raise ValueError(f"no {what} object of at least {minimum} pixel(s) to explain")
    masks = np.stack([(ids == i).astype(np.float32) for i in present])
    if binary:
        return binary_target(masks, foreground=np.ones(len(present), bool))
    missing = [i for i in present if class_of.get(int(i), default) is None]
    if missing:
        raise ValueError(f"classes: no class for instance(s) {missing}")
    class_ids = np.asarray([class_of.get(int(i), default) for i in present], np.int32)
    return make_target(class_ids, masks)


def _ordered_ids(ids: np.ndarray) -> list[int]:
    """Non-zero ids ordered by their first pixel in raster order."""
    flat = ids.reshape(-1)
    values, first = np.unique(flat, return_index=True)
    order = np.argsort(first)
    return [int(values[k]) for k in order if values[k] > 0]
