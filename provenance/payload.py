"""Content ids and the watermark payload: a 32-bit id plus a CRC-16 check code, whitened.

The check code makes a random bit string (an image that never had a watermark) decode to
a valid id with probability 2**-16; the whitening mask makes flat images, whose bits
come out all 0 or all 1, fail the check instead of decoding to id 00000000.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

ID_BITS = 32
CHECK_BITS = 16
PAYLOAD_BITS = ID_BITS + CHECK_BITS
_WHITEN = np.unpackbits(np.frombuffer(hashlib.sha256(b"assay watermark payload v1").digest()[:6], np.uint8))


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def check_content_id(content_id: str) -> str:
    """Validate a content id: 8 lowercase hex digits (32 bits)."""
    cid = content_id.lower()
    if len(cid) != ID_BITS // 4 or any(c not in "0123456789abcdef" for c in cid):
        raise ValueError(f"content id must be {ID_BITS // 4} hex digits, got {content_id!r}")
    return cid


def random_content_id() -> str:
    return secrets.token_hex(ID_BITS // 8)


def sample_content_id(checkpoint_sha256: str, seed: int, latent_index: int) -> str:
    """The id of a generated sample: the same checkpoint, seed and latent index give the same id."""
    key = f"{checkpoint_sha256}:{int(seed)}:{int(latent_index)}".encode()
    return hashlib.sha256(key).hexdigest()[: ID_BITS // 4]


def encode_payload(content_id: str) -> np.ndarray:
    """The 48 watermark bits (0/1 uint8) for a content id."""
    raw = bytes.fromhex(check_content_id(content_id))
    data = raw + crc16(raw).to_bytes(2, "big")
    return np.unpackbits(np.frombuffer(data, np.uint8)) ^ _WHITEN


def decode_payload(bits: np.ndarray) -> str | None:
    """The content id carried by 48 bits, or None when the check code does not match."""
    bits = np.asarray(bits, np.uint8).reshape(-1)
    if bits.size != PAYLOAD_BITS:
        raise ValueError(f"expected {PAYLOAD_BITS} bits, got {bits.size}")
    data = np.packbits(bits ^ _WHITEN).tobytes()
    raw, check = data[: ID_BITS // 8], int.from_bytes(data[ID_BITS // 8:], "big")
    return raw.hex() if crc16(raw) == check else None
