"""Test-wide JAX settings: persistent compilation cache and CPU flags.

The tests run tiny programs, so compiling them costs more than running them:
XLA's backend optimisation is turned down (``fast_compile``).
"""

from pathlib import Path

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


_REPOSITORY = Path(__file__).resolve().parents[1]


def _committed_study_files() -> set[Path]:
    return set((_REPOSITORY / "experiments").glob("*/units*/*"))


@pytest.fixture(autouse=True, scope="session")
def _no_test_writes_into_study_folders():
    """A test that runs a study with its full config's ``units_dir`` would
    write unit files into the repository (and they could get committed)."""
    before = _committed_study_files()
    yield
    added = sorted(
        str(p.relative_to(_REPOSITORY)) for p in _committed_study_files() - before
    )
    assert not added, f"tests wrote into the repository's study folders: {added}"
