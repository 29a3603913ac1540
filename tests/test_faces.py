import cv2
import numpy as np
import pytest

from assay.core import face_finders, faces
from assay.core.errors import UnknownNameError
from assay.core.imageio import decode


def test_similarity_transform_recovers_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, size=(5, 2))
    angle, scale, shift = np.deg2rad(23), 1.7, np.array([12.0, -4.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    m = faces.similarity_transform(src, dst)
    assert np.allclose(m[:, :2], rot, atol=1e-9) and np.allclose(m[:, 2], shift, atol=1e-9)


def _five_points(left_eye, right_eye, nose, half_width=6.0):
    """dlib-style 5 points (two corners per eye, then nose) around given eye centres."""
    d = (right_eye - left_eye) / np.linalg.norm(right_eye - left_eye) * half_width
    return np.array([right_eye + d, right_eye - d, left_eye - d, left_eye + d, nose])


def test_align_puts_drawn_eyes_and_nose_on_the_template():
    # a tilted, off-centre "face": three coloured dots at known eye and nose positions
    img = np.full((300, 260, 3), 90, np.uint8)
    centre, angle, dist = np.array([140.0, 150.0]), np.deg2rad(-18), 70.0
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    left = centre + rot @ np.array([-dist / 2, 0])
    right = centre + rot @ np.array([dist / 2, 0])
    nose = centre + rot @ np.array([0, dist * (0.61 - 0.42) / 0.34])
    for point, colour in [(left, (255, 0, 0)), (right, (0, 255, 0)), (nose, (0, 0, 255))]:
        cv2.circle(img, tuple(int(round(v)) for v in point), 4, colour, -1)
    size = 128
    out, matrix = faces.align(img, _five_points(left, right, nose), size)
    assert out.shape == (size, size, 3)
    for channel, expected in zip(range(3), faces.TEMPLATE * size):
        others = [c for c in range(3) if c != channel]
        mask = (out[..., channel] > 170) & (out[..., others[0]] < 80) & (out[..., others[1]] < 80)
        ys, xs = np.nonzero(mask)
        assert len(xs) > 3
        assert np.hypot(xs.mean() - expected[0], ys.mean() - expected[1]) < 1.5
    assert np.allclose(faces.transform_points(matrix, [left, right, nose]), faces.TEMPLATE * size, atol=0.5)


def test_resize_and_center_crop_shapes():
    img = np.zeros((90, 160, 3), np.uint8)
    assert faces.center_crop(img).shape == (90, 90, 3)
    assert faces.resize(faces.center_crop(img), 32).shape == (32, 32, 3)
    assert faces.resize(np.zeros((20, 20, 3), np.uint8), 64).shape == (64, 64, 3)


def test_detect_finds_nothing_on_noise():
    noise = np.random.default_rng(1).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    assert faces.detect_faces(noise) == []


@pytest.mark.shared_data
def test_real_face_is_aligned_to_template(shared_data):
    img = decode(sorted((shared_data / "lfw").glob("real_1*.jpg"))[0])
    h, w = img.shape[:2]
    rotated = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 15, 1.0), (w, h),
                             borderMode=cv2.BORDER_REFLECT_101)
    found = faces.detect_faces(rotated)
    assert found, "no face found in a rotated LFW photo"
    size = 256
    aligned, _ = faces.align(rotated, found[0].landmarks, size)
    again = faces.detect_faces(aligned)
    assert again, "no face found in the aligned output"
    eyes_nose = again[0].eyes_and_nose()
    err = np.linalg.norm(eyes_nose - faces.TEMPLATE * size, axis=1) / size
    assert err.max() < 0.04, f"landmarks off the template by {err.max():.3f} of the side"
    tilt = np.degrees(np.arctan2(*(eyes_nose[1] - eyes_nose[0])[::-1]))
    assert abs(tilt) < 3.0


@pytest.mark.shared_data
def test_embedding_separates_people_and_matches_a_person(shared_data):
    paths = sorted((shared_data / "lfw").glob("real_*.jpg"))[:2]
    vecs = []
    for p in paths:
        img = decode(p)
        f = faces.detect_faces(img)[0]
        vecs.append(faces.embed(img, f.landmarks, f.box))
        flipped = np.ascontiguousarray(img[:, ::-1])
        ff = faces.detect_faces(flipped)[0]
        vecs.append(faces.embed(flipped, ff.landmarks, ff.box))
    assert vecs[0].shape == (128,)
    assert np.linalg.norm(vecs[0] - vecs[1]) < faces.SAME_PERSON_DISTANCE  # same photo mirrored
    assert np.linalg.norm(vecs[0] - vecs[2]) > np.linalg.norm(vecs[0] - vecs[1])


@pytest.mark.shared_data
def test_cnn_detector_agrees_with_hog_on_a_clear_face(shared_data):
    img = decode(shared_data / "lfw" / "real_5.jpg")
    hog, cnn = faces.detect_faces(img, "hog"), face_finders.cnn_faces(img, upsample=0)
    assert hog and cnn
    assert faces.detect_faces(img, "blazeface")[0].landmarks.shape == (5, 2)
    centre = lambda f: np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2])  # noqa: E731
    assert np.linalg.norm(centre(hog[0]) - centre(cnn[0])) < 0.15 * img.shape[1]
    with pytest.raises(UnknownNameError, match="unknown face detector"):
        faces.detect_faces(img, "haar")
