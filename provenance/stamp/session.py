"""Stamping at birth: the callable forge's ``sample`` calls once per generated image."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, Callable, Iterable

import numpy as np

from assay.core.workspace import Workspace
from assay.provenance.keys.secret import ensure_secret
from assay.provenance.keys.settings import load_settings
from assay.provenance.keys.signing import SigningIdentity, ensure_keys
from assay.provenance.payload import sample_content_id
from assay.provenance.stamp.image import stamp_pixels
from assay.provenance.stamp.options import LABELS, StampOptions, parse_labels
from assay.provenance.stamp.records import READY, add_record, set_status

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
    The producer id and timestamp authority come from the workspace's settings
    (:mod:`provenance.keys.settings`); the SB 942 system is the generator: its family, and its
    run and checkpoint as the version. Records stay pending until :func:`publish`.
    """
    chosen = parse_labels(labels)
    settings = load_settings(ws)
    options = replace(options or StampOptions(), labels=chosen, provider=settings.provider, secret=ensure_secret(ws))
    if "c2pa" in chosen and signer is None:
        signer = ensure_keys(ws, settings.tsa_url)
    if signer is not None:
        signer.check()
        if signer.timestamp_note():
            print(f"warning: {signer.timestamp_note()}", file=sys.stderr)

    def stamp(pixels: np.ndarray, fmt: str, meta: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        content_id = sample_content_id(str(meta.get("checkpoint_sha256", "")), int(meta.get("seed", 0)),
                                       int(meta.get("latent_index", 0)))
        family = meta.get("family")
        generator = {"family": family, "run_id": meta.get("run_id"), "seed": meta.get("seed"),
                     "latent_index": meta.get("latent_index"), "checkpoint_sha256": meta.get("checkpoint_sha256"),
                     "condition": meta.get("condition")}
        source_type = "edited" if family in EDIT_FAMILIES and meta.get("parent") else "created"
        system = replace(options, system_name=str(family), system_version=f"run {meta.get('run_id')} checkpoint "
                                                                          f"{str(meta.get('checkpoint_sha256'))[:16]}")
        result = stamp_pixels(pixels, fmt, signer, system, content_id=content_id, source_type=source_type,
                              generator=generator, parent=meta.get("parent"), title=f"{content_id}.{fmt}")
        parents = [meta["run_id"]] if meta.get("run_id") else []
        record_id = add_record(ws, result, None, parents=parents, source=f"forge:{family}")
        extra = {"content_id": content_id, "labels_applied": result.labels_applied, "provenance_id": record_id}
        if result.labels_skipped:
            extra["labels_skipped"] = result.labels_skipped
        return result.data, extra

    return stamp


def publish(ws: Workspace, rows: Iterable[dict[str, Any]]) -> None:
    """Make the provenance records of stamped rows (their ``provenance_id``) ready, once their files are committed."""
    set_status(ws, [r["provenance_id"] for r in rows if r.get("provenance_id")], READY)
