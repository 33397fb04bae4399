"""Replay memory: byte accounting, reservoir uniformity, policies, checkpoints."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from segxai_jax.continual import memory as mem
from segxai_jax.training import CheckpointStore


def _items(ids):
    ids = jnp.asarray(ids, jnp.int32)
    return {
        "id": ids,
        "image": jnp.broadcast_to(ids[:, None, None, None], (len(ids), 2, 2, 3)).astype(
            jnp.uint8
        ),
    }


EXAMPLE = {"id": jnp.zeros((), jnp.int32), "image": jnp.zeros((2, 2, 3), jnp.uint8)}


def test_bytes_accounted_equal_real_nbytes():
    per = mem.exemplar_bytes(EXAMPLE)
    assert per == 4 + 12 + 4  # id + image + group id
    capacity = mem.capacity_for_budget(10 * per + 3, EXAMPLE)
    assert capacity == 10
    memory = mem.replay_memory(capacity=capacity)
    state = memory.init(EXAMPLE)
    state = memory.insert(state, jax.random.key(0), _items(range(4)), jnp.zeros(4))
    real = sum(np.asarray(x).nbytes for x in jax.tree.leaves(state.storage))
    real += np.asarray(state.group).nbytes
    assert mem.storage_bytes(state) == real == capacity * per
    total = sum(np.asarray(x).nbytes for x in jax.tree.leaves(state))
    assert mem.storage_bytes(state) + mem.overhead_bytes(state) == total


def test_budget_smaller_than_one_exemplar_raises():
    with pytest.raises(ValueError, match="budget_bytes"):
        mem.capacity_for_budget(mem.exemplar_bytes(EXAMPLE) - 1, EXAMPLE)
    with pytest.raises(ValueError, match="policy"):
        mem.replay_memory(capacity=2, policy="lru")


def test_reservoir_is_uniform_statistical():
    """Probabilistic (seeded): each of 20 items is kept with probability 5/20."""
    capacity, stream_len, trials = 5, 20, 4000
    memory = mem.replay_memory(capacity=capacity)
    items, groups = _items(range(stream_len)), jnp.zeros(stream_len, jnp.int32)

    @jax.jit
    def run(key):
        state = memory.insert(memory.init(EXAMPLE), key, items, groups)
        return state.storage["id"], state.num_dropped

    kept, dropped = jax.vmap(run)(jax.random.split(jax.random.key(0), trials))
    # rejected items on average: sum over n = 6..20 of (1 - 5 / n) = 8.428
    expected = sum(1 - capacity / n for n in range(capacity + 1, stream_len + 1))
    np.testing.assert_allclose(np.mean(dropped), expected, atol=0.1)
    kept = np.asarray(kept)
    assert all(len(set(row)) == capacity for row in kept)  # no duplicates
    counts = np.bincount(kept.ravel(), minlength=stream_len)
    # chi-square against uniform inclusion; p > 1e-3 fails 1 in 1000 seeds
    assert stats.chisquare(counts).pvalue > 1e-3
    np.testing.assert_allclose(counts / trials, capacity / stream_len, atol=0.03)


def test_fifo_never_drops_the_newest_and_reservoir_counts_drops():
    items, groups = _items(range(7)), jnp.zeros(7, jnp.int32)
    fifo = mem.replay_memory(capacity=3, policy="fifo")
    state = fifo.insert(fifo.init(EXAMPLE), jax.random.key(1), items, groups)
    assert np.asarray(state.storage["id"]).tolist() == [6, 4, 5]
    assert int(state.num_dropped) == 0
    # reservoir: after every offer the newest item is stored, or the drop counter
    # says it was rejected (the policy's documented choice), never silently lost
    for policy in ("reservoir", "class_balanced"):
        memory = mem.replay_memory(capacity=3, num_groups=2, policy=policy)
        state = memory.init(EXAMPLE)
        for i in range(12):
            before = int(state.num_dropped)
            state = memory.insert(
                state, jax.random.key(i), _items([i]), jnp.array([i % 2])
            )
            stored = i in np.asarray(state.storage["id"])[: int(state.count)]
            assert stored != (int(state.num_dropped) == before + 1), (policy, i)


def test_invalid_items_are_not_offered():
    memory = mem.replay_memory(capacity=4)
    valid = jnp.array([True, False, True])
    state = memory.insert(
        memory.init(EXAMPLE), jax.random.key(0), _items([1, 2, 3]), jnp.zeros(3), valid
    )
    assert int(state.count) == 2 and int(state.num_offered) == 2
    assert np.asarray(state.storage["id"])[:2].tolist() == [1, 3]


def test_class_balanced_keeps_groups_balanced():
    memory = mem.replay_memory(capacity=6, num_groups=3, policy="class_balanced")
    state = memory.init(EXAMPLE)
    key = jax.random.key(2)
    # 30 items of group 0 first, then 6 of group 1, then 6 of group 2
    groups = jnp.array([0] * 30 + [1] * 6 + [2] * 6)
    state = memory.insert(state, key, _items(range(42)), groups)
    sizes = np.bincount(np.asarray(state.group), minlength=3)
    np.testing.assert_array_equal(sizes, [2, 2, 2])
    with pytest.raises(ValueError, match="groups"):
        memory.insert(state, key, _items([0]), jnp.array([3]))


def test_insert_jit_equals_no_jit_and_compiles_once():
    memory = mem.replay_memory(capacity=3, num_groups=2, policy="class_balanced")
    items, groups = _items(range(8)), jnp.array([0, 1] * 4)
    eager = memory.insert(memory.init(EXAMPLE), jax.random.key(3), items, groups)
    insert = jax.jit(chex.assert_max_traces(memory.insert, n=1), donate_argnums=0)
    state = memory.init(EXAMPLE)
    state = insert(state, jax.random.key(3), items, groups)
    chex.assert_trees_all_equal(eager, state)
    state = insert(state, jax.random.key(4), items, groups)  # no retrace
    sampled, valid = jax.jit(memory.sample)(state, jax.random.key(5))
    assert valid.all() and set(np.asarray(sampled["id"])) <= set(range(8))
    empty_items, empty_valid = memory.sample(memory.init(EXAMPLE), jax.random.key(5))
    assert not empty_valid.any()


def test_state_round_trips_through_orbax(tmp_path):
    memory = mem.replay_memory(capacity=4, num_groups=2)
    state = memory.insert(
        memory.init(EXAMPLE), jax.random.key(0), _items(range(6)), jnp.array([0, 1] * 3)
    )
    store = CheckpointStore(tmp_path)
    store.save(1, {"memory": state}, {})
    _, items, _ = store.restore({"memory": memory.init(EXAMPLE)})
    store.close()
    assert isinstance(items["memory"], mem.ReplayState)
    chex.assert_trees_all_equal(items["memory"], state)


@pytest.mark.parametrize("policy", ["reservoir", "class_balanced", "fifo"])
def test_an_out_of_range_group_under_jit_is_dropped_not_stored(policy):
    memory = mem.replay_memory(capacity=4, num_groups=2, policy=policy)
    state = memory.init(jax.tree.map(lambda a: a[0], _items([0])))
    insert = jax.jit(memory.insert)
    state = insert(state, jax.random.key(0), _items([1, 2, 3]), jnp.array([0, 2, -1]))
    assert int(state.count) == 1 and int(state.num_dropped) == 2
    assert int(state.num_offered) == 3
    np.testing.assert_array_equal(state.group_offered, [1, 0])
    np.testing.assert_array_equal(np.sort(np.asarray(state.group))[-1:], [0])
    with pytest.raises(ValueError, match=r"groups: expected ids in \[0, 2\)"):
        memory.insert(state, jax.random.key(1), _items([4]), jnp.array([2]))
