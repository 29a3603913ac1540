"""assay: deepfake detection and provenance suite, one namespace. The shell (``assay.cli``, ``assay.demo``) stands
above the subsystems ``assay.forge``, ``assay.detect``, ``assay.dashboard``, ``assay.provenance`` and ``assay.data``;
``assay.core`` below them holds what they share. This module holds only the version."""

from assay.core import __version__

__all__ = ["__version__"]
