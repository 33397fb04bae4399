"""Foreground vs background deactivation per layer (Seg-Ablation-CAM; see run.py)."""
