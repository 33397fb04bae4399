"""Compressors: exact boxes and corners, byte sizes, jit == no-jit, bad input."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.continual import compress as cp
from segxai_jax.continual import memory as mem

HW = (16, 16)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    image8 = rng.integers(0, 256, (*HW, 3), dtype=np.uint8)
    image = jnp.asarray(image8.astype(np.float32) / np.float32(255.0))
    mask = jnp.asarray(rng.integers(0, 5, HW), jnp.int32)
    saliency = jnp.zeros(HW).at[9:13, 2:6].set(1.0)  # hot 4 x 4 block at (9, 2)
    return image8, image, mask, saliency


def test_salient_corner_is_exact():
    saliency = jnp.zeros((10, 12)).at[4:7, 8:11].set(1.0)
    assert cp.salient_corner(saliency, 3).tolist() == [4, 8]
    # one hot pixel: the first window containing it (row-major tie-break)
    pixel = jnp.zeros((10, 12)).at[6, 9].set(1.0)
    assert cp.salient_corner(pixel, 4).tolist() == [3, 6]
    assert cp.salient_corner(jnp.zeros((10, 12)).at[0, 0].set(1.0), 4).tolist() == [
        0,
        0,
    ]
    # a window as large as the image: corner (0, 0)
    assert cp.salient_corner(pixel, 10).tolist() == [0, 0]
    # NaN is the lowest saliency, not the highest
    nan = jnp.zeros((10, 12)).at[0, 0].set(jnp.nan).at[8, 10].set(1.0)
    assert cp.salient_corner(nan, 2).tolist() == [7, 9]


@pytest.mark.parametrize("kind", ["patch", "box"])
def test_salient_region_is_bit_identical_after_round_trip(kind):
    image8, image, mask, saliency = _inputs()
    comp = cp.make_compressor(kind, image_shape=HW, patch_size=4, box_size=4, factor=4)
    ex = comp.compress(jax.random.key(0), image, mask, saliency)
    assert ex["corner"].tolist() == [9, 2]
    out_image, out_mask, weight = comp.decompress(ex)
    box = (slice(9, 13), slice(2, 6))
    # exact in uint8 and in the float32 the pipeline produces
    np.testing.assert_array_equal(cp.to_uint8(out_image)[box], image8[box])
    np.testing.assert_array_equal(
        np.asarray(out_image[box]).view(np.uint32),
        np.asarray(image[box]).view(np.uint32),
    )
    np.testing.assert_array_equal(out_mask[box], mask[box])
    if kind == "patch":
        assert float(weight.sum()) == 16 and float(weight[box].min()) == 1
        assert not out_image.at[box].set(0.0).any()  # zeros outside the patch
    else:
        assert float(weight.min()) == 1  # low-res labels outside the box
        # outside the box: the nearest-neighbour low-resolution copy
        np.testing.assert_array_equal(
            cp.to_uint8(out_image)[0:4, 8:12], np.broadcast_to(image8[0, 8], (4, 4, 3))
        )


def test_box_with_ignored_outside_and_random_placement():
    _, image, mask, saliency = _inputs()
    comp = cp.make_compressor(
        "box",
        image_shape=HW,
        box_size=4,
        factor=2,
        outside="ignore",
        placement="random",
    )
    a = comp.compress(jax.random.key(1), image, mask, saliency)
    corners = {
        tuple(
            comp.compress(jax.random.key(k), image, mask, saliency)["corner"].tolist()
        )
        for k in range(4)
    }
    assert len(corners) > 1  # the saliency does not fix a random box
    assert 0 <= a["corner"].min() and a["corner"].max() <= 12
    _, _, weight = comp.decompress(a)
    assert float(weight.sum()) == 16


def test_stored_arrays_are_really_smaller_and_bytes_match():
    kinds = {
        "full": cp.make_compressor("full", image_shape=HW),
        "patch": cp.make_compressor("patch", image_shape=HW, patch_size=8),
        "box": cp.make_compressor("box", image_shape=HW, box_size=8, factor=4),
    }
    _, image, mask, saliency = _inputs()
    sizes = {}
    for name, comp in kinds.items():
        ex = comp.compress(jax.random.key(0), image, mask, saliency)
        real = sum(np.asarray(x).nbytes for x in jax.tree.leaves(ex))
        assert mem.exemplar_bytes(comp.example) == real + 4
        chex.assert_trees_all_equal_shapes_and_dtypes(ex, comp.example)
        sizes[name] = real
    assert sizes["full"] == 16 * 16 * 4
    assert sizes["patch"] == 8 * 8 * 4 + 8
    assert sizes["box"] == 4 * 4 * 4 + 8 * 8 * 4 + 8
    size = cp.downsample_size_for_bytes(sizes["box"], HW)
    down = cp.make_compressor("downsample", image_shape=HW, size=size)
    assert mem.exemplar_bytes(down.example) - 4 <= sizes["box"]
    ex = down.compress(None, image, mask, saliency)
    out_image, out_mask, _ = down.decompress(ex)
    assert out_image.shape == (*HW, 3) and out_mask.shape == HW


@pytest.mark.parametrize(
    "kind,options",
    [
        ("full", {}),
        ("patch", {"patch_size": 5}),
        ("box", {"box_size": 6, "factor": 2}),
        ("box", {"box_size": 6, "factor": 2, "placement": "random"}),
        ("downsample", {"size": (7, 8)}),
        ("instance", {"patch_size": 5}),
        ("patch", {"patch_size": 5, "placement": "object"}),
    ],
)
def test_jit_equals_no_jit_and_batched_equals_loop(kind, options):
    _, image, mask, saliency = _inputs()
    comp = cp.make_compressor(kind, image_shape=HW, **options)
    key = jax.random.key(3)
    eager = comp.compress(key, image, mask, saliency)
    chex.assert_trees_all_equal(
        jax.jit(comp.compress)(key, image, mask, saliency), eager
    )
    chex.assert_trees_all_equal(jax.jit(comp.decompress)(eager), comp.decompress(eager))
    images, masks, sal = (jnp.stack([a, a[::-1]]) for a in (image, mask, saliency))
    batched = jax.jit(cp.compress_batch(comp))(key, images, masks, sal)
    keys = jax.random.split(key, 2)
    for i in range(2):
        one = comp.compress(keys[i], images[i], masks[i], sal[i])
        chex.assert_trees_all_equal(jax.tree.map(lambda x, i=i: x[i], batched), one)


def test_instance_keeps_only_the_objects_of_the_densest_window():
    """Oracle: a single object block; the window covers it, background dropped."""
    _, image, _, saliency = _inputs()
    mask = jnp.zeros(HW, jnp.int32).at[2:6, 10:14].set(3)  # object 4 x 4 at (2, 10)
    comp = cp.make_compressor("instance", image_shape=HW, patch_size=6)
    ex = comp.compress(jax.random.key(0), image, mask, saliency)
    # The first window (row-major) that contains the whole object.
    assert ex["corner"].tolist() == [0, 8]
    out_image, out_mask, weight = comp.decompress(ex)
    np.testing.assert_array_equal(np.asarray(weight), np.asarray(mask > 0, np.float32))
    np.testing.assert_array_equal(np.asarray(out_mask), np.asarray(mask))
    inside = np.asarray(mask > 0)
    np.testing.assert_allclose(
        np.asarray(out_image)[inside], np.asarray(image)[inside], atol=1 / 255
    )
    assert float(jnp.abs(out_image[~inside]).max()) == 0.0
    # Same bytes as a patch; object placement ignores the saliency.
    patch = cp.make_compressor("patch", image_shape=HW, patch_size=6)
    assert mem.exemplar_bytes(comp.example) == mem.exemplar_bytes(patch.example)
    placed = cp.make_compressor(
        "patch", image_shape=HW, patch_size=6, placement="object"
    ).compress(jax.random.key(0), image, mask, saliency)
    assert placed["corner"].tolist() == [0, 8]


def test_bad_input_raises():
    _, image, mask, saliency = _inputs()
    with pytest.raises(ValueError, match="patch_size"):
        cp.make_compressor("patch", image_shape=HW, patch_size=17)
    with pytest.raises(ValueError, match="box_size"):
        cp.make_compressor("box", image_shape=HW, box_size=0)
    with pytest.raises(ValueError, match="factor"):
        cp.make_compressor("box", image_shape=HW, box_size=4, factor=3)
    with pytest.raises(ValueError, match="kind"):
        cp.make_compressor("jpeg", image_shape=HW)
    with pytest.raises(ValueError, match="size"):
        cp.make_compressor("downsample", image_shape=HW, size=(17, 4))
    comp = cp.make_compressor("patch", image_shape=HW, patch_size=4)
    with pytest.raises(ValueError, match="saliency"):
        comp.compress(None, image, mask, saliency[:8])
    with pytest.raises(ValueError, match="saliency"):
        jax.jit(comp.compress)(None, image, mask, saliency[None])
    with pytest.raises(ValueError, match="window"):
        cp.salient_corner(saliency, 20)
