"""assay.dashboard: review the workspace in a Streamlit app.

The names below are this subsystem's public face: everything outside it (the shell, the dashboard, the other
subsystems, benchmarks) imports only these, from ``assay.dashboard``. Each is loaded from its module when first used.
"""

from assay.core.exports import public_face

#: public name -> the module of this package that defines it
EXPORTS = {
    "PAGES": "app",
    "dashboard": "cli",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
