"""Test-wide JAX settings: persistent compilation cache and CPU flags."""

from segxai_jax import runtime

runtime.configure()
