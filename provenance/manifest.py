"""C2PA manifests through ``c2pa-python``: build the definition, sign bytes, read and validate.

A generated image gets ``c2pa.created`` with digitalSourceType ``trainedAlgorithmicMedia``;
an AI-edited real photo (e.g. an SRGAN upscale) gets ``c2pa.opened`` on its parent,
added as a ``parentOf`` ingredient, then ``c2pa.edited`` with
``compositeWithTrainedAlgorithmicMedia``. Every manifest carries the CAWG
training-and-data-mining assertion and this suite's ``org.assay.labels`` assertion
(content id and what was labelled how); ``org.assay.consent`` is the label reserved for the
consent work, passed in through ``extra_assertions``.
"""

from __future__ import annotations

import io
import json
from typing import Any

from assay.core import __version__
from assay.provenance.keys.signing import SigningError, SigningIdentity

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SOURCE_TYPES = {"created": IPTC + "trainedAlgorithmicMedia", "edited": IPTC + "compositeWithTrainedAlgorithmicMedia"}
AI_SOURCE_TYPES = frozenset(SOURCE_TYPES.values()) | {IPTC + "algorithmicMedia"}
LABELS_ASSERTION = "org.assay.labels"
CONSENT_ASSERTION = "org.assay.consent"
TRAINING_MINING = "cawg.training-mining"
TRAINING_USES = ("cawg.ai_generative_training", "cawg.ai_training", "cawg.ai_inference", "cawg.data_mining")
PARENT_LABEL = "parent"
MIME = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "mp4": "video/mp4"}


def mime_of(fmt: str) -> str:
    try:
        return MIME[fmt.lower().lstrip(".")]
    except KeyError:
        raise ValueError(f"unsupported format {fmt!r} for C2PA signing; expected one of {sorted(MIME)}") from None


def build_definition(content_id: str, title: str, source_type: str = "created", generator: dict[str, Any] | None = None,
                     labels: dict[str, Any] | None = None, training_mining: str = "notAllowed",
                     extra_assertions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The manifest definition handed to ``c2pa.Builder``."""
    if source_type not in SOURCE_TYPES:
        raise ValueError(f"source type must be one of {sorted(SOURCE_TYPES)}, got {source_type!r}")
    generator = generator or {}
    agent = {"name": "assay", "version": __version__}
    info: dict[str, Any] = dict(agent)
    for key in ("family", "run_id"):
        if generator.get(key):
            info[f"org.assay.{key}"] = str(generator[key])
    if source_type == "created":
        actions = [{"action": "c2pa.created", "digitalSourceType": SOURCE_TYPES["created"], "softwareAgent": agent}]
    else:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}},
                   {"action": "c2pa.edited", "digitalSourceType": SOURCE_TYPES["edited"], "softwareAgent": agent}]
    assertions = [
        {"label": "c2pa.actions", "data": {"actions": actions}},
        {"label": TRAINING_MINING,
         "data": {"entries": {use: {"use": training_mining} for use in TRAINING_USES}}},
        {"label": LABELS_ASSERTION, "data": {"content_id": content_id, **(labels or {})}},
    ]
    return {"claim_generator_info": [info], "title": title, "assertions": assertions + list(extra_assertions or [])}


def sign_bytes(data: bytes, fmt: str, definition: dict[str, Any], identity: SigningIdentity,
               parent: tuple[bytes, str] | None = None, thumbnail: bool = False) -> bytes:
    """The signed file bytes. Raises :class:`SigningError`; never returns unsigned bytes."""
    import c2pa

    signer = identity.signer()
    try:
        context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": bool(thumbnail)}}})
        with c2pa.Builder(definition, context) as builder:
            if parent is not None:
                parent_bytes, parent_fmt = parent
                builder.add_ingredient({"title": "parent", "relationship": "parentOf", "label": PARENT_LABEL}, mime_of(parent_fmt),
                                       io.BytesIO(parent_bytes))
            out = io.BytesIO()
            builder.sign(signer, mime_of(fmt), io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        reason = " ".join(str(exc).split())
        if identity.tsa_url and ("http" in reason or "timestamp" in reason.lower()):
            raise SigningError(f"timestamp authority {identity.tsa_url} cannot be reached; nothing was written "
                               f"({reason})") from None
        raise SigningError(f"C2PA signing failed: {reason}") from None
    finally:
        signer.close()
    signed = out.getvalue()
    if not signed:
        raise SigningError("C2PA signing produced no output")
    return signed


def read_manifest(data: bytes, fmt: str, trust_anchors: str | None = None) -> dict[str, Any] | None:
    """The manifest store as c2pa's JSON (with ``validation_state``), or None when the file has none.

    ``trust_anchors`` is a PEM bundle of root certificates: a signer chaining to one of them
    makes the state ``Trusted``; otherwise a good signature reads ``Valid``.
    """
    import c2pa

    settings: dict[str, Any] = {"verify": {"verify_trust": True}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        with c2pa.Context.from_dict(settings) as context, c2pa.Reader(mime_of(fmt), io.BytesIO(data),
                                                                      context=context) as reader:
            return json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return None


def active_manifest(store: dict[str, Any]) -> dict[str, Any]:
    return store.get("manifests", {}).get(store.get("active_manifest", ""), {})


def assertion(manifest: dict[str, Any], label: str) -> Any:
    """The data of the first assertion whose label is ``label`` (``c2pa.actions`` matches ``c2pa.actions.v2``)."""
    for item in manifest.get("assertions", []):
        if item.get("label") == label or item.get("label", "").startswith(label + ".v"):
            return item.get("data")
    return None


#: the failure codes after which a manifest is still Valid (C2PA's validation states): the signer or the
#: timestamp authority does not chain to a configured trust anchor. Any other failure code makes it Invalid.
TRUST_CODES = frozenset({"signingCredential.untrusted", "timeStamp.untrusted"})


def invalid_codes(store: dict[str, Any]) -> list[str]:
    """The failure codes that make the manifest invalid (every one but :data:`TRUST_CODES`), sorted; [] when valid.

    A store that c2pa itself calls ``Invalid`` without naming a code gives ``validation_state.Invalid``.
    """
    bad = sorted(c for c in status_codes(store)[1] if c not in TRUST_CODES)
    if not bad and store.get("validation_state") == "Invalid":
        return ["validation_state.Invalid"]
    return bad


def status_codes(store: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(success codes, failure codes) of the active manifest's validation."""
    active = (store.get("validation_results") or {}).get("activeManifest") or {}
    ok = {c.get("code", "") for c in active.get("success", [])}
    bad = {c.get("code", "") for c in active.get("failure", [])}
    for item in store.get("validation_status") or []:
        code = item.get("code", "")
        if code and code not in ok:
            bad.add(code)
    return ok, bad
