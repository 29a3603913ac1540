"""assay.data: a folder of photos -> a prepared, aligned, labelled, identity-split face set."""

from assay.core.exports import public_face

#: the public face (see assay.core.exports): name -> the module of this package that defines it
EXPORTS = {
    "app": "cli",
    "age_bucket": "layouts",
    "AGE_BUCKETS": "layouts",
    "LabelError": "layouts",
    "LAYOUTS": "layouts",
    "UTKFACE_GENDERS": "layouts",
    "UTKFACE_RACES": "layouts",
    "prepare": "preparation",
    "PrepareConfig": "preparation",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
