"""A plain Linen U-Net with batch norm, written as a user would (no probe points).

Seg-Grad-CAM and Seg-Ablation-CAM through method interception must equal the
same network's ``perturb``-annotated twin; gradients must match finite
differences; explainers run under jit and vmap.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _fd import directional_fd, inner, random_like

import segxai_jax as sx

SIZE, K = 16, 4


class ConvBlock(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Conv(self.features, (3, 3), name="conv")(x)
        x = nn.BatchNorm(use_running_average=not train, name="norm")(x)
        return nn.gelu(x)


class Encoder(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        skip = ConvBlock(8, name="block_0")(x, train)
        h = nn.max_pool(skip, (2, 2), (2, 2))
        return skip, ConvBlock(16, name="block_1")(h, train)


class UserUNet(nn.Module):
    """Encoder returns a tuple (not an array): a probe on it is refused."""

    mark: str | None = None  # the twin marks "encoder/block_1" with perturb

    @nn.compact
    def __call__(self, x, train: bool = False):
        skip, h = Encoder(name="encoder")(x, train)
        if self.mark:
            h = self.perturb(self.mark, h)
        h = nn.ConvTranspose(8, (2, 2), (2, 2), name="up")(h)
        h = ConvBlock(8, name="decoder")(jnp.concatenate([h, skip], -1), train)
        return nn.Conv(K, (1, 1), name="head")(h)


@pytest.fixture(scope="module")
def setup():
    model = UserUNet()
    x = jnp.asarray(np.random.default_rng(0).random((SIZE, SIZE, 3)), jnp.float32)
    variables = model.init(jax.random.key(0), x[None])
    # One training-mode pass gives batch statistics that are not the defaults.
    batch = jnp.asarray(
        np.random.default_rng(1).random((4, SIZE, SIZE, 3)), jnp.float32
    )
    _, updates = model.apply(variables, batch, train=True, mutable=["batch_stats"])
    variables = {"params": variables["params"], **updates}
    logits = sx.linen_apply_fn(model)(variables, x)
    roi = (jnp.argmax(logits, -1) == 1).astype(jnp.float32).at[4:8, 4:8].set(1.0)
    return model, variables, x, sx.make_target(1, roi)


def test_probe_points_list_paths_with_shapes(setup):
    model, _, _, _ = setup
    points = sx.probe_points(model, (SIZE, SIZE, 3))
    assert points["encoder/block_1/conv"] == (SIZE // 2, SIZE // 2, 16)
    assert points["encoder/block_1"] == (SIZE // 2, SIZE // 2, 16)
    assert points["up"] == (SIZE, SIZE, 8)
    assert "encoder" not in points  # a tuple output is not a probe point
    with pytest.raises(TypeError, match="'encoder'.*tuple"):
        sx.make_probe(model, "encoder", input_shape=(SIZE, SIZE, 3))
    with pytest.raises(ValueError, match=r"nearest: \['encoder/block_1"):
        sx.make_probe(model, "encoder/block_2", input_shape=(SIZE, SIZE, 3))


@pytest.mark.parametrize("method", ["seg_grad_cam", "seg_ablation_cam"])
def test_cams_equal_the_perturb_annotated_twin(setup, method):
    model, variables, x, target = setup
    twin = UserUNet(mark="mid")
    ours = sx.make_probe(model, "encoder/block_1", input_shape=x.shape)
    theirs = sx.make_probe(twin, "mid", input_shape=x.shape)
    explainer = getattr(sx, method)
    a = jax.jit(explainer(ours))(None, variables, x, target)
    b = jax.jit(explainer(theirs))(None, variables, x, target)
    assert float(jnp.max(a)) > 0
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * float(jnp.max(b)))


def test_params_alone_or_full_variables(setup):
    model, variables, x, target = setup
    probe = sx.make_probe(model, "decoder/conv", input_shape=x.shape)
    cam = sx.seg_grad_cam(probe)(None, variables, x, target)
    # Without batch_stats the model cannot run in eval mode: a clear error.
    with pytest.raises(ValueError, match="params"):
        sx.seg_grad_cam(probe)(None, variables["params"], x, target)
    assert cam.shape == (SIZE, SIZE)


def test_gradient_matches_finite_differences_jit_and_vmap(setup):
    model, variables, x, target = setup
    apply_fn = sx.linen_apply_fn(model)
    gradient = jax.jit(sx.vanilla_gradient(apply_fn))(None, variables, x, target)
    direction = random_like(x)

    def score(z):
        return sx.target_score(apply_fn(variables, z), target)

    fd = directional_fd(score, x, direction, step=1e-3)
    assert inner(gradient, direction) == pytest.approx(fd, rel=1e-3, abs=1e-6)
    xs = jnp.stack([x, x[::-1]])
    targets = jax.tree_util.tree_map(lambda m: jnp.stack([m, m]), target)
    batch = jax.jit(sx.explain_batch(sx.vanilla_gradient(apply_fn)))(
        None, variables, xs, targets
    )
    np.testing.assert_allclose(batch[0], gradient, rtol=1e-5, atol=1e-6)


def test_prefix_runs_once_under_vmap(setup):
    model, variables, x, _ = setup
    probe = sx.make_probe(model, "decoder", input_shape=x.shape)
    num_edits = 8

    def flops(fn, *args):
        cost = jax.jit(fn).lower(*args).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, list | tuple) else cost
        return float(cost["flops"])

    forward = flops(sx.linen_apply_fn(model), variables, x)
    deltas = jnp.zeros((num_edits, *probe.activation_shape))
    sweep = flops(
        lambda v, x, d: jax.vmap(lambda di: probe.apply_with_delta(v, x, di))(d),
        variables,
        x,
        deltas,
    )
    assert sweep < 0.5 * num_edits * forward, (sweep, forward)
