"""Target explanations and the per-image measurements of an attack."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.attacks import (
    check_target_maps,
    evaluate_attack,
    input_metrics,
    map_similarity,
    normalize_heatmap,
    other_image_maps,
    output_metrics,
    shifted_maps,
    square_pattern,
)
from segxai_jax.explainers import vanilla_gradient
from segxai_jax.targets import make_target

SIZE = 16


def test_other_image_maps_give_each_image_another_images_map():
    maps = jnp.arange(3.0)[:, None, None] * jnp.ones((3, 4, 4))
    np.testing.assert_array_equal(other_image_maps(maps)[:, 0, 0], [1.0, 2.0, 0.0])
    np.testing.assert_array_equal(
        other_image_maps(maps, shift=2)[:, 0, 0], [2.0, 0.0, 1.0]
    )
    with pytest.raises(ValueError, match="shift: expected a shift that is not"):
        other_image_maps(maps, shift=3)
    with pytest.raises(ValueError, match="shift"):
        other_image_maps(maps[:1])


@pytest.mark.parametrize(
    ("corner", "row", "col"),
    [("top_left", 0, 0), ("top_right", 0, 5), ("bottom_left", 3, 0)],
)
def test_square_pattern_sits_in_its_corner(corner, row, col):
    square = np.asarray(square_pattern((6, 8), size=3, corner=corner))
    assert square.sum() == 9 and square.shape == (6, 8)
    assert square[row : row + 3, col : col + 3].sum() == 9
    with pytest.raises(ValueError, match="size: expected an int in"):
        square_pattern((6, 8), size=7)
    with pytest.raises(ValueError, match="corner: expected one of"):
        square_pattern((6, 8), size=2, corner="middle")


def test_shifted_maps_move_content_and_fill_with_zeros():
    maps = jax.random.uniform(jax.random.key(0), (2, 8, 8))
    moved = np.asarray(shifted_maps(maps, offset=(-2, 3)))
    np.testing.assert_array_equal(moved[:, :6, 3:], np.asarray(maps)[:, 2:, :5])
    assert np.all(moved[:, 6:, :] == 0) and np.all(moved[:, :, :3] == 0)
    with pytest.raises(ValueError, match=r"offset: expected \|dy\|"):
        shifted_maps(maps, offset=(8, 0))


def test_check_target_maps_names_the_argument():
    shape = (2, 4, 4, 3)
    good = check_target_maps(np.ones((2, 4, 4), np.float64), shape)
    assert good.dtype == jnp.float32
    with pytest.raises(ValueError, match=r"target_maps: expected shape \(2, 4, 4\)"):
        check_target_maps(np.ones((2, 4, 4, 3)), shape)
    with pytest.raises(ValueError, match="target_maps: expected finite"):
        check_target_maps(np.full((2, 4, 4), np.inf), shape)


def test_normalized_heatmap_sums_to_one_and_reduces_channels():
    attribution = jnp.stack([jnp.ones((4, 4)), -2 * jnp.ones((4, 4))], axis=-1)
    heat = normalize_heatmap(attribution)
    assert heat.shape == (4, 4)
    np.testing.assert_allclose(heat, 1 / 16)
    np.testing.assert_array_equal(normalize_heatmap(jnp.zeros((4, 4))), 0.0)
    with pytest.raises(ValueError, match="saliency: expected"):
        normalize_heatmap(jnp.zeros(4))


def test_map_similarity_of_identical_and_of_scaled_maps():
    a = jax.random.uniform(jax.random.key(1), (SIZE, SIZE))
    same = map_similarity(a, 3.0 * a)  # heatmaps ignore the scale
    np.testing.assert_allclose(same["mse"], 0.0, atol=1e-10)
    np.testing.assert_allclose([same["ssim"], same["pearson"]], 1.0, rtol=1e-5)
    other = map_similarity(a, square_pattern((SIZE, SIZE), size=4))
    assert other["mse"] > 0.1 and other["pearson"] < 0.5


def test_input_metrics_match_closed_forms():
    x = jnp.full((2, 4, 4, 3), 0.5)
    x_adv = x.at[0].add(0.1)  # image 0 moved by 0.1 everywhere, image 1 unchanged
    metrics = jax.jit(input_metrics)(x, x_adv)
    np.testing.assert_allclose(metrics["input_linf"], [0.1, 0.0], atol=1e-6)
    np.testing.assert_allclose(
        metrics["input_l2"], [0.1 * math.sqrt(48), 0.0], rtol=1e-5
    )
    np.testing.assert_allclose(metrics["input_psnr"][0], 20.0, rtol=1e-4)
    assert np.isinf(metrics["input_psnr"][1])


def per_pixel_net(w, x):
    return jnp.tanh(x @ w[0]) @ w[1]


@pytest.fixture(scope="module")
def pixel_setup():
    keys = jax.random.split(jax.random.key(2), 3)
    w = (jax.random.normal(keys[0], (3, 5)), jax.random.normal(keys[1], (5, 3)))
    x = jax.random.uniform(keys[2], (2, SIZE, SIZE, 3))
    targets = make_target(jnp.array([0, 2]), jnp.ones((2, SIZE, SIZE)))
    maps = jnp.broadcast_to(square_pattern((SIZE, SIZE), size=4), (2, SIZE, SIZE))
    return w, x, targets, maps


def test_unchanged_images_measure_no_change(pixel_setup):
    w, x, targets, maps = pixel_setup
    labels = jax.vmap(per_pixel_net, (None, 0))(w, x).argmax(-1)
    metrics, clean, adv = jax.jit(
        lambda x, x_adv: evaluate_attack(
            per_pixel_net,
            vanilla_gradient(per_pixel_net),
            jax.random.key(0),
            w,
            x,
            x_adv,
            maps,
            targets,
            labels,
        )
    )(x, x)
    np.testing.assert_array_equal(clean, adv)
    for name, value in {
        "pixel_agreement": 1.0,
        "miou_to_clean": 1.0,
        "prob_mse": 0.0,
        "miou_clean": 1.0,
        "miou_change": 0.0,
        "to_original_mse": 0.0,
        "input_l2": 0.0,
    }.items():
        np.testing.assert_allclose(metrics[name], value, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(metrics["to_original_pearson"], 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        metrics["to_target_pearson"], metrics["before_to_target_pearson"]
    )
    assert all(v.shape == (2,) for v in metrics.values())


def test_output_metrics_count_changed_pixels(pixel_setup):
    w, x, _, _ = pixel_setup
    left = jnp.arange(SIZE)[None, :, None] < SIZE // 2

    def model(p, xi):  # an input shifted by +2 swaps classes 0 and 1 on the left
        shifted = xi[0, 0, 0] > 1.5
        logits = per_pixel_net(p, jnp.where(shifted, xi - 2.0, xi))
        swapped = jnp.where(left, logits[..., jnp.array([1, 0, 2])], logits)
        return jnp.where(shifted, swapped, logits)

    clean = jax.vmap(per_pixel_net, (None, 0))(w, x).argmax(-1)
    changed = (clean <= 1) & left[None, ..., 0]
    metrics = jax.jit(output_metrics, static_argnums=0)(model, w, x, x + 2.0, clean)
    np.testing.assert_allclose(
        metrics["pixel_agreement"], 1.0 - changed.mean(axis=(1, 2)), rtol=1e-6
    )
    assert np.all(metrics["miou_change"] < 0) and np.all(metrics["prob_mse"] > 0)
    np.testing.assert_allclose(metrics["miou_adv"], metrics["miou_to_clean"])
    with pytest.raises(ValueError, match="labels: expected shape"):
        output_metrics(per_pixel_net, w, x, x, labels=clean[:, :4])
