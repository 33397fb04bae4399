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
