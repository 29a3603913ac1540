"""Scans name a record only when the picture matches it: an id copied onto another picture is a claim."""

from __future__ import annotations

import numpy as np

from assay.core.imageio import save
from assay.detect.base import DETECTORS
from assay.detect.scan import scan_paths
from assay.provenance.stamp.files import stamp_file
from assay.provenance.stamp.options import StampOptions
from assay.provenance.verify.report import verify_file
from tests.helpers.images import smooth_image
from tests.helpers.tamper import with_xmp_of


def test_an_unsigned_id_on_another_picture_is_a_claim_not_a_match(ws, tmp_path) -> None:
    save(smooth_image(96, 1), tmp_path / "src.png")
    result, record_id = stamp_file(tmp_path / "src.png", tmp_path / "stamped.png", None,
                                   StampOptions(labels=("xmp",)), ws=ws)
    save(smooth_image(96, 7), tmp_path / "other.png")
    forged = tmp_path / "forged.png"
    forged.write_bytes(with_xmp_of((tmp_path / "other.png").read_bytes(), (tmp_path / "stamped.png").read_bytes()))
    report = verify_file(forged, ws)
    assert report["found_via"] == "xmp" and report["checks"]["record_match"]["status"] == "fail"

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    detector = DETECTORS.create("spectral").fit(images, np.array([0, 1] * 4))
    genuine, copied = (r["provenance"] for r in scan_paths(ws, [tmp_path / "stamped.png", forged],
                                                             detector=detector, record=False))
    assert genuine["record_id"] == record_id and genuine["record_claim"] is None
    assert copied["record_id"] is None and copied["record_claim"] == record_id and copied["found_via"] == "xmp"
    assert copied["record_note"].startswith("claim only: the unsigned XMP id points to record")
