"""The segmentation-XAI benchmark (see config.py and README.md)."""
