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
runs once per photo. Its score is shrunk towards 0.5 (BODY_SHRINK, fitted on PETA validation
photos so the mean score matches the body head's accuracy there): a body reading alone never
sounds as sure as a face reading. With both a face and a body, `fuse` reads them together.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .contract import GENDERS, Labelled
from .face import LEFT_EYE, RIGHT_EYE, Face, FaceDetector, align_face, face_detector
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
# Fitted on PETA val whole-body crops (`training/fit_body_shrink.py`); refit it when the garment
# model changes, unless the model has trained on val. For run 14 the fit said 1.00 (body head
# 83.8% right there, mean score 0.831: no overconfidence to take out). Kept at 0.90, an earlier
# model's value, so the fallback still reads less sure than the body head alone: the shrunk mean
# score, 0.80, stays within the accuracy's 95% interval on those 235 crops (79-88%). The shipped
# model (run 31) is run 14's recipe refitted on train + val: val cannot fit it, so run 14's value stays.
BODY_SHRINK = 0.90


@dataclass(frozen=True)
class GenderReading:
    label: str  # "female" | "male"
    score: float  # probability of the label, in [0.5, 1]
    source: str  # "face" | "face+body" | "body"

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


def fuse(face: np.ndarray, body: Labelled) -> np.ndarray:
    """[female, male] from the face's probabilities and a body reading, taken as independent
    evidence: their log-odds add (naive Bayes, flat prior), the body's score shrunk first.

    A sure face outweighs the body; an unsure face (p < 0.65: 58% right on street photos, model
    card) is decided by a sure body. No fitted weight: BODY_SHRINK calibrates the body.
    """
    p_face = np.clip(face[1], 1e-6, 1 - 1e-6)  # probabilities are in GENDERS order: female, male
    p_body = shrink(float(body.score))
    p_body = p_body if body.label == "male" else 1.0 - p_body
    log_odds = np.log(p_face / (1 - p_face)) + np.log(p_body / (1 - p_body))
    male = 1.0 / (1.0 + np.exp(-log_odds))
    return np.array([1.0 - male, male])


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

    def predict(self, rgb: np.ndarray, head_box: Box | None,
                body: Labelled | None = None) -> GenderReading | None:
        """Gender of the person whose head is `head_box` in the RGB photo.

        `body` is GarmentModel.body_gender(whole-body crop). With a usable face, the face and the
        body are read together (`fuse`, source "face+body"; "face" without a body reading); with
        none, the body alone, its score shrunk (source "body"). None when there is neither.
        """
        if body is not None and body.label not in GENDERS:
            raise ValueError(f"body gender label {body.label!r} is not one of {GENDERS}")
        face = usable_face(self.detector.detect_in_box(rgb, head_box)) if head_box is not None else None
        if face is not None:
            p = self.face_probabilities(face_chip(rgb, face)[None])[0]
            p = p / p.sum()  # int8 outputs are quantized: keep them probabilities
            if body is not None:
                p = fuse(p, body)
            i = int(np.argmax(p))
            return GenderReading(GENDERS[i], float(np.clip(p[i], 0.5, 1.0)), "face" if body is None else "face+body")
        if body is None:
            return None
        return GenderReading(body.label, shrink(float(body.score)), "body")


@lru_cache(maxsize=1)
def gender_model() -> GenderModel:
    """One model per process (loaded at import of the Classify handler)."""
    return GenderModel(detector=face_detector())
