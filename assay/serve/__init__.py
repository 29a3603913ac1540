"""assay.serve: detection and verification as an HTTP service (``assay serve``), its tokens and its Python client."""

from assay.core.exports import public_face

#: the public face (see assay.core.exports): name -> the module of this package that defines it
EXPORTS = {
    "create_app": "service",
    "app": "cli",
    "Client": "client",
    "ServiceError": "client",
    "ServeConfig": "settings",
    "serve": "server",
    "TokenStore": "tokens",
}

__all__ = sorted(EXPORTS)
__getattr__, __dir__ = public_face(__name__, EXPORTS)
