"""Memory-bounded sweeps: chunk sizes from XLA's memory analysis."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import assert_close_reordered, numpy_init

import segxai_jax as sx
from segxai_jax import memory
from segxai_jax.models import UNet, UNetConfig, unet_apply_fn

SIZE = 16


@pytest.fixture(scope="module")
def unet():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8)))
    params = numpy_init(model, (SIZE, SIZE, 3), 0)
    x = jnp.asarray(np.random.default_rng(1).random((SIZE, SIZE, 3)), jnp.float32)
    target = sx.make_target(1, jnp.ones((SIZE, SIZE)))
    return model, params, x, target


def _peaks(unet, num_samples=8):
    model, params, x, target = unet
    gradient = sx.vanilla_gradient(unet_apply_fn(model))
    return {
        c: memory.program_peak_bytes(
            sx.smoothgrad(
                gradient, num_samples=num_samples, chunk_size=c, strategy="lax_map"
            ),
            jax.random.key(0),
            params,
            x,
            target,
        )
        for c in memory.candidate_chunks(num_samples)
    }


def test_candidates_and_peak_grows_with_the_chunk(unet):
    assert memory.candidate_chunks(8) == [1, 2, 4, 8]
    assert memory.candidate_chunks(6) == [1, 2, 4, 6]
    assert memory.candidate_chunks(50, 16) == [1, 2, 4, 8, 16]
    peaks = _peaks(unet)
    assert peaks[1] < peaks[8]


def test_the_largest_fitting_chunk_is_chosen_and_results_agree(unet):
    model, params, x, target = unet
    peaks = _peaks(unet)
    gradient = sx.vanilla_gradient(unet_apply_fn(model))
    budget = (peaks[2] + peaks[4]) // 2  # 2 fits, 4 does not
    chosen = memory.chunk_for_budget(
        lambda c: sx.smoothgrad(
            gradient, num_samples=8, chunk_size=c, strategy="lax_map"
        ),
        (jax.random.key(0), params, x, target),
        total=8,
        memory_budget=budget,
    )
    assert chosen == 2
    budgeted = sx.smoothgrad(
        gradient,
        num_samples=8,
        chunk_size=None,
        strategy="lax_map",
        memory_budget=budget,
    )
    plain = sx.smoothgrad(gradient, num_samples=8, chunk_size=None, strategy="lax_map")
    key = jax.random.key(3)
    assert_close_reordered(
        jax.jit(budgeted)(key, params, x, target), plain(key, params, x, target)
    )


def test_a_budget_below_one_chunk_names_the_bytes_needed(unet):
    model, params, x, target = unet
    smooth = sx.smoothgrad(
        sx.vanilla_gradient(unet_apply_fn(model)), num_samples=4, memory_budget=1000
    )
    with pytest.raises(ValueError, match=r"memory_budget: 1000 bytes.*needs"):
        smooth(jax.random.key(0), params, x, target)
    with pytest.raises(ValueError, match="memory_budget"):
        sx.smoothgrad(sx.vanilla_gradient(unet_apply_fn(model)), memory_budget=0)
    with pytest.raises(TypeError, match="memory_budget"):
        sx.integrated_gradients(unet_apply_fn(model), memory_budget=1.5e9)


def test_every_budgeted_sweep_matches_its_unbudgeted_twin(unet):
    model, params, x, target = unet
    apply_fn = unet_apply_fn(model)
    probe = sx.make_probe(model, "bottleneck", input_shape=x.shape)
    big = 2**30
    pairs = {
        "ig": lambda **kw: sx.integrated_gradients(apply_fn, num_steps=4, **kw),
        "occlusion": lambda **kw: sx.occlusion(apply_fn, patch_size=8, stride=8, **kw),
        "ablation": lambda **kw: sx.seg_ablation_cam(probe, **kw),
    }
    for name, make in pairs.items():
        budgeted = jax.jit(make(memory_budget=big))(None, params, x, target)
        plain = make()(None, params, x, target)
        assert_close_reordered(budgeted, plain), name
    xs, targets = (
        jnp.stack([x, x]),
        jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), target),
    )
    batch = sx.explain_batch(sx.vanilla_gradient(apply_fn), memory_budget=big)
    assert_close_reordered(
        jax.jit(batch)(None, params, xs, targets)[1],
        sx.vanilla_gradient(apply_fn)(None, params, x, target),
    )


def test_cost_reports_the_peak(unet):
    model, params, x, target = unet
    cost, _ = sx.metrics.measure_cost(
        sx.vanilla_gradient(unet_apply_fn(model)), None, params, x, target, repeats=1
    )
    assert cost.peak_bytes is None or cost.peak_bytes >= x.size * 4
