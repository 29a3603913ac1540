"""Watermark payload, both watermark methods, "absent" on clean images, the size floor."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from assay.core.errors import UnknownNameError
from assay.provenance import payload, watermark
from tests.helpers.images import jpeg, smooth_image


def test_payload_round_trip_and_check_code() -> None:
    bits = payload.encode_payload("0badc0de")
    assert bits.shape == (48,)
    assert payload.decode_payload(bits) == "0badc0de"
    flipped = bits.copy()
    flipped[5] ^= 1
    assert payload.decode_payload(flipped) is None
    # flat images decode to all-zero or all-one bits: the whitening makes both fail the check
    assert payload.decode_payload(np.zeros(48, np.uint8)) is None
    assert payload.decode_payload(np.ones(48, np.uint8)) is None


def test_sample_content_id_is_reproducible() -> None:
    a = payload.sample_content_id("ab" * 32, 7, 3)
    assert a == payload.sample_content_id("ab" * 32, 7, 3)
    assert a != payload.sample_content_id("ab" * 32, 7, 4)
    assert len(a) == 8 and int(a, 16) >= 0
    with pytest.raises(ValueError, match="hex digits"):
        payload.encode_payload("not-hex!")


@pytest.mark.parametrize("size", [64, 128])
def test_ssgrid_decodes_on_small_faces_and_after_jpeg90(size: int) -> None:
    for seed in range(4):
        img = smooth_image(size, seed)
        marked = watermark.embed_id(img, "deadbeef")
        assert np.abs(marked.astype(int) - img).mean() < 4.0  # invisible-ish: a few grey levels
        assert watermark.read_id(marked).content_id == "deadbeef"
        assert watermark.read_id(jpeg(marked, 90)).content_id == "deadbeef"


def test_ssgrid_survives_downscale_by_half() -> None:
    img = smooth_image(256, 11)
    marked = watermark.embed_id(img, "12345678")
    small = np.asarray(Image.fromarray(marked).resize((128, 128), Image.BICUBIC))
    assert watermark.read_id(small).content_id == "12345678"


def test_dwtdctsvd_round_trip_at_256() -> None:
    img = smooth_image(256, 3)
    marked = watermark.embed_id(img, "cafef00d", "dwtDctSvd")
    assert watermark.read_id(marked, "dwtDctSvd").content_id == "cafef00d"


def test_clean_images_read_absent_not_a_random_id() -> None:
    readings = [watermark.read_id(smooth_image(96, 100 + s)) for s in range(40)]
    assert all(r.status == "absent" and r.content_id is None for r in readings)
    flat = watermark.read_id(np.full((96, 96, 3), 128, np.uint8))
    assert flat.status == "absent" and "flat" in flat.reason


def test_below_the_size_floor_is_reported_too_small() -> None:
    with pytest.raises(watermark.TooSmall):
        watermark.embed_id(smooth_image(48, 0), "deadbeef", "ssgrid")
    with pytest.raises(watermark.TooSmall):
        watermark.embed_id(smooth_image(24, 0), "deadbeef")
    reading = watermark.read_id(smooth_image(24, 0))
    assert reading.status == "too_small" and "too small for a watermark" in reading.reason
    assert watermark.read_id(smooth_image(128, 0), "dwtDctSvd").status == "too_small"


def test_auto_picks_the_method_by_size() -> None:
    assert watermark.choose("auto", (32, 32, 3)) == watermark.choose("auto", (48, 200, 3)) == "ssgrid-small"
    assert watermark.choose("auto", (64, 64, 3)) == watermark.choose("auto", None) == "ssgrid"
    assert watermark.choose("dwtDctSvd", (32, 32, 3)) == "dwtDctSvd"
    assert watermark.read_id(smooth_image(32, 0)).method == "ssgrid-small"


@pytest.mark.parametrize("size", [32, 48])
def test_ssgrid_small_decodes_at_forge_sizes_lossless_and_after_jpeg95(size: int) -> None:
    for seed in range(4):
        img = smooth_image(size, seed)
        marked = watermark.embed_id(img, "deadbeef")
        mse = np.mean((marked.astype(float) - img) ** 2)
        assert 10 * np.log10(255 ** 2 / mse) > 30.0  # PSNR in dB
        reading = watermark.read_id(marked)
        assert (reading.status, reading.method, reading.content_id) == ("found", "ssgrid-small", "deadbeef")
        assert watermark.read_id(marked, "ssgrid").content_id == "deadbeef"  # same decoder as ssgrid
        assert watermark.read_id(jpeg(marked, 95)).content_id == "deadbeef"


def test_clean_32px_images_read_absent() -> None:
    readings = [watermark.read_id(smooth_image(32, 300 + s)) for s in range(40)]
    assert all(r.status == "absent" and r.content_id is None and r.method == "ssgrid-small" for r in readings)


def test_unknown_method_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="ssgrid"):
        watermark.watermark_method("nope")


def test_real_faces_at_forge_sizes(shared_data) -> None:
    files = sorted((shared_data / "utkface").glob("*.jpg"))[:6]
    for i, path in enumerate(files):
        face = np.asarray(Image.open(path).convert("RGB").resize((64, 64), Image.BICUBIC))
        cid = f"{i:08x}"
        marked = watermark.embed_id(face, cid)
        assert watermark.read_id(marked).content_id == cid
        assert watermark.read_id(face).status == "absent"
