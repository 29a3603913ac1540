"""Implicit XMP label fields and the visible mark."""

from __future__ import annotations

import numpy as np
import pytest

from assay.core.errors import UnknownNameError
from assay.provenance import implicit, visible
from tests.helpers.images import jpeg, smooth_image


def fields() -> dict:
    return implicit.label_fields("assay", "assay", "0.1.0", "2026-01-01T00:00:00+00:00", "deadbeef",
                                 "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")


def test_xmp_round_trip_has_all_gb45438_and_sb942_fields() -> None:
    packet = implicit.build_xmp(fields())
    assert b"TC260:AIGC" in packet and b"<?xpacket" in packet
    found = implicit.parse_xmp(packet)
    assert found == fields()
    assert set(found["gb45438"]) == set(implicit.GB45438_FIELDS)
    assert found["gb45438"]["Label"] == "1" and found["gb45438"]["ProduceID"] == "deadbeef"
    checks = implicit.check_fields(found)
    assert checks["gb45438"]["status"] == "pass" and checks["sb942"]["status"] == "pass"


def test_incomplete_or_missing_fields_fail_or_are_absent() -> None:
    f = fields()
    del f["gb45438"]["ReservedCode1"]
    f["sb942"]["SystemVersion"] = ""
    checks = implicit.check_fields(implicit.parse_xmp(implicit.build_xmp(f)))
    assert checks["gb45438"]["status"] == "fail" and "ReservedCode1" in checks["gb45438"]["reason"]
    assert checks["sb942"]["status"] == "fail" and "SystemVersion" in checks["sb942"]["reason"]
    assert implicit.check_fields({})["gb45438"]["status"] == "absent"
    assert implicit.parse_xmp(b"not xmp") == {}


def test_visible_mark_is_at_least_5_percent_high_and_checks_on_pixels() -> None:
    img = smooth_image(400, 1)
    marked, record = visible.apply_mark(img)
    assert record["text_height_px"] >= 0.05 * 400
    assert record["style"]["text"] == "AI-generated"
    assert visible.check_mark(marked, record)["status"] == "pass"
    assert visible.check_mark(img, record)["status"] == "fail"
    assert visible.check_mark(img, None)["status"] == "absent"
    # survives JPEG 75 and a downscale by half
    assert visible.check_mark(jpeg(marked, 75), record)["status"] == "pass"
    from PIL import Image
    half = np.asarray(Image.fromarray(marked).resize((200, 200), Image.BILINEAR))
    assert visible.check_mark(half, record)["status"] == "pass"


def test_visible_mark_is_found_in_a_reframed_copy() -> None:
    from PIL import Image

    marked, record = visible.apply_mark(smooth_image(128, 4))
    shown = np.asarray(Image.fromarray(marked).resize((160, 160), Image.BILINEAR))
    canvas = np.full((220, 200, 3), 236, np.uint8)
    canvas[40:200, 20:180] = shown
    result = visible.check_mark(canvas, record)
    assert result["status"] == "pass" and "moved to" in result["reason"]
    assert visible.check_mark(np.full((220, 200, 3), 236, np.uint8), record)["status"] == "fail"


def test_small_faces_get_the_short_text_and_positions_are_configurable() -> None:
    marked, record = visible.apply_mark(smooth_image(64, 2), visible.MarkStyle(position="top-left"))
    assert record["style"]["text"] == "AI"
    assert record["box"]["x"] < 8 and record["box"]["y"] < 8
    assert record["text_height_px"] >= 8
    assert visible.check_mark(marked, record)["status"] == "pass"
    with pytest.raises(UnknownNameError, match="bottom-right"):
        visible.apply_mark(smooth_image(64, 2), visible.MarkStyle(position="middle"))


@pytest.mark.parametrize("size", [24, 32, 48])
def test_the_mark_scales_with_a_small_image_and_still_checks(size: int) -> None:
    img = smooth_image(size, 3)
    marked, record = visible.apply_mark(img)
    box = record["box"]
    assert box["width"] * box["height"] <= 0.1 * size * size        # not a quarter of a 32 px face
    assert record["text_height_frac"] >= visible.GB45438_MIN_FRAC
    assert visible.check_mark(marked, record)["status"] == "pass"
    assert visible.check_mark(img, record)["status"] == "fail"


def test_cjk_text_without_a_font_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="font"):
        visible.apply_mark(smooth_image(256, 0), visible.MarkStyle(text="AI生成"))
