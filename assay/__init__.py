"""assay: deepfake detection and provenance suite (shared core: CLI, workspace, catalog, image IO, faces)."""

__version__ = "0.1.0"
