"""Tests of Grad-CAM++, LayerCAM and Eigen-CAM against hand-computed oracles.

The oracle model: ``A = relu(conv3x3(x))`` at probe "feat" and a 1x1-conv head
``W [Kc, K]``, so for the summed-logit target of class ``c`` over ROI ``M`` the
gradient is known in closed form: ``dS/dA^k_ij = W[k, c] M_ij``.
"""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.explainers import (
    eigen_cam,
    grad_cam_plus_plus,
    layer_cam,
    seg_grad_cam,
)
from segxai_jax.models.unet import UNet, UNetConfig
from segxai_jax.probes import make_probe
from segxai_jax.targets import box_roi, make_target

SIZE = 16
KEY = jax.random.key(0)
EPS = 1e-7


class ConvThenHead(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = nn.relu(nn.Conv(5, (3, 3))(x))
        a = self.perturb("feat", a)
        return nn.Conv(3, (1, 1), name="head")(a)


@pytest.fixture(scope="module")
def head_model():
    model = ConvThenHead()
    x = jnp.asarray(np.random.default_rng(1).random((SIZE, SIZE, 3)), jnp.float32)
    params = numpy_init(model, x.shape, 2)
    probe = make_probe(model, "feat", input_shape=x.shape)
    mask = box_roi((SIZE, SIZE), 2, 3, 5, 4)
    return params, probe, x, mask


def _oracle_inputs(params, probe, x, mask, class_id):
    a = np.asarray(probe.activations(params, x), np.float64)  # [u, v, Kc]
    w = np.asarray(params["head"]["kernel"], np.float64)[0, 0, :, class_id]  # [Kc]
    g = w[None, None, :] * np.asarray(mask, np.float64)[..., None]
    return a, g


def test_grad_cam_plus_plus_oracle(head_model):
    params, probe, x, mask = head_model
    a, g = _oracle_inputs(params, probe, x, mask, 2)
    totals = a.sum((0, 1))
    alpha = np.where(g != 0, g**2 / (2 * g**2 + totals * g**3 + EPS), 0.0)
    weights = (alpha * np.maximum(g, 0)).sum((0, 1))
    expected = a @ weights
    explain = grad_cam_plus_plus(probe, relu=False, output_size=None)
    cam = explain(KEY, params, x, make_target(2, mask))
    np.testing.assert_allclose(np.asarray(cam), expected, rtol=2e-4, atol=1e-6)


def test_layer_cam_oracle(head_model):
    params, probe, x, mask = head_model
    a, g = _oracle_inputs(params, probe, x, mask, 1)
    expected = (np.maximum(g, 0) * a).sum(-1)
    cam = layer_cam(probe, relu=False, output_size=None)(
        KEY, params, x, make_target(1, mask)
    )
    np.testing.assert_allclose(np.asarray(cam), expected, rtol=1e-4, atol=1e-6)
    # Outside the ROI the gradient is 0, so is LayerCAM.
    assert np.all(np.asarray(cam)[np.asarray(mask) == 0] == 0)


def test_eigen_cam_oracle_and_class_agnostic(head_model):
    params, probe, x, mask = head_model
    a = np.asarray(probe.activations(params, x), np.float64)
    cells = a.reshape(-1, a.shape[-1])
    centred = cells - cells.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projection = centred @ vt[0]
    total = cells.sum(-1)
    if projection @ (total - total.mean()) < 0:
        projection = -projection
    explain = eigen_cam(probe, relu=False, output_size=None)
    cam = explain(KEY, params, x, make_target(0, mask))
    np.testing.assert_allclose(
        np.asarray(cam), projection.reshape(a.shape[:2]), rtol=1e-3, atol=1e-5
    )
    other = explain(KEY, params, x, make_target(2, 1.0 - mask))
    np.testing.assert_array_equal(np.asarray(cam), np.asarray(other))


@pytest.mark.parametrize("factory", [grad_cam_plus_plus, layer_cam, eigen_cam])
def test_unet_jit_vmap_and_one_trace(factory):
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), 3)
    probe = make_probe(model, "bottleneck", input_shape=(SIZE, SIZE, 3))
    x = jnp.asarray(np.random.default_rng(4).random((SIZE, SIZE, 3)), jnp.float32)
    target = make_target(1, box_roi((SIZE, SIZE), 4, 5, 6, 7))
    explain = factory(probe)
    eager = explain(KEY, params, x, target)
    assert eager.shape == (SIZE, SIZE) and float(eager.min()) >= 0.0
    traced = jax.jit(chex.assert_max_traces(explain, n=1))
    np.testing.assert_allclose(
        traced(KEY, params, x, target), eager, rtol=1e-4, atol=1e-6
    )
    targets = make_target(
        jnp.array([0, 2]), jnp.stack([target.mask, 1.0 - target.mask])
    )
    batched = jax.jit(jax.vmap(explain, in_axes=(None, None, None, 0)))(
        KEY, params, x, targets
    )
    for i in range(2):
        single = traced(
            KEY, params, x, make_target(targets.class_id[i], targets.mask[i])
        )
        np.testing.assert_allclose(batched[i], single, rtol=1e-4, atol=1e-6)


def test_layer_cam_is_positive_gradient_hires_cam(head_model):
    # With every gradient positive, LayerCAM equals HiRes-CAM.
    params, probe, x, mask = head_model
    w = np.asarray(params["head"]["kernel"])[0, 0]
    positive = dict(
        params, head={**params["head"], "kernel": jnp.abs(params["head"]["kernel"])}
    )
    assert np.any(w < 0)
    target = make_target(0, mask)
    hires = seg_grad_cam(probe, weighting="hires_cam", relu=False)(
        KEY, positive, x, target
    )
    layer = layer_cam(probe, relu=False)(KEY, positive, x, target)
    np.testing.assert_allclose(
        np.asarray(layer), np.asarray(hires), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("factory", [grad_cam_plus_plus, layer_cam, eigen_cam])
def test_bad_inputs_name_the_argument(head_model, factory):
    params, probe, x, mask = head_model
    with pytest.raises(TypeError, match="probe"):
        factory(lambda p, x: x)
    with pytest.raises(ValueError, match="order"):
        factory(probe, order="nope")
    with pytest.raises(ValueError, match="x"):
        factory(probe)(KEY, params, x[..., 0], make_target(0, mask))
    nan_image = x.at[3, 3, 0].set(jnp.nan)
    with pytest.raises(ValueError, match="NaN"):
        factory(probe)(KEY, params, nan_image, make_target(0, mask))
