import numpy as np
import pytest

from assay.core import face_finders
from assay.core.imageio import decode
from assay.detect.regions import find_regions_batch
from assay.detect.scan import Scanner, ScanOptions

LFW = [f"real_{i}.jpg" for i in range(6)]


def _iou(a, b) -> float:
    return float(face_finders.iou(np.array(a, float), np.array([b], float))[0])


@pytest.mark.shared_data
def test_blazeface_finds_hogs_faces_with_boxes_in_hogs_layout(shared_data):
    images = [decode(shared_data / "lfw" / name) for name in LFW]
    found = face_finders.find_faces(images, "blazeface")
    matched = total = 0
    for image, faces in zip(images, found):
        for ref in face_finders.hog_faces(image):
            total += 1
            matched += any(_iou(f.box, ref.box) > 0.6 for f in faces)
    assert total >= 5 and matched >= total - 1
    # one batch gives the same faces as one image at a time
    assert [[f.box for f in fs] for fs in found] == [[f.box for f in face_finders.find_blazeface([im])[0]]
                                                    for im in images]


def test_crop_finder_and_auto_take_an_aligned_crop_whole():
    image = np.zeros((96, 100, 3), np.uint8)
    assert face_finders.find_faces([image], "crop")[0] == [face_finders.FoundFace((0, 0, 100, 96), 1.0)]
    centred = [face_finders.FoundFace((20, 20, 80, 80), 0.9)]
    assert face_finders.looks_like_crop(image, centred)
    assert not face_finders.looks_like_crop(image, [face_finders.FoundFace((0, 0, 30, 30), 0.9)])  # small, off centre
    assert not face_finders.looks_like_crop(np.zeros((50, 100, 3), np.uint8), centred)  # not square
    assert not face_finders.looks_like_crop(image, centred * 2)  # two faces
    region = find_regions_batch([image], face_detector="crop")[0][0]
    assert region.kind == "face" and region.crop_box == (0, 0, 100, 96)


class MeanDetector:
    """Scores a crop by its mean brightness (a detector whose score depends on every pixel)."""

    name = "mean"
    domain = None

    def scores(self, images):
        return np.array([float(im.mean()) / 255.0 for im in images]), None

    def view(self, image):
        return image


@pytest.mark.shared_data
def test_a_batch_scores_exactly_as_files_one_at_a_time(shared_data, tmp_path):
    paths = [shared_data / "lfw" / name for name in LFW] + [tmp_path / "broken.jpg"]
    paths[-1].write_bytes(b"not a jpeg")
    scanner = Scanner(MeanDetector(), ScanOptions(provenance=False))
    items = [{"index": i, "path": str(p), "problem": None} for i, p in enumerate(paths)]
    batched = scanner.scan_batch(items)
    single = [scanner.scan_file(p, i) for i, p in enumerate(paths)]
    assert [r["status"] for r in batched] == ["ok"] * len(LFW) + ["error"]
    assert batched[-1]["error"] == single[-1]["error"]
    for a, b in zip(batched, single):
        assert [r["probability"] for r in a["regions"]] == [r["probability"] for r in b["regions"]]
        assert [r["box"] for r in a["regions"]] == [r["box"] for r in b["regions"]]
    assert batched[0]["provenance"]["checked"] is False
