"""Reproducible speed and quality measurements (run each script from the repository root); results in README.md."""
