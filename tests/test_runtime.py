"""Process-level settings: flags are added once and never override the user's."""

import os

import jax

from segxai_jax import runtime


def test_fast_compile_adds_level_zero_unless_a_level_is_set(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    assert runtime.configure_fast_compile()
    assert os.environ["XLA_FLAGS"].split() == [
        "--xla_force_host_platform_device_count=2",
        "--xla_backend_optimization_level=0",
    ]
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=2")
    assert not runtime.configure_fast_compile()
    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=2"


def test_cpu_flags_respect_a_user_ynn_choice(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_experimental_ynn_fusion_type=x")
    assert not runtime.configure_cpu_flags()
    monkeypatch.delenv("XLA_FLAGS")
    added = runtime.configure_cpu_flags()
    assert added == jax.__version__.startswith("0.10.")
    assert ("ynn" in os.environ.get("XLA_FLAGS", "")) == added


def test_compilation_cache_directory_is_created(tmp_path, monkeypatch):
    monkeypatch.setattr(jax.config, "update", lambda *args: None)  # keep the suite's
    directory = runtime.enable_compilation_cache(tmp_path / "cache")
    assert directory.is_dir()
