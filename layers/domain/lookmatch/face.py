"""MediaPipe's short-range face detector (BlazeFace) through LiteRT, and face alignment.

Meant for the head crop of the main person (`FaceDetector.detect_in_box`): the model is trained on
faces filling a good part of a 128x128 picture, within about 2 m of the camera.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .pose import decode_ssd, letterbox, ssd_anchors, unletterbox, weighted_nms
from .regions import Box
from .runtime import TFLiteModel

# Keypoint order of the model (the person's own right / left).
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH, RIGHT_EAR, LEFT_EAR = range(6)


@dataclass
class Face:
    box: Box               # in image pixels, clipped to the image
    keypoints: np.ndarray  # (6, 2) x, y in image pixels: right eye, left eye, nose, mouth, ears
    score: float


class FaceDetector:
    SIZE = 128
    STRIDES = [8, 16, 16, 16]

    def __init__(self, score_threshold: float = 0.5, num_threads: int = 1):
        self.model = TFLiteModel("third_party/face_detection_short_range.tflite", num_threads=num_threads)
        self.anchors = ssd_anchors(self.SIZE, self.STRIDES)
        # Outputs are named: find them by name rather than order.
        names = [o["name"] for o in self.model.outputs]
        self._reg = names.index("regressors")
        self._cls = names.index("classificators")
        self.score_threshold = score_threshold

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB image, best score first."""
        height, width = rgb.shape[:2]
        square, scale, pad_x, pad_y = letterbox(rgb, self.SIZE)
        out = self.model(square.astype(np.float32)[None] / 127.5 - 1.0)
        dets = weighted_nms(decode_ssd(out[self._reg][0], out[self._cls][0], self.anchors, self.SIZE,
                                       6, self.score_threshold))
        faces = []
        for d in sorted(dets, key=lambda d: d.score, reverse=True):
            corners = unletterbox(d.box.reshape(2, 2), self.SIZE, scale, pad_x, pad_y).reshape(4)
            box = Box.clipped(*corners, width, height)
            if box is not None:
                kps = unletterbox(d.keypoints, self.SIZE, scale, pad_x, pad_y)
                faces.append(Face(box, kps, d.score))
        return faces

    def detect_in_box(self, rgb: np.ndarray, head: Box, pad: float = 0.25) -> list[Face]:
        """Faces in a head box, given in (and returned in) whole-image pixels.

        The head box is made square around its centre and enlarged by `pad` on each side, so the
        face fills the detector's input as it was trained; parts outside the photo are black.
        """
        cx, cy = head.center
        half = max(head.width, head.height) * (0.5 + pad)
        x0, y0 = int(round(cx - half)), int(round(cy - half))
        side = max(int(round(2 * half)), 1)
        crop = _crop_padded(rgb, x0, y0, side)
        faces = self.detect(crop)
        height, width = rgb.shape[:2]
        out = []
        for f in faces:
            box = Box.clipped(f.box.x0 + x0, f.box.y0 + y0, f.box.x1 + x0, f.box.y1 + y0, width, height)
            if box is not None:
                out.append(Face(box, f.keypoints + (x0, y0), f.score))
        return out


@lru_cache(maxsize=1)
def face_detector() -> FaceDetector:
    """One detector per process, shared by the Pose stage (a turn's check) and the gender model."""
    return FaceDetector()


def _crop_padded(rgb: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """side x side window at (x0, y0), black where it falls outside the image."""
    height, width = rgb.shape[:2]
    out = np.zeros((side, side, 3), dtype=rgb.dtype)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + side, width), min(y0 + side, height)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    return out


def align_face(rgb: np.ndarray, face: Face, size: int, eye_y: float = 0.4,
               eye_dist: float = 0.4) -> np.ndarray:
    """A size x size face with the eyes level, eye_dist*size apart, at height eye_y*size, centred.

    A similarity transform (rotation, uniform scale, shift) from the two eye keypoints; the person's
    right eye lands on the picture's left, as in a frontal photo. Borders replicate the edge.
    """
    right, left = face.keypoints[RIGHT_EYE], face.keypoints[LEFT_EYE]
    dx, dy = left - right
    dist = math.hypot(dx, dy)
    if dist < 1e-6:
        raise ValueError("face keypoints put both eyes at the same point: cannot align")
    scale = eye_dist * size / dist
    angle = math.atan2(dy, dx)  # tilt of the eye line; rotate by -angle to level it
    c, s = math.cos(-angle) * scale, math.sin(-angle) * scale
    mid = (right + left) / 2
    target = np.array([size / 2, eye_y * size])
    # x' = R*s*(x - mid) + target
    matrix = np.array([[c, -s, target[0] - (c * mid[0] - s * mid[1])],
                       [s, c, target[1] - (s * mid[0] + c * mid[1])]], dtype=np.float64)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
