"""assay provenance: C2PA manifests, visible and invisible AI labels, verification."""
