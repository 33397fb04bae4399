"""Continual learner: weighted loss, a tiny stream, checkpoint/resume equality."""

import dataclasses
import sys
import textwrap
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _testing import committed_steps, kill_at_random_point

from segxai_jax.continual import (
    ContinualConfig,
    default_explainer,
    exemplar_bytes,
    joint_tasks,
    make_compressor,
    saliency_fn,
    train_stream,
    weighted_segmentation_loss,
)
from segxai_jax.models import UNet, UNetConfig
from segxai_jax.training import CheckpointError

HW = (16, 16)
TASKS = ((1,), (2,))
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parents[1]


def _data(count, seed, num_classes=3):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 1, (count, *HW, 3)).astype(np.float32)
    masks = np.zeros((count, *HW), np.int32)
    for i in range(count):
        c = 1 + i % (num_classes - 1)
        r, q = rng.integers(0, 9, 2)
        masks[i, r : r + 6, q : q + 6] = c
        images[i, r : r + 6, q : q + 6, c % 3] = 1.0  # class c is bright in channel c
    return {"image": images, "mask": masks}


@pytest.fixture(scope="module")
def setup():
    model = UNet(UNetConfig(num_classes=3, widths=(4, 8), blocks_per_stage=1))
    explain = default_explainer(model, image_shape=(*HW, 3))
    return model, saliency_fn(explain, num_classes=3)


CONFIG = ContinualConfig(
    epochs_per_task=1, batch_size=4, replay_batch_size=2, saliency_batch_size=4
)


def test_weighted_loss_ignores_zero_weight_and_ignore_label():
    logits = jax.random.normal(jax.random.key(0), (1, 2, 2, 3))
    labels = jnp.array([[[0, 1], [2, 255]]])
    weights = jnp.array([[[1.0, 0.0], [1.0, 1.0]]])
    loss = jax.jit(weighted_segmentation_loss, static_argnums=3)
    got = loss(logits, labels, weights, "cross_entropy")
    ce = -jax.nn.log_softmax(logits)[0]
    expected = (ce[0, 0, 0] + ce[1, 0, 2]) / 2
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    empty = weighted_segmentation_loss(
        logits, labels, 0 * weights, "cross_entropy+dice"
    )
    assert float(empty) == 0.0


def test_resume_equals_uninterrupted_run(setup, tmp_path):
    model, saliency = setup
    train, test = _data(12, 0), _data(6, 1)
    comp = make_compressor("box", image_shape=HW, box_size=8, factor=2)
    kwargs = dict(
        tasks=TASKS,
        num_classes=3,
        config=CONFIG,
        compressor=comp,
        budget_bytes=5 * exemplar_bytes(comp.example),
        saliency=saliency,
    )
    full = train_stream(model, train, test, workdir=tmp_path / "a", **kwargs)
    assert full["finished"] and len(full["history"]) == 2
    assert full["memory"]["capacity"] == 5
    assert full["memory"]["exemplars_stored"] == 5
    first = train_stream(
        model, train, test, workdir=tmp_path / "b", stop_after_tasks=1, **kwargs
    )
    assert not first["finished"]
    resumed = train_stream(model, train, test, workdir=tmp_path / "b", **kwargs)
    chex.assert_trees_all_equal(resumed["state"].params, full["state"].params)
    chex.assert_trees_all_equal(resumed["replay_state"], full["replay_state"])
    np.testing.assert_array_equal(resumed["accuracy"], full["accuracy"])
    acc = np.asarray(full["accuracy"])
    assert np.isnan(acc[0, 1]) and np.isfinite(acc[1]).all()
    assert np.isfinite(full["average_forgetting"])
    with pytest.raises(CheckpointError, match="different run"):
        train_stream(
            model,
            train,
            test,
            workdir=tmp_path / "a",
            **{**kwargs, "budget_bytes": 4000},
        )


def test_finetune_and_joint_bounds_run(setup, tmp_path):
    model, saliency = setup
    train, test = _data(8, 2), _data(4, 3)
    finetune = train_stream(
        model,
        train,
        test,
        tasks=TASKS,
        num_classes=3,
        config=CONFIG,
        compressor=None,
        budget_bytes=0,
        saliency=None,
        workdir=tmp_path / "ft",
    )
    assert finetune["memory"]["capacity"] == 0
    joint = train_stream(
        model,
        train,
        test,
        tasks=joint_tasks(TASKS),
        num_classes=3,
        config=CONFIG,
        compressor=None,
        budget_bytes=0,
        saliency=None,
        workdir=tmp_path / "joint",
    )
    assert len(joint["history"]) == 1 and np.isnan(joint["average_forgetting"])
    assert len(joint["final_iou"]) == 3


_KILLABLE_STREAM = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from segxai_jax import runtime
    runtime.configure()
    from segxai_jax.continual import (
        ContinualConfig, default_explainer, exemplar_bytes, make_compressor,
        saliency_fn, train_stream)
    from segxai_jax.continual import learner
    from segxai_jax.models import UNet, UNetConfig

    sys.path[:0] = [sys.argv[2], sys.argv[2] + "/continual"]
    from test_learner import CONFIG, HW, KILL_TASKS, _data

    run_task = learner._run_task

    def lingering(*args, **kwargs):  # each task lasts long enough to be killed
        out = run_task(*args, **kwargs)
        time.sleep(0.5)
        return out

    learner._run_task = lingering
    model = UNet(UNetConfig(num_classes=4, widths=(4, 8), blocks_per_stage=1))
    saliency = saliency_fn(default_explainer(model, image_shape=(*HW, 3)),
                           num_classes=4)
    comp = make_compressor("box", image_shape=HW, box_size=8, factor=2)
    train_stream(model, _data(12, 0, 4), _data(6, 1, 4), tasks=KILL_TASKS,
                 num_classes=4, config=CONFIG, compressor=comp,
                 budget_bytes=5 * exemplar_bytes(comp.example), saliency=saliency,
                 workdir=sys.argv[1])
    """
)
KILL_TASKS = ((1,), (2,), (3,))


@pytest.mark.parametrize("kill_seed", [0, 1])
def test_sigkilled_stream_resumes_to_the_same_state(tmp_path, kill_seed):
    model = UNet(UNetConfig(num_classes=4, widths=(4, 8), blocks_per_stage=1))
    saliency = saliency_fn(
        default_explainer(model, image_shape=(*HW, 3)), num_classes=4
    )
    comp = make_compressor("box", image_shape=HW, box_size=8, factor=2)
    kwargs = dict(
        tasks=KILL_TASKS,
        num_classes=4,
        config=CONFIG,
        compressor=comp,
        budget_bytes=5 * exemplar_bytes(comp.example),
        saliency=saliency,
    )
    workdir = tmp_path / "killed"
    kill_at_random_point(
        [sys.executable, "-c", _KILLABLE_STREAM, str(workdir), str(TESTS.parent)],
        ready=lambda: len(committed_steps(workdir / "checkpoints")) >= 1,
        seed=kill_seed,
        max_delay=1.0,
        env={"PYTHONPATH": str(REPO)},
    )
    train, test = _data(12, 0, 4), _data(6, 1, 4)
    full = train_stream(model, train, test, workdir=tmp_path / "full", **kwargs)
    resumed = train_stream(model, train, test, workdir=workdir, **kwargs)
    assert resumed["resumed_from"] > 0 and resumed["finished"]
    chex.assert_trees_all_equal(resumed["state"].params, full["state"].params)
    chex.assert_trees_all_equal(resumed["replay_state"], full["replay_state"])
    np.testing.assert_array_equal(resumed["accuracy"], full["accuracy"])


def test_prototype_replay_alone_stores_classes_and_resumes(setup, tmp_path):
    """Prototypes without exemplars: one per seen class, tiny bytes, resume exact."""
    from segxai_jax.continual.prototypes import unet_prototype_replay

    model, saliency = setup
    train, test = _data(12, 0), _data(6, 1)
    prototypes = unet_prototype_replay(model, (*HW, 3), samples=64)
    kwargs = dict(
        tasks=TASKS,
        num_classes=3,
        config=CONFIG,
        compressor=None,
        budget_bytes=0,
        saliency=saliency,
        prototypes=prototypes,
    )
    full = train_stream(model, train, test, workdir=tmp_path / "a", **kwargs)
    assert [e["prototypes_stored"] for e in full["history"]] == [1, 2]
    assert full["memory"]["prototype_bytes"] == 2 * (2 * 4 + 1) * 4  # C = 4
    first = train_stream(
        model, train, test, workdir=tmp_path / "b", stop_after_tasks=1, **kwargs
    )
    assert not first["finished"]
    resumed = train_stream(model, train, test, workdir=tmp_path / "b", **kwargs)
    chex.assert_trees_all_equal(resumed["state"].params, full["state"].params)
    np.testing.assert_array_equal(resumed["accuracy"], full["accuracy"])
    # The prototype term changes training (task 2 replays class 1's prototype).
    plain = train_stream(
        model, train, test, workdir=tmp_path / "c", **{**kwargs, "prototypes": None}
    )
    head = full["state"].params["head"]["kernel"]
    assert not np.array_equal(head, plain["state"].params["head"]["kernel"])
    assert plain["memory"]["prototype_bytes"] == 0


def test_saliency_of_the_wrong_shape_is_refused_naming_the_explainer(setup):
    from segxai_jax.explainers import seg_grad_cam
    from segxai_jax.probes import make_probe

    model, _ = setup
    probe = make_probe(model, "bottleneck", input_shape=(*HW, 3))
    coarse = saliency_fn(seg_grad_cam(probe, output_size=None), num_classes=3)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, *HW, 3)))["params"]
    data = _data(2, 0)
    with pytest.raises(ValueError, match="explain: expected one saliency map"):
        coarse(params, data["image"], data["mask"], (1, 2))


def test_feature_maintenance_changes_training_and_resumes_exactly(setup, tmp_path):
    """Distillation against the task's starting parameters: exact resume."""
    from segxai_jax.continual.prototypes import unet_prototype_replay

    model, saliency = setup
    train, test = _data(12, 0), _data(6, 1)
    kwargs = dict(
        tasks=TASKS,
        num_classes=3,
        config=dataclasses.replace(CONFIG, epochs_per_task=3),  # several steps
        compressor=None,
        budget_bytes=0,
        saliency=saliency,
    )
    held = unet_prototype_replay(model, (*HW, 3), samples=64, distillation=10.0)
    free = unet_prototype_replay(model, (*HW, 3), samples=64)
    full = train_stream(
        model, train, test, workdir=tmp_path / "a", prototypes=held, **kwargs
    )
    train_stream(
        model,
        train,
        test,
        workdir=tmp_path / "b",
        prototypes=held,
        stop_after_tasks=1,
        **kwargs,
    )
    resumed = train_stream(
        model, train, test, workdir=tmp_path / "b", prototypes=held, **kwargs
    )
    assert resumed["resumed_from"] == 1
    chex.assert_trees_all_equal(resumed["state"].params, full["state"].params)
    plain = train_stream(
        model, train, test, workdir=tmp_path / "c", prototypes=free, **kwargs
    )
    # No term in the first task (nothing stored yet; float tolerance: the two
    # programs differ), a changed model after the second.
    first_losses = [run["history"][0]["train_loss"] for run in (full, plain)]
    np.testing.assert_allclose(*first_losses, rtol=1e-5)
    assert not np.array_equal(
        full["state"].params["enc0_conv0"]["kernel"],
        plain["state"].params["enc0_conv0"]["kernel"],
    )
