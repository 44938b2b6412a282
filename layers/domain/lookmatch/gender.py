"""Gender of the main person: from the aligned face, else from the body (and then less sure).

Face path: MediaPipe's face detector in the head box (lookmatch.face), the face aligned to a
32x32 chip the way dlib's get_face_chip (5 points, padding 0.2) places it, then
layers/models/gender_face_int8.tflite (the CC0 dlib/Cydral gender network fine-tuned on UTKFace
chips made by this same code; model card layers/models/gender_face.md).
The chip and its mirror image are both read and their probabilities averaged (a face and its
mirror are the same person; +0.7 point on street-size faces, model card).
A face counts when the detector's score >= FACE_SCORE and the eyes are >= MIN_EYE_DIST pixels
apart in the photo. Both chosen on validation data (model card): UTKFace validation faces shrunk
until the eyes are 6-8 px apart are still found with scores >= 0.6 and read ~94% right (the
street photos of samples/ have 16-19 px and scores 0.85-0.93), while most "faces" the detector
finds in blurred surveillance crops (PETA) score 0.5-0.6 and are read little better than chance.

Body path (back views, tiny or hidden faces): the garment model's body gender head
(GarmentModel.body_gender on the whole-body crop), passed in by the caller so the garment model
runs once per photo. Its score is shrunk towards 0.5 (BODY_SHRINK, fitted on PETA validation so
the mean score matches the body head's accuracy there): a body reading never sounds as sure as a
face reading.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .contract import GENDERS, Labelled
from .face import LEFT_EYE, RIGHT_EYE, Face, FaceDetector, align_face
from .regions import Box
from .runtime import TFLiteModel

MODEL_FILE = "gender_face_int8.tflite"
CHIP = 32
# dlib's 5-point template with padding 0.2 puts the eye centres 0.375 chip widths apart at
# 0.301 of the chip's height (training/gender/README.md derives these).
EYE_Y = 0.301
EYE_DIST = 0.375
# Align at 4x and shrink with pixel averaging: dlib blurs through an image pyramid before
# sampling; a direct bilinear warp from a large face to 32 px would alias.
OVERSAMPLE = 4
FACE_SCORE = 0.6
MIN_EYE_DIST = 6.0  # pixels in the photo
# Fitted on PETA val (`training/gender/evaluate.py --split val`) with the shipped int8 garment
# model: body head 82.4% right on PETA val, mean score 0.888 -> 0.836.
# On street photos the body head is far weaker (57% on ccp test, model card): refit it when the
# garment model changes.
BODY_SHRINK = 0.84


@dataclass(frozen=True)
class GenderReading:
    label: str  # "female" | "male"
    score: float  # probability of the label, in [0.5, 1]
    source: str  # "face" | "body"

    def labelled(self) -> Labelled:
        return Labelled(label=self.label, score=round(self.score, 4))


def eye_distance(face: Face) -> float:
    return float(np.linalg.norm(face.keypoints[LEFT_EYE] - face.keypoints[RIGHT_EYE]))


def face_chip(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The 32x32 RGB uint8 chip the face model reads (training uses this same function)."""
    big = align_face(rgb, face, CHIP * OVERSAMPLE, eye_y=EYE_Y, eye_dist=EYE_DIST)
    return cv2.resize(big, (CHIP, CHIP), interpolation=cv2.INTER_AREA)


def usable_face(faces: list[Face]) -> Face | None:
    """The best face that is sure and large enough to read, or None."""
    for face in faces:  # best score first
        if face.score >= FACE_SCORE and eye_distance(face) >= MIN_EYE_DIST:
            return face
    return None


def shrink(score: float) -> float:
    """A body reading's probability pulled towards 0.5 (it is less sure than a face)."""
    return 0.5 + (score - 0.5) * BODY_SHRINK


class GenderModel:
    """Loads the face detector and the int8 gender model once; `predict` per photo."""

    def __init__(self, model_file: str = MODEL_FILE, num_threads: int = 1,
                 detector: FaceDetector | None = None):
        self.model = TFLiteModel(model_file, num_threads=num_threads)
        self.detector = detector or FaceDetector(num_threads=num_threads)

    def face_probabilities(self, chips: np.ndarray) -> np.ndarray:
        """(N, 32, 32, 3) uint8 chips -> (N, 2) probabilities [female, male], mirror-averaged."""
        out = []
        for chip in chips.astype(np.float32):
            out.append((self.model(chip[None])[0][0] + self.model(chip[None, :, ::-1].copy())[0][0]) / 2)
        return np.stack(out)

    def from_face(self, rgb: np.ndarray, face: Face) -> GenderReading:
        p = self.face_probabilities(face_chip(rgb, face)[None])[0]
        i = int(np.argmax(p))
        # int8 outputs are quantized: keep the score a probability of the chosen label
        return GenderReading(GENDERS[i], float(np.clip(p[i] / p.sum(), 0.5, 1.0)), "face")

    def predict(self, rgb: np.ndarray, head_box: Box | None,
                body: Labelled | None = None) -> GenderReading | None:
        """Gender of the person whose head is `head_box` in the RGB photo.

        `body` is GarmentModel.body_gender(whole-body crop), used only when no usable face is
        found. None when there is neither a face nor a body reading.
        """
        if head_box is not None:
            face = usable_face(self.detector.detect_in_box(rgb, head_box))
            if face is not None:
                return self.from_face(rgb, face)
        if body is None:
            return None
        if body.label not in GENDERS:
            raise ValueError(f"body gender label {body.label!r} is not one of {GENDERS}")
        return GenderReading(body.label, shrink(float(body.score)), "body")


@lru_cache(maxsize=1)
def gender_model() -> GenderModel:
    """One model per process (loaded at import of the Classify handler)."""
    return GenderModel()
