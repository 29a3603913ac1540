"""assay.dashboard: review the workspace in a Streamlit app."""

from assay.core.exports import public_face

#: the public face (see assay.core.exports): name -> the module of this package that defines it
EXPORTS = {
    "PAGES": "app",
    "dashboard": "cli",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
