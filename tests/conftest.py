"""Test-wide JAX settings: persistent compilation cache and CPU flags.

The tests run tiny programs, so compiling them costs more than running them:
XLA's backend optimisation is turned down (``fast_compile``).
"""

import chex
import pytest

from segxai_jax import runtime

runtime.configure(fast_compile=True)


@pytest.fixture(autouse=True)
def _fresh_trace_counts():
    """``chex.assert_max_traces`` counts per function code: start every test at 0.

    Explainers built by one factory share their inner function's code, so a
    count left by an earlier test (in the same worker) must not leak in.
    """
    chex.clear_trace_counter()
    yield
