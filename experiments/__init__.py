"""Experiments: one config per experiment under ``configs/``, run by ``main.py``."""
