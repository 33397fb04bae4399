"""Multi-layer CAM fusion: equal to fusing the single-layer maps by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import numpy_init

from segxai_jax.explainers import explain_batch, layer_cam, seg_grad_cam
from segxai_jax.explainers.fusion import fuse_maps, multi_layer_cam
from segxai_jax.models.unet import UNet, UNetConfig
from segxai_jax.postprocess import min_max
from segxai_jax.probes import make_probe
from segxai_jax.targets import box_roi, make_target

SIZE = 8
KEY = jax.random.key(0)
LAYERS = ("enc0", "bottleneck", "dec0")


@pytest.fixture(scope="module")
def setup():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), 3)
    x = jnp.asarray(np.random.default_rng(4).random((SIZE, SIZE, 3)), jnp.float32)
    target = make_target(1, box_roi((SIZE, SIZE), 2, 2, 4, 5))
    return model, params, x, target


def _single(model, layer, cam, params, x, target):
    probe = make_probe(model, layer, input_shape=(SIZE, SIZE, 3))
    return np.asarray(cam(probe)(KEY, params, x, target))


@pytest.mark.parametrize("cam", [seg_grad_cam, layer_cam])
def test_fused_map_equals_the_hand_fused_single_layer_maps(setup, cam):
    model, params, x, target = setup
    maps = [_single(model, name, cam, params, x, target) for name in LAYERS]
    fused = multi_layer_cam(model, LAYERS, input_shape=(SIZE, SIZE, 3), cam=cam)
    expected = np.mean([np.asarray(min_max(jnp.asarray(m))) for m in maps], 0)
    np.testing.assert_allclose(fused(KEY, params, x, target), expected, atol=1e-6)
    tanh_max = multi_layer_cam(
        model,
        LAYERS,
        input_shape=(SIZE, SIZE, 3),
        cam=cam,
        normalise="tanh",
        combine="max",
    )
    scaled = [np.tanh(2.0 * m / (m.max() if m.max() > 0 else 1.0)) for m in maps]
    np.testing.assert_allclose(
        tanh_max(KEY, params, x, target), np.max(scaled, 0), atol=1e-6
    )


def test_one_layer_without_normalisation_is_that_layer(setup):
    model, params, x, target = setup
    fused = multi_layer_cam(
        model, ["bottleneck"], input_shape=(SIZE, SIZE, 3), normalise="none"
    )
    single = _single(model, "bottleneck", seg_grad_cam, params, x, target)
    np.testing.assert_allclose(fused(KEY, params, x, target), single, atol=1e-7)


def test_jit_and_batch(setup):
    model, params, x, target = setup
    fused = multi_layer_cam(model, LAYERS, input_shape=(SIZE, SIZE, 3))
    eager = fused(KEY, params, x, target)
    np.testing.assert_allclose(jax.jit(fused)(KEY, params, x, target), eager, atol=1e-6)
    xs = jnp.stack([x, x[::-1]])
    targets = make_target(jnp.array([1, 2]), jnp.stack([target.mask, target.mask]))
    batched = explain_batch(fused)(KEY, params, xs, targets)
    for i in range(2):
        one = make_target(int(targets.class_id[i]), target.mask)
        np.testing.assert_allclose(
            batched[i], fused(KEY, params, xs[i], one), atol=1e-6
        )


def test_bad_layers_and_options(setup):
    model = setup[0]
    with pytest.raises(
        ValueError, match=r"layers\[1\]: .*enc0|layers\[1\]: .*bottleneck"
    ):
        multi_layer_cam(model, ["enc0", "botleneck"], input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ValueError, match="layers: expected a non-empty list"):
        multi_layer_cam(model, [], input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ValueError, match="layers: expected distinct"):
        multi_layer_cam(model, ["enc0", "enc0"], input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ValueError, match="normalise"):
        fuse_maps([jnp.ones((2, 2))], normalise="softmax", combine="mean")
