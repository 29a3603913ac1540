import errno
import io
import os

import numpy as np
import pytest
from PIL import Image

from assay.core import imageio
from assay.core.imageio import ImageError, decode, pixel_sha256
from assay.core.media import IMAGE_EXTS, iter_media


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def gradient(h=40, w=60) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 4, y * 6, (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "RGBA", "LA", "I;16", "RGB"])
def test_every_mode_becomes_8bit_rgb(mode):
    base = Image.fromarray(gradient())
    if mode == "I;16":
        img = Image.fromarray((np.asarray(base.convert("L"), dtype=np.uint16) * 257))
        data = _bytes(img, "PNG")
    else:
        img = base.convert(mode)
        data = _bytes(img, "TIFF" if mode == "CMYK" else "PNG")
    arr = decode(data)
    assert arr.dtype == np.uint8 and arr.shape == (40, 60, 3)
    if mode == "I;16":  # 16-bit scaled down, not clipped
        assert abs(int(arr[..., 0].max()) - int(np.asarray(base.convert("L")).max())) <= 1


def test_rgba_composited_on_white():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    arr = decode(_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert (arr == 255).all()


def test_exif_orientation_is_honoured():
    img = Image.fromarray(gradient(40, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    arr = decode(_bytes(img, "JPEG", exif=exif.tobytes()))
    assert arr.shape == (60, 40, 3)


def test_bad_inputs_get_one_line_reasons(tmp_path):
    good = _bytes(Image.fromarray(gradient()), "JPEG", quality=90)
    cases = {
        "empty.jpg": (b"", "empty file"),
        "trunc.jpg": (good[: len(good) // 2], "truncated"),
        "text.png": (b"hello, not an image\n" * 10, "not an image"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageError, match=reason) as info:
            decode(tmp_path / name)
        assert "\n" not in str(info.value)
    big = _bytes(Image.new("L", (300, 300)), "PNG")
    with pytest.raises(ImageError, match="decompression bomb"):
        decode(big, max_pixels=10_000)
    os.symlink(tmp_path / "b.jpg", tmp_path / "a.jpg")
    os.symlink(tmp_path / "a.jpg", tmp_path / "b.jpg")
    with pytest.raises(ImageError, match="symlink loop"):
        decode(tmp_path / "a.jpg")


def test_permission_denied_reason(tmp_path, monkeypatch):
    path = tmp_path / "locked.jpg"
    path.write_bytes(_bytes(Image.fromarray(gradient()), "JPEG"))
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make the open fail the way the kernel would
        real_open = os.open

        def denied(target, *args, **kwargs):
            if str(target) == str(path):
                raise PermissionError(errno.EACCES, "Permission denied", str(target))
            return real_open(target, *args, **kwargs)
        monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ImageError, match="permission denied"):
        decode(path)


def test_pixel_sha_ignores_encoding_but_not_pixels():
    arr = gradient()
    a = decode(_bytes(Image.fromarray(arr), "PNG", compress_level=1))
    b = decode(_bytes(Image.fromarray(arr), "BMP"))
    assert pixel_sha256(a) == pixel_sha256(b)
    c = arr.copy()
    c[0, 0, 0] ^= 1
    assert pixel_sha256(c) != pixel_sha256(a)


def test_walk_finds_images_and_survives_folder_loops(tmp_path):
    (tmp_path / "x" / "y").mkdir(parents=True)
    for rel in ["a.JPG", "x/b.png", "x/y/c.webp", "x/notes.txt"]:
        (tmp_path / rel).write_bytes(b"x")  # the walker reports empty files; these only need finding
    os.symlink(tmp_path / "x", tmp_path / "x" / "y" / "back")
    found = list(iter_media([tmp_path], recursive=True, exts=IMAGE_EXTS))
    names = [p.name for p, why in found if why is None]
    assert names == ["a.JPG", "b.png", "c.webp"]
    assert [why for _, why in found if why] == ["symlink loop"]
    assert [p.name for p, _ in iter_media([tmp_path], exts=IMAGE_EXTS)] == ["a.JPG"]


def test_encode_round_trip_and_unknown_format():
    arr = gradient()
    assert (decode(imageio.encode(arr, "png")) == arr).all()
    with pytest.raises(ValueError, match="unsupported image format"):
        imageio.encode(arr, "gif")
