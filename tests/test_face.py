"""The face detector on the head crops of the real samples, and face alignment."""
import math

import numpy as np
import pytest

from lookmatch.face import LEFT_EYE, RIGHT_EYE, Face, FaceDetector, align_face
from lookmatch.regions import Box


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


def test_face_found_in_the_head_box_of_every_sample(detector, sample_readings):
    # every sample faces the camera
    for path, rgb, r in sample_readings:
        head = r.boxes["head"]
        faces = detector.detect_in_box(rgb, head)
        assert faces, path.name
        f = faces[0]
        assert f.score > 0.6
        # the face lies in the head box, and is a good part of it
        cx, cy = f.box.center
        assert head.x0 <= cx <= head.x1 and head.y0 <= cy <= head.y1, path.name
        assert 0.15 < f.box.area / head.area < 1.0
        assert f.keypoints.shape == (6, 2)
        # frontal: the person's right eye on the picture's left, both eyes above the mouth
        assert f.keypoints[RIGHT_EYE, 0] < f.keypoints[LEFT_EYE, 0]
        assert f.keypoints[[RIGHT_EYE, LEFT_EYE], 1].max() < f.keypoints[3, 1]


def test_no_face_in_a_blank_picture(detector):
    assert detector.detect(np.full((200, 200, 3), 90, np.uint8)) == []
    # a head box at the picture's edge pads with black rather than failing
    assert detector.detect_in_box(np.full((50, 50, 3), 90, np.uint8), Box(x0=0, y0=0, x1=20, y1=30)) == []


def test_align_puts_the_eyes_where_asked():
    # synthetic picture: two dots for eyes on a tilted line
    img = np.zeros((200, 200, 3), np.uint8)
    right, left = np.array([70.0, 110.0]), np.array([130.0, 80.0])
    for x, y in (right, left):
        img[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    face = Face(Box(x0=50, y0=50, x1=150, y1=150), np.array([right, left, [0, 0], [0, 0], [0, 0], [0, 0]]), 1.0)
    out = align_face(img, face, 100, eye_y=0.4, eye_dist=0.4)
    assert out.shape == (100, 100, 3)
    bright = np.argwhere(out[..., 0] > 128)
    left_half, right_half = bright[bright[:, 1] < 50], bright[bright[:, 1] >= 50]
    ry, rx = left_half.mean(0)
    ly, lx = right_half.mean(0)
    assert abs(ry - 40) < 1.5 and abs(ly - 40) < 1.5  # level, at 0.4 of the height
    assert abs(rx - 30) < 1.5 and abs(lx - 70) < 1.5  # 0.4 of the width apart, centred


def test_aligned_real_face_is_level(detector, sample_readings):
    _, rgb, r = sample_readings[2]
    face = detector.detect_in_box(rgb, r.boxes["head"])[0]
    aligned = align_face(rgb, face, 128, eye_y=0.42, eye_dist=0.36)
    again = detector.detect(aligned)
    assert again, "the aligned face should still be a face"
    re, le = again[0].keypoints[RIGHT_EYE], again[0].keypoints[LEFT_EYE]
    assert abs(math.degrees(math.atan2(le[1] - re[1], le[0] - re[0]))) < 6
    assert abs((re[1] + le[1]) / 2 - 0.42 * 128) < 8


def test_align_refuses_degenerate_eyes():
    face = Face(Box(x0=0, y0=0, x1=10, y1=10), np.zeros((6, 2)), 1.0)
    with pytest.raises(ValueError, match="eyes"):
        align_face(np.zeros((10, 10, 3), np.uint8), face, 32)
