"""Occlusion fills and patch sizes (Gipiskis & Kurasova, CISTI 2023; see run.py)."""
