"""Manipulating explanations while the segmentation stays (see run.py)."""
