"""Which explainer suits segmentation, by cost and quality (see run.py)."""
