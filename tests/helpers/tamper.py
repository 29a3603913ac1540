"""A corpus of tampered C2PA files, made from a signed PNG, JPEG or WebP the way an attacker would.

Each tamper edits the manifest's JUMBF inside the file's own container (PNG ``caBX`` chunk,
JPEG APP11 segments, WebP ``C2PA`` chunk) and rewrites the container correctly (chunk
lengths, CRCs, RIFF size), so that only the C2PA validation can tell.
"""

from __future__ import annotations

import struct
import zlib
from typing import Callable

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, i = [], len(PNG_SIG)
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        out.append((data[i + 4:i + 8], data[i + 8:i + 8 + n]))
        i += 12 + n
    return out


def _png_join(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return PNG_SIG + b"".join(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
                              for kind, body in chunks)


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, i = [], 12
    while i < len(data):
        kind, (n,) = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])
        out.append((kind, data[i + 8:i + 8 + n]))
        i += 8 + n + (n & 1)
    return out


def _webp_join(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(kind + struct.pack("<I", len(b)) + b + (b"\0" if len(b) & 1 else b"") for kind, b in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The marker segments before the scan, and the rest of the file from the start-of-scan marker."""
    out, i = [], 2
    while data[i + 1] != 0xDA:
        marker, (n,) = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])
        out.append((marker, data[i + 4:i + 2 + n]))
        i += 2 + n
    return out, data[i:]


def _jpeg_join(segments: list[tuple[int, bytes]], rest: bytes) -> bytes:
    return b"\xff\xd8" + b"".join(bytes([0xFF, m]) + struct.pack(">H", len(b) + 2) + b for m, b in segments) + rest


# the JUMBF of a file and the file rebuilt around another JUMBF, per format
def jumbf(data: bytes, fmt: str) -> bytes:
    """The manifest store's JUMBF bytes inside a PNG, JPEG or WebP file."""
    if fmt == "png":
        return next(b for k, b in _png_chunks(data) if k == b"caBX")
    if fmt == "webp":
        return next(b for k, b in _webp_chunks(data) if k == b"C2PA")
    parts = [b for m, b in _jpeg_segments(data)[0] if m == 0xEB and b[:2] == b"JP"]
    # first segment: CI, En, Z, then the box; later ones repeat the box's LBox/TBox before the continuation
    return parts[0][8:] + b"".join(p[16:] for p in parts[1:])


def with_jumbf(data: bytes, fmt: str, store: bytes, position: int | None = None) -> bytes:
    """``data`` with its manifest replaced by ``store`` (and moved to container position ``position`` when given)."""
    if fmt in ("png", "webp"):
        kind = b"caBX" if fmt == "png" else b"C2PA"
        chunks = (_png_chunks if fmt == "png" else _webp_chunks)(data)
        at = next(i for i, (k, _) in enumerate(chunks) if k == kind)
        chunks = [c for c in chunks if c[0] != kind]
        chunks.insert(at if position is None else position, (kind, store))
        return (_png_join if fmt == "png" else _webp_join)(chunks)
    segments, rest = _jpeg_segments(data)
    at = next(i for i, (m, b) in enumerate(segments) if m == 0xEB and b[:2] == b"JP")
    segments = [s for s in segments if not (s[0] == 0xEB and s[1][:2] == b"JP")]
    head, box_head, size = b"JP" + b"\x02\x11", store[:8], 65000
    pieces = [store[:size]] + [box_head + store[i:i + size] for i in range(size, len(store), size)]
    app11 = [(0xEB, head + struct.pack(">I", z + 1) + piece) for z, piece in enumerate(pieces)]
    at = at if position is None else position
    return _jpeg_join(segments[:at] + app11 + segments[at:], rest)


def _flip_byte_in(store: bytes, marker: bytes, offset: int) -> bytes:
    """One byte changed ``offset`` bytes after ``marker`` in the store, length kept."""
    i = store.index(marker) + offset
    return store[:i] + bytes([store[i] ^ 0x01]) + store[i + 1:]


def assertion_bytes(data: bytes, fmt: str, other: bytes) -> bytes:
    """The CAWG training-and-mining entries flipped from ``notAllowed`` to ``allowed``, length and CBOR kept."""
    # {"use": "notAllowed"} -> {"use": "allowed", "x": ""}: 16 bytes of well-formed CBOR either way
    entry, flipped = b"\xa1cusejnotAllowed", b"\xa2cusegallowed\x61x\x60"
    return with_jumbf(data, fmt, jumbf(data, fmt).replace(entry, flipped))


def hashed_uri(data: bytes, fmt: str, other: bytes) -> bytes:
    """One byte of the labels assertion (the content id) changed, so its hashed URI in the claim no longer matches."""
    return with_jumbf(data, fmt, _flip_byte_in(jumbf(data, fmt), b"content_id", 12))


def _swap_after(items: list, is_manifest: Callable[[object], bool]) -> list:
    """``items`` with the first two neighbours past the first item, neither of them the manifest, swapped."""
    i = next(i for i in range(1, len(items) - 1) if not is_manifest(items[i]) and not is_manifest(items[i + 1]))
    return items[:i] + [items[i + 1], items[i]] + items[i + 2:]


def reordered(data: bytes, fmt: str, other: bytes) -> bytes:
    """Two neighbouring boxes of the container that the data hash covers swapped (the file still decodes)."""
    if fmt == "jpg":
        segments, rest = _jpeg_segments(data)
        return _jpeg_join(_swap_after(segments, lambda s: s[0] == 0xEB), rest)
    kind = b"caBX" if fmt == "png" else b"C2PA"
    chunks = (_png_chunks if fmt == "png" else _webp_chunks)(data)
    return (_png_join if fmt == "png" else _webp_join)(_swap_after(chunks, lambda c: c[0] == kind))


def transplanted(data: bytes, fmt: str, other: bytes) -> bytes:
    """The manifest of ``other`` (another signed file of the same format) put into this one."""
    return with_jumbf(data, fmt, jumbf(other, fmt))


def truncated(data: bytes, fmt: str, other: bytes) -> bytes:
    """The manifest's JUMBF cut to its first half (the container's lengths fixed up)."""
    store = jumbf(data, fmt)
    return with_jumbf(data, fmt, store[:len(store) // 2])


#: name -> tamper(signed bytes, format, another signed file's bytes) -> tampered bytes
TAMPERS: dict[str, Callable[[bytes, str, bytes], bytes]] = {
    "assertion_bytes": assertion_bytes, "hashed_uri": hashed_uri, "reordered": reordered,
    "transplanted": transplanted, "truncated": truncated}


def with_xmp_of(png: bytes, donor: bytes) -> bytes:
    """The PNG ``png`` carrying the XMP packet (``iTXt`` chunk) of the PNG ``donor``: someone else's unsigned id."""
    xmp = [c for c in _png_chunks(donor) if c[0] == b"iTXt"]
    chunks = [c for c in _png_chunks(png) if c[0] != b"iTXt"]
    return _png_join(chunks[:1] + xmp + chunks[1:])
