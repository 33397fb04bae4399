"""Saliency-guided replay compression for class-incremental segmentation."""
