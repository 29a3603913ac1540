"""The one stamping entry point: :func:`stamping`, a context manager around a :class:`Stamper`.

Forge's sampling, upscaling and grids and ``assay provenance stamp`` all stamp through it::

    with stamping(ws, labels="c2pa,xmp", source_type="created", consent=consent) as stamper:
        data, row_fields = stamper.stamp(pixels, "png", meta)   # generated pixels -> file bytes (caller writes)
        result, record_id = stamper.stamp_file(src, out)        # a file -> a stamped file, written here

The labels are parsed here, once (at least one: output is always labelled). The caller says
what it stamps: ``created`` (generated) or ``edited`` (an AI edit of a real input, given as
the parent). The workspace gives the secret, the settings (producer id, timestamp authority)
and, when C2PA is asked for and no signer is given, its keygen identity (made on first use,
so generated output is never left unsigned for want of keys). The records of stamped pixels
stay ``pending`` until the block ends without an error (their files are committed by then);
a file :meth:`Stamper.stamp_file` writes is ``ready`` as soon as it is written.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from assay.core.errors import InputError
from assay.core.workspace import Workspace
from assay.provenance.consent.policy import Consent
from assay.provenance.keys.secret import ensure_secret
from assay.provenance.keys.settings import load_settings
from assay.provenance.keys.signing import SigningIdentity, ensure_keys
from assay.provenance.manifest import SOURCE_TYPES
from assay.provenance.payload import sample_content_id
from assay.provenance.stamp.files import stamp_to
from assay.provenance.stamp.image import stamp_pixels
from assay.provenance.stamp.options import (
    LABELS,
    StampOptions,
    StampResult,
    parse_labels,
)
from assay.provenance.stamp.records import READY, add_record, set_status


class Stamper:
    """Stamps generated pixels and files for one workspace, with one set of labels and options.

    Made by :func:`stamping` (which publishes its records when the block succeeds). Raises
    :class:`InputError` for unknown or no labels or an unknown source type, ``SigningError``
    for a signer that cannot sign. ``options`` (default: the workspace's identity fields)
    give everything but the labels; ``consent`` (from ``require_consent``), when it found
    records, is referenced in every manifest and kept in every catalog record.
    """

    def __init__(self, ws: Workspace, labels: str | Sequence[str] = LABELS, source_type: str = "created", *,
                 signer: SigningIdentity | None = None, options: StampOptions | None = None,
                 consent: Consent | None = None) -> None:
        chosen = parse_labels(labels)
        if not chosen:
            raise InputError(f"output is always labelled: give at least one of {', '.join(LABELS)}")
        if source_type not in SOURCE_TYPES:
            raise InputError(f"source type must be one of {', '.join(SOURCE_TYPES)}, got {source_type!r}")
        settings = load_settings(ws)
        options = options or StampOptions(provider=settings.provider, system_name=settings.system_name,
                                          system_version=settings.system_version)
        options = replace(options, labels=chosen, secret=options.secret or ensure_secret(ws))
        if consent is not None and consent.declares():
            options = replace(options, extra_assertions=[*options.extra_assertions, consent.assertion()],
                              catalog_params={**options.catalog_params, **consent.catalog_params()})
        if "c2pa" in chosen and signer is None:
            signer = ensure_keys(ws, settings.tsa_url)
        if signer is not None:
            signer.check()
            if signer.timestamp_note():
                print(f"warning: {signer.timestamp_note()}", file=sys.stderr)
        self.ws, self.source_type, self.signer, self.options = ws, source_type, signer, options
        #: records of stamped pixels not yet published
        self.pending: list[str] = []

    def stamp(self, pixels: np.ndarray, fmt: str, meta: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """Stamp generated ``pixels`` (H x W x 3 uint8) as ``fmt``: (file bytes, fields for the image's manifest
        row: ``content_id``, ``labels_applied``, ``provenance_id`` and, when some were, ``labels_skipped``).

        ``meta`` carries ``family``, ``run_id``, ``checkpoint_sha256``, ``seed``, ``latent_index``,
        ``condition`` and ``size``, and for an edit ``parent`` = (bytes, format) of the input,
        recorded as the parent ingredient. The content id is derived from checkpoint, seed and
        latent index, so stamping the same sample again gives the same id and pixels. The SB 942
        system is the generator: its family, and its run and checkpoint as the version. The
        ``provenance`` record (parent: the run, when it is in the catalog) stays pending until
        :meth:`publish`.
        """
        content_id = sample_content_id(str(meta.get("checkpoint_sha256", "")), int(meta.get("seed", 0)),
                                       int(meta.get("latent_index", 0)))
        family = meta.get("family")
        generator = {"family": family, "run_id": meta.get("run_id"), "seed": meta.get("seed"),
                     "latent_index": meta.get("latent_index"), "checkpoint_sha256": meta.get("checkpoint_sha256"),
                     "condition": meta.get("condition")}
        options = self.options if family is None else replace(
            self.options, system_name=str(family),
            system_version=f"run {meta.get('run_id')} checkpoint {str(meta.get('checkpoint_sha256'))[:16]}")
        result = stamp_pixels(pixels, fmt, self.signer, options, content_id=content_id, source_type=self.source_type,
                              generator=generator, parent=meta.get("parent"), title=f"{content_id}.{fmt}")
        parents = [meta["run_id"]] if meta.get("run_id") else []
        record_id = add_record(self.ws, result, None, parents=parents, source=f"forge:{family}")
        self.pending.append(record_id)
        extra: dict[str, Any] = {"content_id": content_id, "labels_applied": result.labels_applied,
                                 "provenance_id": record_id}
        if result.labels_skipped:
            extra["labels_skipped"] = result.labels_skipped
        return result.data, extra

    #: a Stamper is forge's stamping hook: ``stamper(pixels, fmt, meta)``
    __call__ = stamp

    def stamp_file(self, src: Path, out: Path, parent: Path | None = None, overwrite: bool = False
                   ) -> tuple[StampResult | None, str | None]:
        """Stamp the image or video at ``src`` into ``out`` (written atomically, its record ready once written);
        ``parent``: the original of an edit. An existing ``out`` is minded as :func:`~.files.stamp_to` says:
        (None, its record id) when this workspace stamped it, ``OutputExists`` otherwise unless ``overwrite``."""
        return stamp_to(src, out, self.signer, self.options, self.ws, self.source_type, parent, overwrite)

    def publish(self) -> None:
        """Make the records of the pixels stamped so far ready (their files are committed)."""
        set_status(self.ws, self.pending, READY)
        self.pending = []


@contextmanager
def stamping(ws: Workspace, labels: str | Sequence[str] = LABELS, source_type: str = "created", *,
             signer: SigningIdentity | None = None, options: StampOptions | None = None,
             consent: Consent | None = None) -> Iterator[Stamper]:
    """A :class:`Stamper` for the block; its pending records are published when the block ends without an error
    and stay pending when it raises (an interrupted batch leaves no ready record for files never committed)."""
    stamper = Stamper(ws, labels, source_type, signer=signer, options=options, consent=consent)
    yield stamper
    stamper.publish()
