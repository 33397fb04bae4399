"""Cost accounting: timing fields are consistent; pass counts follow formulas."""

import jax.numpy as jnp
import numpy as np
import pytest

from segxai_jax.metrics import measure_cost, pass_counts


def test_measure_cost_returns_output_and_consistent_times():
    cost, output = measure_cost(
        lambda x: jnp.sin(x) * 2, jnp.ones(8), repeats=3, items_per_call=4
    )
    np.testing.assert_allclose(output, 2 * np.sin(np.ones(8)), rtol=1e-6)
    assert cost.compile_seconds > 0 and cost.seconds_per_call > 0
    assert cost.seconds_per_item == pytest.approx(cost.seconds_per_call / 4)
    assert cost.repeats == 3
    assert cost.temp_bytes is None or cost.temp_bytes >= 0


@pytest.mark.parametrize(("field", "value"), [("repeats", 0), ("items_per_call", 0)])
def test_measure_cost_bad_arguments(field, value):
    with pytest.raises(ValueError, match=field):
        measure_cost(jnp.sin, jnp.ones(2), **{field: value})


def test_pass_counts():
    one = pass_counts("vanilla_gradient")
    assert (one.forward, one.backward) == (1, 1)
    smooth = pass_counts("smoothgrad", num_samples=8, base=one)
    assert (smooth.forward, smooth.backward) == (8, 8)
    ig = pass_counts("integrated_gradients", num_steps=5)
    assert (ig.forward, ig.backward) == (5, 5)
    ablation = pass_counts("seg_ablation_cam", num_channels=64)
    assert (ablation.forward, ablation.partial_forward) == (1, 64)
    assert str(pass_counts("occlusion", num_windows=9)) == "10 fwd + 0 bwd"
    assert str(pass_counts("deletion", num_steps=16)) == "17 fwd + 0 bwd"
    assert pass_counts("grad_cam_plus_plus") == pass_counts("seg_grad_cam")
    assert pass_counts("layer_cam") == pass_counts("seg_grad_cam")
    assert pass_counts("seg_xres_cam") == pass_counts("seg_grad_cam")
    assert str(pass_counts("eigen_cam")) == "1 fwd + 0 bwd"
    assert str(pass_counts("score_cam", num_channels=64)) == "65 fwd + 0 bwd"
    assert str(pass_counts("rise", num_masks=500)) == "500 fwd + 0 bwd"
    assert str(pass_counts("mask_ablation", num_masks=32)) == "33 fwd + 0 bwd"
    with pytest.raises(ValueError, match="method"):
        pass_counts("lime")
