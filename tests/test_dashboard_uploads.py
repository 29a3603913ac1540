"""Uploads: type by content, size limit, temporary folder removed afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from assay.core.imageio import encode
from assay.dashboard import uploads


def test_type_is_read_from_the_content_not_the_name():
    png = encode(np.zeros((8, 8, 3), np.uint8), "png")
    assert uploads.check("photo.jpg", png) == ".png"
    assert uploads.check("clip.bin", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16) == ".mp4"
    with pytest.raises(ValueError, match="evil.png: not an image or video"):
        uploads.check("evil.png", b"#!/bin/sh\necho hi\n")


def test_size_limit_is_refused_with_the_size():
    with pytest.raises(ValueError, match=r"big.jpg: 2\.0 MB is over the 1 MB limit"):
        uploads.check("big.jpg", b"\xff\xd8\xff" + b"\x00" * (2 * 2**20 - 3), max_mb=1)


def test_saved_files_live_in_a_temporary_folder_removed_afterwards():
    png = encode(np.zeros((8, 8, 3), np.uint8), "png")
    with uploads.saved([("../../etc/pass wd.jpg", png, ".png")]) as paths:
        folder = paths[0].parent
        assert paths[0].name == "000-pass_wd.png" and paths[0].read_bytes() == png
    assert not folder.exists()
