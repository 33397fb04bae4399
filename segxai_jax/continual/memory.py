"""Fixed-capacity replay memory as a pytree with pure ``init/insert/sample``.

The memory follows flashbax: the state is a pytree of fixed-shape arrays
(``storage`` leaves ``[C, ...]``), ``insert`` and ``sample`` are pure
functions that can be jitted (``jax.jit(memory.insert, donate_argnums=0)``
updates the buffers in place) and Orbax checkpoints the state as is.

Write policies (what happens to an item offered to a full memory):

* ``"reservoir"`` (Vitter 1985, algorithm R): the ``n``-th offered item
  (1-based) replaces a uniformly chosen slot with probability ``C / n`` and is
  otherwise dropped, so the memory is a uniform sample of everything offered.
  Dropping the newest item is part of this policy; it is counted in
  ``num_dropped``.
* ``"class_balanced"`` (class-balanced reservoir sampling, Chrysakis & Moens
  2020): an item whose group (e.g. its class) is not among the largest groups
  in memory evicts a random item of a largest group; an item of a largest
  group replaces a random item of its own group with probability
  ``m_g / n_g`` (stored / offered of that group), else it is dropped (counted).
* ``"fifo"``: a ring buffer; the oldest item is overwritten and the newest is
  never dropped.

Memory is counted in real bytes: :func:`exemplar_bytes` is the sum of
``dtype.itemsize * size`` of every array stored per exemplar (its group id
included), and :func:`storage_bytes` of a state equals the ``nbytes`` of all
its per-slot arrays. The few scalar counters are reported separately by
:func:`overhead_bytes`.

References:
  Vitter. Random sampling with a reservoir. ACM TOMS 11(1), 1985.
  Chrysakis, Moens. Online continual learning from imbalanced data. ICML 2020.
  Toledo et al. Flashbax: streamlining experience replay buffers for
  reinforcement learning with JAX. arXiv:2310.07218, 2023.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from segxai_jax import validation

POLICIES = ("reservoir", "class_balanced", "fifo")
_GROUP_DTYPE = jnp.int32


class ReplayState(struct.PyTreeNode):
    """Everything a replay memory holds.

    Attributes:
      storage: pytree of the stored exemplars, leaves ``[C, ...]``.
      group: ``[C]`` int32 group (class) of each slot, -1 when empty.
      count: ``[]`` int32 filled slots.
      num_offered: ``[]`` int32 items offered so far.
      num_dropped: ``[]`` int32 offered items that were not written.
      group_offered: ``[G]`` int32 items offered per group.
    """

    storage: Any
    group: jax.Array
    count: jax.Array
    num_offered: jax.Array
    num_dropped: jax.Array
    group_offered: jax.Array


class ReplayMemory(NamedTuple):
    """Pure functions of a replay memory (see :func:`replay_memory`).

    Attributes:
      init: ``init(example) -> ReplayState``; ``example`` is ONE exemplar (a
        pytree of arrays, no batch axis), used for shapes and dtypes.
      insert: ``insert(state, key, items, groups, valid=None) -> ReplayState``;
        ``items`` with leaves ``[B, ...]``, ``groups [B]`` int in ``[0, G)``;
        items are offered one after the other; items with ``valid [B]`` False
        (padding of a fixed-size batch) are not offered at all. Ids outside
        ``[0, G)`` are refused eagerly; under ``jit`` their items are dropped
        (counted in ``num_dropped``), never stored.
      sample: ``sample(state, key) -> (items, valid)``; leaves
        ``[sample_size, ...]`` drawn uniformly with replacement from the filled
        slots; ``valid [sample_size]`` bool is False when the memory is empty.
    """

    init: Callable
    insert: Callable
    sample: Callable


def exemplar_bytes(example: Any) -> int:
    """Bytes one stored exemplar occupies: its arrays plus its group id.

    Args:
      example: one exemplar (arrays or ``jax.ShapeDtypeStruct``), no batch axis.
    """
    leaves = jax.tree.leaves(example)
    item = sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in leaves)
    return item + np.dtype(_GROUP_DTYPE).itemsize


def capacity_for_budget(budget_bytes: int, example: Any) -> int:
    """How many exemplars fit in ``budget_bytes``.

    Raises:
      ValueError: the budget is smaller than one exemplar.

    Examples:
      >>> import numpy as np
      >>> item = {"image": np.zeros((8, 8, 3), np.uint8)}
      >>> capacity_for_budget(1000, item)  # 192 + 4 bytes each
      5
    """
    validation.check_int(budget_bytes, "budget_bytes", minimum=0)
    per_item = exemplar_bytes(example)
    if budget_bytes < per_item:
        raise ValueError(
            f"budget_bytes: expected at least the {per_item} bytes of one exemplar, "
            f"got {budget_bytes}"
        )
    return int(budget_bytes) // per_item


def storage_bytes(state: ReplayState) -> int:
    """Real bytes of the per-slot arrays of ``state`` (stored data + groups)."""
    leaves = [*jax.tree.leaves(state.storage), state.group]
    return int(sum(x.nbytes for x in leaves))


def overhead_bytes(state: ReplayState) -> int:
    """Bytes of the counters (not part of the exemplar budget)."""
    leaves = [state.count, state.num_offered, state.num_dropped, state.group_offered]
    return int(sum(x.nbytes for x in leaves))


def replay_memory(
    *,
    capacity: int,
    num_groups: int = 1,
    policy: str = "reservoir",
    sample_size: int = 8,
) -> ReplayMemory:
    """A replay memory of ``capacity`` exemplars.

    Args:
      capacity: C, exemplars stored at most (see :func:`capacity_for_budget`).
      num_groups: G, groups for the class-balanced policy (e.g. classes).
      policy: ``"reservoir"``, ``"class_balanced"`` or ``"fifo"``.
      sample_size: exemplars returned by ``sample``.

    Returns:
      A :class:`ReplayMemory`.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> memory = replay_memory(capacity=2, sample_size=3)
      >>> state = memory.init({"x": jnp.zeros((4,), jnp.uint8)})
      >>> items = {"x": jnp.arange(12, dtype=jnp.uint8).reshape(3, 4)}
      >>> state = jax.jit(memory.insert, donate_argnums=0)(
      ...     state, jax.random.key(0), items, jnp.zeros(3, jnp.int32))
      >>> int(state.count), int(state.num_offered)
      (2, 3)
    """
    capacity = validation.check_int(capacity, "capacity", minimum=1)
    num_groups = validation.check_int(num_groups, "num_groups", minimum=1)
    validation.check_choice(policy, "policy", POLICIES)
    sample_size = validation.check_int(sample_size, "sample_size", minimum=1)

    def init(example: Any) -> ReplayState:
        storage = jax.tree.map(
            lambda x: jnp.zeros((capacity, *x.shape), x.dtype), example
        )
        # Separate buffers for every counter: a donated state must not alias.
        return ReplayState(
            storage=storage,
            group=jnp.full((capacity,), -1, _GROUP_DTYPE),
            count=jnp.zeros((), jnp.int32),
            num_offered=jnp.zeros((), jnp.int32),
            num_dropped=jnp.zeros((), jnp.int32),
            group_offered=jnp.zeros((num_groups,), jnp.int32),
        )

    def choose_slot(state: ReplayState, key: jax.Array, group: jax.Array):
        """Slot to write (``capacity`` = drop) for the next offered item."""
        n = state.num_offered + 1  # 1-based index of this item
        not_full = state.count < capacity
        if policy == "fifo":
            return state.num_offered % capacity
        if policy == "reservoir":
            j = jax.random.randint(key, (), 0, n)  # uniform in [0, n)
            return jnp.where(
                not_full, state.count, jnp.where(j < capacity, j, capacity)
            )
        key_evict, key_keep, key_own = jax.random.split(key, 3)
        sizes = jnp.zeros((num_groups,), jnp.int32).at[state.group].add(1, mode="drop")
        largest = sizes == sizes.max()
        slot_largest = _random_slot(key_evict, largest[jnp.maximum(state.group, 0)])
        slot_own = _random_slot(key_own, state.group == group)
        n_group = state.group_offered[group] + 1
        keep = jax.random.uniform(key_keep) * n_group < sizes[group]
        slot_full = jnp.where(
            largest[group], jnp.where(keep, slot_own, capacity), slot_largest
        )
        return jnp.where(not_full, state.count, slot_full)

    def insert_one(state: ReplayState, item_key_group):
        item, key, group, offered = item_key_group
        # Ids are checked eagerly (_check_groups); under jit an id outside
        # [0, G) cannot be refused, so its item is dropped, never stored where
        # the class-balanced counts would not see it.
        in_range = (group >= 0) & (group < num_groups)
        slot = jnp.where(offered & in_range, choose_slot(state, key, group), capacity)
        written = slot < capacity
        step = offered.astype(jnp.int32)
        storage = jax.tree.map(
            lambda buf, x: buf.at[slot].set(x, mode="drop"), state.storage, item
        )
        state = state.replace(
            storage=storage,
            group=state.group.at[slot].set(group, mode="drop"),
            count=jnp.minimum(state.count + written.astype(jnp.int32), capacity),
            num_offered=state.num_offered + step,
            num_dropped=state.num_dropped + (offered & ~written).astype(jnp.int32),
            group_offered=state.group_offered.at[
                jnp.where(in_range, group, num_groups)
            ].add(step, mode="drop"),
        )
        return state, None

    def insert(
        state: ReplayState,
        key: jax.Array,
        items: Any,
        groups: jax.Array,
        valid: jax.Array | None = None,
    ):
        groups = jnp.asarray(groups, _GROUP_DTYPE)
        size = groups.shape[0]
        valid = jnp.ones((size,), bool) if valid is None else jnp.asarray(valid, bool)
        if valid.shape != (size,):
            raise ValueError(f"valid: expected shape ({size},), got {valid.shape}")
        for leaf in jax.tree.leaves(items):
            if leaf.shape[:1] != (size,):
                raise ValueError(
                    f"items: expected leaves with leading axis {size} (len(groups)), "
                    f"got shape {leaf.shape}"
                )
        _check_groups(groups, num_groups)
        keys = jax.random.split(key, size)
        state, _ = jax.lax.scan(insert_one, state, (items, keys, groups, valid))
        return state

    def sample(state: ReplayState, key: jax.Array):
        index = jax.random.randint(key, (sample_size,), 0, jnp.maximum(state.count, 1))
        items = jax.tree.map(lambda buf: buf[index], state.storage)
        valid = jnp.broadcast_to(state.count > 0, (sample_size,))
        return items, valid

    return ReplayMemory(init=init, insert=insert, sample=sample)


def _random_slot(key: jax.Array, allowed: jax.Array) -> jax.Array:
    """A uniformly chosen index among ``allowed [C]`` (some entry must be True)."""
    scores = jnp.where(allowed, jax.random.uniform(key, allowed.shape), -1.0)
    return jnp.argmax(scores)


def _check_groups(groups: jax.Array, num_groups: int) -> None:
    if isinstance(groups, jax.core.Tracer):
        return
    values = np.asarray(groups)
    if values.size and (values.min() < 0 or values.max() >= num_groups):
        raise ValueError(
            f"groups: expected ids in [0, {num_groups}), got range "
            f"[{values.min()}, {values.max()}]"
        )
