"""Tests of Seg-Grad-CAM, HiRes-CAM and XGrad-CAM."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.explainers.cams import (
    activation_gradients,
    finish_cam,
    grad_cam_weights,
    hires_cam,
    seg_grad_cam,
    xgrad_cam,
)
from segxai_jax.models.unet import UNet, UNetConfig
from segxai_jax.probes import make_probe
from segxai_jax.targets import box_roi, make_target

SIZE = 16
KEY = jax.random.key(0)


def uniform_image(seed, shape=(SIZE, SIZE, 3)):
    return jnp.asarray(np.random.default_rng(seed).random(shape), jnp.float32)


class ConvThenHead(nn.Module):
    """``A = relu(conv3x3(x))`` at probe "feat", then a 1x1-conv head ``W[k, c]``."""

    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(5, (3, 3))(x))
        a = self.perturb("feat", a)
        return nn.Conv(3, (1, 1), name="head")(a)


@pytest.fixture(scope="module")
def head_model():
    model = ConvThenHead()
    x = uniform_image(1)
    params = numpy_init(model, x.shape, 2)
    probe = make_probe(model, "feat", input_shape=x.shape)
    return model, params, probe, x


@pytest.fixture(scope="module")
def unet():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), 3)
    probe = make_probe(model, "bottleneck", input_shape=(SIZE, SIZE, 3))
    x = uniform_image(4)
    target = make_target(1, box_roi((SIZE, SIZE), 4, 5, 6, 7))
    return model, params, probe, x, target


def test_grad_cam_weights_exact_oracle(head_model):
    _, params, probe, x = head_model
    mask = box_roi((SIZE, SIZE), 2, 3, 5, 4)  # |M| = 20
    target = make_target(2, mask)
    activations, grads, _ = activation_gradients(probe, params, x, target)
    alpha = grad_cam_weights(activations, grads)
    head = np.asarray(params["head"]["kernel"])[0, 0]  # [Kc, K]
    expected = head[:, 2] * 20.0 / (SIZE * SIZE)
    np.testing.assert_allclose(np.asarray(alpha), expected, rtol=1e-5, atol=1e-7)
    # XGrad-CAM: dS/dA^k = W[k, c] M, so alpha_k = W[k, c] sum_M A^k / sum A^k.
    a = np.asarray(activations)
    inside = (a * np.asarray(mask)[..., None]).sum((0, 1))
    totals = a.sum((0, 1))
    expected_x = head[:, 2] * inside / np.where(totals > 0, totals, 1.0)
    xgrad = grad_cam_weights(activations, grads, weighting="xgrad_cam")
    np.testing.assert_allclose(np.asarray(xgrad), expected_x, rtol=1e-5, atol=1e-7)


def test_maps_match_the_formulas(head_model):
    _, params, probe, x = head_model
    mask = box_roi((SIZE, SIZE), 0, 0, 4, 4)
    target = make_target(0, mask)
    a = np.asarray(probe.activations(params, x))
    head = np.asarray(params["head"]["kernel"])[0, 0, :, 0]
    cam = seg_grad_cam(probe, relu=False, output_size=None)(KEY, params, x, target)
    np.testing.assert_allclose(
        np.asarray(cam), a @ (head * 16 / SIZE**2), rtol=1e-4, atol=1e-6
    )
    hires = seg_grad_cam(probe, weighting="hires_cam", relu=False)(
        KEY, params, x, target
    )
    expected = (a * head).sum(-1) * np.asarray(mask)
    np.testing.assert_allclose(np.asarray(hires), expected, rtol=1e-4, atol=1e-6)


def test_post_processing_order():
    cam = jnp.array([[1.0, -3.0], [-1.0, 2.0]])
    relu_first = finish_cam(cam, (4, 4), order="relu_resize")
    resize_first = finish_cam(cam, (4, 4), order="resize_relu")
    expected_relu_first = jax.image.resize(jax.nn.relu(cam), (4, 4), "bilinear")
    expected_resize_first = jax.nn.relu(jax.image.resize(cam, (4, 4), "bilinear"))
    np.testing.assert_allclose(relu_first, expected_relu_first)
    np.testing.assert_allclose(resize_first, expected_resize_first)
    assert not np.allclose(relu_first, resize_first)
    np.testing.assert_array_equal(finish_cam(cam, None), jax.nn.relu(cam))


def test_unet_shapes_jit_vmap_and_traces(unet):
    _, params, probe, x, target = unet
    explain = seg_grad_cam(probe)
    eager = explain(KEY, params, x, target)
    assert eager.shape == (SIZE, SIZE)
    assert float(eager.min()) >= 0.0 and float(eager.max()) > 0.0
    traced = jax.jit(chex.assert_max_traces(explain, n=1))
    np.testing.assert_allclose(
        traced(KEY, params, x, target), eager, rtol=1e-4, atol=1e-6
    )
    x2 = x[::-1]
    np.testing.assert_allclose(
        traced(KEY, params, x2, target),
        explain(KEY, params, x2, target),
        rtol=1e-4,
        atol=1e-6,
    )
    targets = make_target(
        jnp.array([0, 1, 2]), jnp.stack([target.mask, 1.0 - target.mask, target.mask])
    )
    batched = jax.jit(jax.vmap(explain, in_axes=(None, None, None, 0)))(
        KEY, params, x, targets
    )
    for i in range(3):
        t = make_target(targets.class_id[i], targets.mask[i])
        np.testing.assert_allclose(
            batched[i], traced(KEY, params, x, t), rtol=1e-4, atol=1e-6
        )
    coarse = seg_grad_cam(probe, output_size=None)(KEY, params, x, target)
    assert coarse.shape == probe.activation_shape[:2]
    assert seg_grad_cam(probe, output_size=(20, 24))(KEY, params, x, target).shape == (
        20,
        24,
    )


def test_probabilities_space_differs(unet):
    _, params, probe, x, target = unet
    logits_map = seg_grad_cam(probe, relu=False)(KEY, params, x, target)
    prob_map = seg_grad_cam(probe, relu=False, score_space="probabilities")(
        KEY, params, x, target
    )
    assert np.all(np.isfinite(prob_map)) and not np.allclose(logits_map, prob_map)


def test_differentiable_through_softplus_unet():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8), activation="softplus"))
    params = numpy_init(model, (SIZE, SIZE, 3), 5)
    probe = make_probe(model, "enc0", input_shape=(SIZE, SIZE, 3))
    x = uniform_image(6)
    target = make_target(1, box_roi((SIZE, SIZE), 4, 4, 8, 8))
    explain = seg_grad_cam(probe, relu=False)
    grad = jax.jit(jax.grad(lambda x: explain(KEY, params, x, target).sum()))(x)
    assert grad.shape == x.shape
    assert np.all(np.isfinite(grad)) and float(jnp.abs(grad).max()) > 0


def test_bad_inputs(unet):
    model, params, probe, x, target = unet
    with pytest.raises(ValueError, match="weighting"):
        seg_grad_cam(probe, weighting="score_cam")
    with pytest.raises(ValueError, match="order"):
        seg_grad_cam(probe, order="sideways")
    with pytest.raises(ValueError, match="output_size"):
        seg_grad_cam(probe, output_size="half")
    with pytest.raises(ValueError, match="output_size"):
        seg_grad_cam(probe, output_size=(0, 4))
    with pytest.raises(ValueError, match="score_space"):
        seg_grad_cam(probe, score_space="logs")
    with pytest.raises(ValueError, match="name"):
        make_probe(model, "enc7", input_shape=(SIZE, SIZE, 3))
    explain = seg_grad_cam(probe)
    with pytest.raises(ValueError, match="x"):
        explain(KEY, params, x.at[0, 0, 0].set(jnp.nan), target)
    with pytest.raises(ValueError, match="x"):
        explain(KEY, params, x[None], target)
    with pytest.raises(ValueError, match="mask"):
        explain(KEY, params, x, make_target(1, jnp.zeros((SIZE, SIZE))))
    with pytest.raises(ValueError, match="mask"):
        explain(KEY, params, x, make_target(1, jnp.ones((8, 8))))
    with pytest.raises(ValueError, match="class_id"):
        explain(KEY, params, x, make_target(3, target.mask))


def test_named_variants_equal_their_weighting(unet):
    _, params, probe, x, target = unet
    for factory, weighting in ((hires_cam, "hires_cam"), (xgrad_cam, "xgrad_cam")):
        named = jax.jit(factory(probe, order="resize_relu"))(KEY, params, x, target)
        general = jax.jit(seg_grad_cam(probe, weighting=weighting, order="resize_relu"))
        np.testing.assert_array_equal(named, general(KEY, params, x, target))
