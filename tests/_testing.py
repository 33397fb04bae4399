"""Helpers shared by test modules (importable because tests/ is on sys.path)."""

import jax
import jax.numpy as jnp
import numpy as np


def numpy_init(model, input_shape, seed):
    """Weights drawn with NumPy (compiling a Linen ``init`` costs seconds on CPU).

    Kernels are He-normal, biases N(0, 0.1), normalisation scales 1 + N(0, 0.1).
    """
    spec = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    shapes = jax.eval_shape(lambda x: model.init(jax.random.key(0), x), spec)
    rng = np.random.default_rng(seed)

    def draw(path, leaf):
        if len(leaf.shape) > 1:  # kernels: He normal
            std = np.sqrt(2.0 / int(np.prod(leaf.shape[:-1])))
            return jnp.asarray(rng.normal(0.0, std, leaf.shape), jnp.float32)
        values = rng.normal(0.0, 0.1, leaf.shape)  # biases; scales around 1
        if jax.tree_util.keystr(path).endswith("['scale']"):
            values = 1.0 + values
        return jnp.asarray(values, jnp.float32)

    return jax.tree_util.tree_map_with_path(draw, shapes["params"])


# Two XLA programs that compute the same float32 function (jit vs eager, vmap
# vs a loop, chunked vs not, a batch vs one image) may add in different orders.
# Which order a matrix product or convolution uses depends on its shapes AND on
# the CPU (cache sizes set the blocking): on an AMD EPYC (AVX2) a batched and
# an unbatched gradient differed by 2e-9 where an Intel AVX-512 machine gave
# identical bits. A sum of n float32 terms moves by up to ~n * 2**-24 * sum|t|
# under reordering, and a DIFFERENCE of two such sums (an occlusion drop, a
# score change) keeps the absolute error of the large terms. So these
# comparisons bound |actual - expected| by rtol times the SCALE of the terms
# (by default max|expected|), not by each value's own size.
REORDER_RTOL = 1e-5


def assert_close_reordered(actual, expected, *, scale=None, rtol=REORDER_RTOL):
    """``|actual - expected| <= rtol * scale`` element-wise (see above).

    Args:
      actual, expected: arrays of one shape.
      scale: magnitude of the terms the values are sums or differences of
        (e.g. the clean score for occlusion drops); default ``max|expected|``.
      rtol: relative tolerance (default 1e-5: ~100 float32 ulps).
    """
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if scale is None:
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    scale = max(float(np.abs(scale)), np.finfo(np.float32).tiny)
    np.testing.assert_allclose(actual, expected, rtol=0.0, atol=rtol * scale)


def committed_steps(checkpoint_dir) -> list[int]:
    """Steps of a checkpoint folder whose save finished (integrity manifest)."""
    from pathlib import Path

    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in root.iterdir()
        if p.name.isdigit() and (p / "integrity.json").is_file()
    )


def kill_at_random_point(args, *, ready, seed: int, max_delay: float, env=None):
    """Runs ``args`` and SIGKILLs it a random moment after ``ready()`` first holds.

    The delay is drawn from ``U[0, max_delay]`` with a seeded RNG (the test is
    reproducible); the process must still be running when killed.

    Returns:
      The delay used, in seconds.
    """
    import os
    import random
    import signal
    import subprocess
    import time

    delay = random.Random(seed).uniform(0.0, max_delay)
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + 300
        while not ready():
            if process.poll() is not None:
                raise AssertionError(
                    "the subprocess ended before it was ready: "
                    + process.stderr.read().decode()[-2000:]
                )
            if time.monotonic() > deadline:
                raise AssertionError("the subprocess never became ready")
            time.sleep(0.02)
        time.sleep(delay)
        assert process.poll() is None, "the subprocess finished before the kill"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    return delay
