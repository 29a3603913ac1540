"""Stamping at birth: the callable forge's ``sample`` calls once per generated image."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np

from assay.core.workspace import Workspace
from provenance.keys import SigningIdentity, ensure_keys
from provenance.payload import sample_content_id
from provenance.imagestamp import stamp_pixels
from provenance.records import add_record
from provenance.stamping import LABELS, StampOptions, parse_labels

#: GAN families whose output is an AI edit of a real input (c2pa.edited) rather than a creation
EDIT_FAMILIES = frozenset({"srgan", "esrgan"})

Stamper = Callable[[np.ndarray, str, dict[str, Any]], tuple[bytes, dict[str, Any]]]


def make_birth_stamper(ws: Workspace, labels: tuple[str, ...] | str = LABELS, signer: SigningIdentity | None = None,
                       options: StampOptions | None = None) -> Stamper:
    """A ``stamper(pixels, fmt, meta) -> (file bytes, manifest row fields)`` for forge's ``sample``.

    ``meta`` carries ``family``, ``run_id``, ``checkpoint_sha256``, ``seed``, ``latent_index``,
    ``condition`` and ``size``; the content id is derived from checkpoint, seed and latent
    index, so sampling again with the same seed gives the same id and the same pixels.
    Each image gets a ``provenance`` catalog record (parent: the run, when it is in the
    catalog). An SRGAN-like family may pass its low-resolution input as ``meta["parent"]``
    = (bytes, format) to have it recorded as the edited parent ingredient.
    With "c2pa" among the labels and no ``signer``, the workspace's keygen identity is used
    (made on first use, so a synthetic set is never left unsigned for want of keys).
    """
    chosen = parse_labels(labels)
    options = replace(options or StampOptions(), labels=chosen)
    if "c2pa" in chosen and signer is None:
        signer = ensure_keys(ws)
    if signer is not None:
        signer.check()

    def stamp(pixels: np.ndarray, fmt: str, meta: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        content_id = sample_content_id(str(meta.get("checkpoint_sha256", "")), int(meta.get("seed", 0)),
                                       int(meta.get("latent_index", 0)))
        family = meta.get("family")
        generator = {"family": family, "run_id": meta.get("run_id"), "seed": meta.get("seed"),
                     "latent_index": meta.get("latent_index"), "checkpoint_sha256": meta.get("checkpoint_sha256"),
                     "condition": meta.get("condition")}
        source_type = "edited" if family in EDIT_FAMILIES and meta.get("parent") else "created"
        result = stamp_pixels(pixels, fmt, signer, options, content_id=content_id, source_type=source_type,
                              generator=generator, parent=meta.get("parent"), title=f"{content_id}.{fmt}")
        parents = [meta["run_id"]] if meta.get("run_id") else []
        record_id = add_record(ws, result, None, parents=parents, source=f"forge:{family}")
        extra = {"content_id": content_id, "labels_applied": result.labels_applied, "provenance_id": record_id}
        if result.labels_skipped:
            extra["labels_skipped"] = result.labels_skipped
        return result.data, extra

    return stamp
