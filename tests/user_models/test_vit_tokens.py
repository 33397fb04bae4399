"""A small ViT-style segmenter: CAMs on token layers through ``token_probe``."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import segxai_jax as sx

SIZE, PATCH, WIDTH, K = 16, 4, 16, 3
GRID = SIZE // PATCH


class Block(nn.Module):
    @nn.compact
    def __call__(self, tokens):
        h = nn.LayerNorm()(tokens)
        tokens = tokens + nn.MultiHeadDotProductAttention(num_heads=2)(h, h)
        h = nn.LayerNorm()(tokens)
        return tokens + nn.Dense(WIDTH)(nn.gelu(nn.Dense(2 * WIDTH)(h)))


class TinyViTSeg(nn.Module):
    """Patch embedding, a class token, attention blocks, a linear head per patch."""

    @nn.compact
    def __call__(self, x):
        b = x.shape[0]
        patches = nn.Conv(WIDTH, (PATCH, PATCH), (PATCH, PATCH), name="embed")(x)
        tokens = patches.reshape(b, GRID * GRID, WIDTH)
        cls = self.param("cls", nn.initializers.normal(0.02), (1, 1, WIDTH))
        tokens = jnp.concatenate([jnp.broadcast_to(cls, (b, 1, WIDTH)), tokens], 1)
        tokens = tokens + self.param(
            "position", nn.initializers.normal(0.02), (1, GRID * GRID + 1, WIDTH)
        )
        for i in range(2):
            tokens = Block(name=f"block_{i}")(tokens)
        tokens = nn.LayerNorm(name="norm")(tokens)
        logits = nn.Dense(K, name="head")(tokens[:, 1:]).reshape(b, GRID, GRID, K)
        # Nearest upsampling: each patch token decides its own pixels.
        return jnp.repeat(jnp.repeat(logits, PATCH, 1), PATCH, 2)


@pytest.fixture(scope="module")
def setup():
    model = TinyViTSeg()
    x = jnp.asarray(np.random.default_rng(0).random((SIZE, SIZE, 3)), jnp.float32)
    variables = model.init(jax.random.key(0), x[None])
    return model, variables["params"], x


def test_token_probe_shapes_and_inferred_grid(setup):
    model, params, x = setup
    points = sx.probe_points(model, x.shape)
    assert points["block_1"] == (GRID * GRID + 1, WIDTH)
    probe = sx.token_probe(sx.make_probe(model, "block_1", input_shape=x.shape))
    assert probe.activation_shape == (GRID, GRID, WIDTH)
    assert probe.activations(params, x).shape == (GRID, GRID, WIDTH)
    with pytest.raises(ValueError, match="grid"):
        sx.token_probe(sx.make_probe(model, "block_1", input_shape=x.shape), (5, 5))
    with pytest.raises(ValueError, match="token layer"):
        sx.token_probe(sx.make_probe(model, "embed", input_shape=x.shape))


def test_hires_cam_at_the_last_token_layer_is_local_and_row_major(setup):
    model, params, x = setup
    probe = sx.token_probe(sx.make_probe(model, "norm", input_shape=x.shape))
    row, col = 1, 2  # the patch whose pixels are the ROI
    roi = (
        jnp.zeros((SIZE, SIZE))
        .at[row * PATCH : (row + 1) * PATCH, col * PATCH : (col + 1) * PATCH]
        .set(1.0)
    )
    target = sx.make_target(1, roi)
    cam = jax.jit(sx.hires_cam(probe, output_size=None, relu=False))(
        None, params, x, target
    )
    # After the last block only the ROI's own token reaches the ROI's logits;
    # the class token is skipped and the grid is row-major.
    nonzero = np.argwhere(np.abs(np.asarray(cam)) > 0)
    np.testing.assert_array_equal(nonzero, [[row, col]])


def test_cams_on_an_attention_layer_jit_vmap(setup):
    model, params, x = setup
    probe = sx.token_probe(sx.make_probe(model, "block_0", input_shape=x.shape))
    labels = jnp.argmax(model.apply({"params": params}, x[None])[0], -1)
    targets = sx.class_targets(labels, K, skip_background=False)
    cams = jax.jit(sx.explain_targets(sx.seg_grad_cam(probe)))(None, params, x, targets)
    assert cams.shape == (len(targets.class_id), SIZE, SIZE)
    one = sx.seg_grad_cam(probe)(
        None, params, x, jax.tree_util.tree_map(lambda a: a[0], targets)
    )
    np.testing.assert_allclose(cams[0], one, rtol=1e-5, atol=1e-6)
    ablation = jax.jit(sx.seg_ablation_cam(probe))(
        None, params, x, jax.tree_util.tree_map(lambda a: a[0], targets)
    )
    assert ablation.shape == (SIZE, SIZE) and np.all(np.isfinite(ablation))


def test_input_gradient_matches_finite_differences(setup):
    from _fd import directional_fd, inner, random_like

    model, params, x = setup
    apply_fn = sx.linen_apply_fn(model)
    target = sx.make_target(2, jnp.ones((SIZE, SIZE)).at[:8].set(0.0))
    gradient = jax.jit(sx.vanilla_gradient(apply_fn))(None, params, x, target)
    direction = random_like(x, 4)

    def score(z):
        return sx.target_score(apply_fn(params, z), target)

    fd = directional_fd(score, x, direction)
    assert inner(gradient, direction) == pytest.approx(fd, rel=1e-3, abs=1e-6)
