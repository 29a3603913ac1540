"""assay: deepfake detection and provenance suite. This package is the shell (root CLI, demo);
``assay.core`` holds what every subsystem shares."""

from assay.core import __version__

__all__ = ["__version__"]
