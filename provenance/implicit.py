"""Implicit (metadata) AI labels written as XMP: GB 45438-2025 and California SB 942 items.

GB 45438-2025 asks for an implicit label in file metadata with the fields Label,
ContentProducer, ProduceID, ReservedCode1, ContentPropagator, PropagateID and ReservedCode2.
The names and the XMP carriage follow TC260's metadata practice guide and published
implementations: one ``TC260:AIGC`` property (namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/``)
holding a JSON object. Doubts, noted because the standard's own text was not at hand:
the value "1" for Label ("AI-generated"; "2"/"3" for possibly/suspected) and the use of
the reserved codes as integrity digests are taken from those implementations, not from
the standard itself. ``ReservedCode1`` is a keyed hash (the workspace secret,
:mod:`provenance.keys.secret`) of the content id, the decoded pixels and the producer, so only
the producer can make one that verifies; empty when stamped without a secret. The
propagator fields (``ContentPropagator``, ``PropagateID``, ``ReservedCode2``) are left empty
at creation, for whoever passes the file on.

SB 942 (California AI Transparency Act) asks for a latent disclosure carrying the
provider's name, the system's name and version, the time of creation and a unique id;
there is no normative field naming, so they are written in this suite's namespace
(``assaysb942:``) next to IPTC's ``DigitalSourceType``.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from typing import Any

TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
SB942_NS = "http://ns.assay.dev/sb942/1.0/"
IPTC_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
GB45438_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator", "PropagateID",
                  "ReservedCode2")
SB942_FIELDS = ("Provider", "SystemName", "SystemVersion", "CreateDate", "ContentID")
#: GB 45438 fields that must be non-empty (propagator fields may be empty until the file is passed on)
GB45438_REQUIRED = ("Label", "ContentProducer", "ProduceID")
PNG_XMP_KEY = "XML:com.adobe.xmp"


def label_fields(provider: str, system_name: str, system_version: str, created: str, content_id: str,
                 digital_source_type: str, reserved_code1: str = "") -> dict[str, Any]:
    """The GB 45438 and SB 942 fields for one file at creation (propagator fields empty)."""
    gb = {"Label": "1", "ContentProducer": provider, "ProduceID": content_id, "ReservedCode1": reserved_code1,
          "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}
    sb = {"Provider": provider, "SystemName": system_name, "SystemVersion": system_version, "CreateDate": created,
          "ContentID": content_id}
    return {"gb45438": gb, "sb942": sb, "digital_source_type": digital_source_type}


def build_xmp(fields: dict[str, Any]) -> bytes:
    """An XMP packet carrying the fields made by :func:`label_fields`."""
    ET.register_namespace("x", "adobe:ns:meta/")
    ET.register_namespace("rdf", RDF_NS)
    ET.register_namespace("TC260", TC260_NS)
    ET.register_namespace("assaysb942", SB942_NS)
    ET.register_namespace("Iptc4xmpExt", IPTC_NS)
    root = ET.Element("{adobe:ns:meta/}xmpmeta")
    rdf = ET.SubElement(root, f"{{{RDF_NS}}}RDF")
    desc = ET.SubElement(rdf, f"{{{RDF_NS}}}Description", {f"{{{RDF_NS}}}about": ""})
    ET.SubElement(desc, f"{{{TC260_NS}}}AIGC").text = json.dumps(fields["gb45438"], ensure_ascii=False,
                                                                  separators=(",", ":"))
    for key in SB942_FIELDS:
        ET.SubElement(desc, f"{{{SB942_NS}}}{key}").text = str(fields["sb942"].get(key, ""))
    ET.SubElement(desc, f"{{{IPTC_NS}}}DigitalSourceType").text = fields["digital_source_type"]
    body = ET.tostring(root, encoding="unicode")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' + body + '<?xpacket end="w"?>').encode()


def parse_xmp(packet: bytes | str) -> dict[str, Any]:
    """The label fields found in an XMP packet (missing parts are absent from the result)."""
    text = packet.decode("utf-8", "replace") if isinstance(packet, bytes) else packet
    start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        return {}
    try:
        root = ET.fromstring(text[start:end + len("</x:xmpmeta>")])
    except ET.ParseError:
        return {}
    out: dict[str, Any] = {}
    for desc in root.iter(f"{{{RDF_NS}}}Description"):
        aigc = desc.find(f"{{{TC260_NS}}}AIGC")
        if aigc is None and desc.get(f"{{{TC260_NS}}}AIGC") is not None:
            raw = desc.get(f"{{{TC260_NS}}}AIGC")
        else:
            raw = aigc.text if aigc is not None else None
        if raw:
            try:
                out["gb45438"] = json.loads(raw)
            except json.JSONDecodeError:
                out["gb45438"] = {}
        sb = {k: el.text or "" for k in SB942_FIELDS if (el := desc.find(f"{{{SB942_NS}}}{k}")) is not None}
        if sb:
            out["sb942"] = sb
        dst = desc.find(f"{{{IPTC_NS}}}DigitalSourceType")
        if dst is not None:
            out["digital_source_type"] = dst.text or ""
    return out


def read_xmp(data: bytes) -> bytes | None:
    """The XMP packet embedded in JPEG, PNG or WebP bytes, or None."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            info = im.info
            packet = info.get("xmp") or info.get(PNG_XMP_KEY)
    except Exception:  # an undecodable file has no readable XMP; decode errors are reported elsewhere
        return None
    if packet is None:
        return None
    return packet.encode() if isinstance(packet, str) else bytes(packet)


def check_fields(found: dict[str, Any]) -> dict[str, Any]:
    """Per-regulation completeness of the fields found: {"gb45438": {...}, "sb942": {...}}."""
    gb = found.get("gb45438")
    sb = found.get("sb942")
    if gb is None:
        gb_check = {"status": "absent", "reason": "no GB 45438 labelling metadata (China's implicit label, carried in XMP as the TC260:AIGC entry)"}
    else:
        missing = [k for k in GB45438_FIELDS if k not in gb] + [k for k in GB45438_REQUIRED if k in gb and not gb[k]]
        gb_check = ({"status": "pass", "reason": "all 7 GB 45438 metadata fields present"} if not missing
                    else {"status": "fail", "reason": "GB 45438 metadata missing or empty: " + ", ".join(missing)})
    if sb is None:
        sb_check = {"status": "absent", "reason": "no SB 942 latent disclosure fields"}
    else:
        missing = [k for k in SB942_FIELDS if not sb.get(k)]
        sb_check = ({"status": "pass", "reason": "provider, system, version, time and id present"} if not missing
                    else {"status": "fail", "reason": "GB 45438 metadata missing or empty: " + ", ".join(missing)})
    return {"gb45438": gb_check, "sb942": sb_check}
