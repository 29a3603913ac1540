"""`make demo` (``python -m assay.demo``): the whole pipeline on an offline toy face set, or on a folder of
photos (``--data``). One module per stage; each calls the subsystems through their public faces."""

from assay.demo.pipeline import main

__all__ = ["main"]
