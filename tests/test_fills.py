"""Tests of the occlusion/deletion fills (substrates)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from segxai_jax.fills import (
    FILL_KINDS,
    Fill,
    apply_fill,
    as_fill,
    gaussian_blur,
    make_fill,
)

H, W, C = 12, 10, 3


@pytest.fixture(scope="module")
def image():
    return jax.random.uniform(jax.random.key(0), (H, W, C))


@pytest.fixture(scope="module")
def box():
    mask = np.zeros((H, W), np.float32)
    mask[2:6, 3:8] = 1.0
    return jnp.asarray(mask)


KEY = jax.random.key(42)


@pytest.mark.parametrize("kind,value", [("black", 0.0), ("white", 1.0), ("grey", 0.5)])
def test_constant_fills(image, box, kind, value):
    filled = make_fill(kind)(KEY, image, box)
    inside = np.asarray(box, bool)
    np.testing.assert_array_equal(np.asarray(filled)[inside], value)
    np.testing.assert_array_equal(
        np.asarray(filled)[~inside], np.asarray(image)[~inside]
    )


def test_dataset_mean(image, box):
    mean = (0.1, 0.2, 0.3)
    filled = np.asarray(make_fill("dataset_mean", mean=mean)(KEY, image, box))
    np.testing.assert_allclose(filled[2:6, 3:8], np.broadcast_to(mean, (4, 5, 3)))
    with pytest.raises(ValueError, match="mean"):
        make_fill("dataset_mean")
    with pytest.raises(ValueError, match="mean"):
        make_fill("dataset_mean", mean=(0.1, 0.2))(KEY, image, box)


def test_image_mean(image, box):
    filled = np.asarray(make_fill("image_mean")(KEY, image, box))
    expected = np.asarray(image).mean(axis=(0, 1))
    np.testing.assert_allclose(filled[3, 4], expected, rtol=1e-6)


def test_patch_mean_inside_the_patch(image, box):
    fill = make_fill("patch_mean")
    assert fill.depends_on_mask
    filled = np.asarray(fill(KEY, image, box))
    expected = np.asarray(image)[2:6, 3:8].mean(axis=(0, 1))
    np.testing.assert_allclose(
        filled[2:6, 3:8], np.broadcast_to(expected, (4, 5, 3)), rtol=1e-5
    )
    np.testing.assert_array_equal(filled[0], np.asarray(image)[0])
    # An empty mask changes nothing (and does not divide by zero).
    same = fill(KEY, image, jnp.zeros((H, W)))
    np.testing.assert_array_equal(np.asarray(same), np.asarray(image))


def test_soft_mask_blends():
    x = jnp.ones((2, 2, 1))
    mask = jnp.array([[0.0, 0.25], [0.5, 1.0]])
    filled = apply_fill(x, jnp.zeros_like(x), mask)
    np.testing.assert_allclose(np.asarray(filled)[..., 0], [[1.0, 0.75], [0.5, 0.0]])


def test_blur_of_constant_image_is_constant(box):
    x = jnp.full((H, W, C), 0.3)
    blurred = make_fill("blur").substrate(KEY, x, box)
    np.testing.assert_allclose(np.asarray(blurred), 0.3, rtol=1e-6)


def test_blur_matches_scipy(image):
    blurred = gaussian_blur(image, kernel_size=11, sigma=5.0)
    expected = ndimage.gaussian_filter(
        np.asarray(image, np.float64), sigma=(5, 5, 0), truncate=1.0, mode="reflect"
    )
    np.testing.assert_allclose(np.asarray(blurred), expected, atol=1e-5)
    zeros = gaussian_blur(image, kernel_size=5, sigma=2.0, padding="zeros")
    expected = ndimage.gaussian_filter(
        np.asarray(image, np.float64), sigma=(2, 2, 0), truncate=1.0, mode="constant"
    )
    np.testing.assert_allclose(np.asarray(zeros), expected, atol=1e-5)


def test_noise_is_seeded(image, box):
    fill = make_fill("noise", noise_mean=0.5, noise_std=0.2)
    a, b = fill(KEY, image, box), fill(KEY, image, box)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    c = fill(jax.random.key(7), image, box)
    assert not np.allclose(np.asarray(a)[2:6, 3:8], np.asarray(c)[2:6, 3:8])
    np.testing.assert_array_equal(np.asarray(a)[0], np.asarray(image)[0])
    # Statistical (fixed key, 40k draws): mean and std within a few percent.
    big = np.asarray(fill.substrate(KEY, jnp.zeros((200, 200, 1)), None))
    assert abs(big.mean() - 0.5) < 0.01 and abs(big.std() - 0.2) < 0.01


def _dense_road_imputation(x, removed):
    """The oracle: ROAD's linear system solved densely with numpy."""
    height, width, channels = x.shape
    index = -np.ones((height, width), int)
    index[removed] = np.arange(removed.sum())
    n = int(removed.sum())
    matrix, rhs = np.zeros((n, n)), np.zeros((n, channels))
    for i, j in zip(*np.nonzero(removed), strict=True):
        row = index[i, j]
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                y, xx = i + dy, j + dx
                if (dy, dx) == (0, 0) or not (0 <= y < height and 0 <= xx < width):
                    continue
                weight = 1 / 6 if dy == 0 or dx == 0 else 1 / 12
                matrix[row, row] += weight
                if removed[y, xx]:
                    matrix[row, index[y, xx]] -= weight
                else:
                    rhs[row] += weight * x[y, xx]
    out = x.astype(np.float64).copy()
    out[removed] = np.linalg.solve(matrix, rhs)
    return out


def test_noisy_linear_imputation_solves_roads_system(image, box):
    removed = np.zeros((H, W), bool)
    removed[2:6, 3:8] = True  # a hole
    removed[0, 0] = removed[11, 9] = removed[7, 0] = True  # corner and edge pixels
    expected = _dense_road_imputation(np.asarray(image, np.float64), removed)
    fill = make_fill("noisy_linear", noise_std=0.0)
    got = np.asarray(fill.substrate(KEY, image, jnp.asarray(removed, jnp.float32)))
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert fill.depends_on_mask
    # The default noise is ROAD's 0.01, seeded, only on removed pixels.
    noisy = np.asarray(make_fill("noisy_linear").substrate(KEY, image, box))
    again = np.asarray(make_fill("noisy_linear").substrate(KEY, image, box))
    np.testing.assert_array_equal(noisy, again)
    inside = np.asarray(box) > 0.5
    np.testing.assert_array_equal(noisy[~inside], np.asarray(image)[~inside])
    residual = (
        noisy[inside]
        - _dense_road_imputation(np.asarray(image, np.float64), inside)[inside]
    )
    assert 0.003 < residual.std() < 0.03
    # A constant image imputes the constant (the weights are a mean).
    flat = make_fill("noisy_linear", noise_std=0.0).substrate(
        KEY, jnp.full((H, W, 1), 0.3), box
    )
    np.testing.assert_allclose(np.asarray(flat), 0.3, atol=1e-5)


def test_uniform_noise_is_seeded_and_uniform(image, box):
    fill = make_fill("uniform_noise")
    big = np.asarray(fill.substrate(KEY, jnp.zeros((200, 200, 1)), None))
    assert big.min() >= 0.0 and big.max() < 1.0
    assert abs(big.mean() - 0.5) < 0.01 and abs(big.std() - 12**-0.5) < 0.01
    np.testing.assert_array_equal(
        np.asarray(fill(KEY, image, box)), np.asarray(fill(KEY, image, box))
    )


def test_callable_fill(image, box):
    fill = as_fill(lambda key, x, mask: 1.0 - x)
    assert isinstance(fill, Fill) and fill.kind == "callable"
    filled = np.asarray(fill(KEY, image, box))
    np.testing.assert_allclose(filled[2:6, 3:8], 1.0 - np.asarray(image)[2:6, 3:8])


@pytest.mark.parametrize("kind", FILL_KINDS)
def test_jit_equals_eager(image, box, kind):
    fill = make_fill(kind, mean=(0.4, 0.5, 0.6))
    eager = fill(KEY, image, box)
    jitted = jax.jit(fill)(KEY, image, box)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), atol=1e-6)


def test_vmap_over_masks_equals_loop(image):
    fill = make_fill("patch_mean")
    masks = jnp.stack(
        [jnp.zeros((H, W)).at[i : i + 3, i : i + 3].set(1.0) for i in range(4)]
    )
    batched = jax.vmap(fill, in_axes=(None, None, 0))(KEY, image, masks)
    for i in range(4):
        np.testing.assert_allclose(
            np.asarray(batched[i]), np.asarray(fill(KEY, image, masks[i])), atol=1e-6
        )


def test_bad_options():
    with pytest.raises(ValueError, match="kind"):
        make_fill("pink")
    with pytest.raises(ValueError, match="fill"):
        as_fill("pink")
    with pytest.raises(ValueError, match="kernel_size"):
        make_fill("blur", blur_kernel_size=4)
    with pytest.raises(ValueError, match="sigma"):
        make_fill("blur", blur_sigma=0.0)
    with pytest.raises(ValueError, match="blur_padding"):
        make_fill("blur", blur_padding="wrap")
    with pytest.raises(ValueError, match="noise_std"):
        make_fill("noise", noise_std=-1.0)
    with pytest.raises(ValueError, match="noise_std"):
        make_fill("noisy_linear", noise_std=float("nan"))
    with pytest.raises(ValueError, match="'noisy_linear' fill expects one image"):
        make_fill("noisy_linear").substrate(KEY, jnp.zeros((4, 4, 4, 1)), None)


@pytest.mark.parametrize("jit", [False, True])
def test_a_fill_callable_of_the_wrong_shape_is_refused_naming_the_shapes(jit):
    fill = make_fill(lambda key, x, mask: jnp.zeros((3, 3)))
    x, mask = jnp.ones((8, 8, 3)), jnp.zeros((8, 8))
    call = jax.jit(fill) if jit else fill
    with pytest.raises(
        ValueError, match=r"fill callable returned .* \(3, 3\).*\(8, 8, 3\)"
    ):
        call(jax.random.key(0), x, mask)


def test_a_fill_callable_may_return_per_channel_values_or_a_scalar():
    x, mask = jnp.ones((4, 4, 3)), jnp.ones((4, 4))
    for value in (jnp.full((3,), 0.25), jnp.float32(0.25), jnp.full((4, 4, 3), 0.25)):
        out = make_fill(lambda key, x, mask, v=value: v)(jax.random.key(0), x, mask)
        np.testing.assert_allclose(out, 0.25)
