"""Test-wide JAX settings: persistent compilation cache and CPU flags.

The tests run tiny programs, so compiling them costs more than running them:
XLA's backend optimisation is turned down (``fast_compile``).
"""

from segxai_jax import runtime

runtime.configure(fast_compile=True)
