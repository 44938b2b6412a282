"""The garment model: label + score + embedding + colour for a body crop; embed() for product photos.

One full-int8 TFLite model (layers/models/garments_int8.tflite, card in layers/models/garments.md,
rebuilt by training/) takes one crop, resized (stretched) to INPUT_SIZE x INPUT_SIZE, NHWC float
RGB in 0..255, and gives five outputs, told apart by their length (the converter's output order is not a
contract): upper logits (5, contract.UPPER order), lower (4, LOWER), whole (3, WHOLE), gender
(2, GENDERS; body-based, meant for the whole-body crop) and an L2-normalised embedding
(EMBEDDING_SIZE) for ranking inventory items by cosine similarity.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict

from .colour import dominant_colour, margins_part
from .config import model_dir
from .contract import GARMENT_LABELS, GENDERS, Colour, Labelled
from .runtime import TFLiteModel

MODEL_FILE = "garments_int8.tflite"
TORSO_CHECK_FILE = "torso_check.json"  # the upper-body check, next to the model (training/fit_torso_check.py)
INPUT_SIZE = 192
EMBEDDING_SIZE = 128
HEAD_CLASSES: dict[str, tuple[str, ...]] = {**GARMENT_LABELS, "gender": GENDERS}


class LinearCheck(BaseModel):
    """A logistic regression's decision: weights . x + bias >= threshold."""

    model_config = ConfigDict(frozen=True)
    threshold: float
    bias: float
    weights: list[float]

    def score(self, x: np.ndarray) -> float | np.ndarray:
        """weights . x + bias, for one example or for each row of a matrix of them."""
        return np.dot(x, self.weights) + self.bias

    def passes(self, x: np.ndarray) -> bool:
        return float(self.score(x)) >= self.threshold


class UpperBodyCheck(LinearCheck):
    """Is the person's upper body in the picture? BlazePose makes up a whole skeleton in a photo
    of the legs only; its "upper body" and "whole body" crops are then crops of legs. A logistic
    regression on the garment model's embeddings of the two crops (`weights`: the upper-body
    crop's embedding, then the whole-body crop's), fitted for one garment model (`garment_model`,
    its fingerprint) by training/fit_torso_check.py; card: layers/models/garments.md ("The
    upper-body check").
    `legs`, on the same embeddings, asks of a skeleton without an upper body: are its crops legs
    (worth reading the lower garment from), or no one at all (a product photo, an object)?
    `lower`, on the lower-body and whole-body crops' embeddings, asks whether the lower-body crop
    shows a lower garment, or a sliver of waistband in a photo cut at the waist ("The
    lower-garment check").
    `product`, on the upper-body and whole-body crops' embeddings, asks of a person found without
    the detector (pose.PoseEstimator.detect_framed) whether the crops show a person or a garment
    laid flat or hung up ("The product check")."""

    garment_model: str
    legs: LinearCheck | None = None
    lower: LinearCheck | None = None
    product: LinearCheck | None = None

    def shows_upper_body(self, upper: list[float] | np.ndarray, whole: list[float] | np.ndarray) -> bool:
        return self.passes(np.concatenate([upper, whole]))

    def shows_legs(self, upper: list[float] | np.ndarray, whole: list[float] | np.ndarray) -> bool:
        return self.legs is not None and self.legs.passes(np.concatenate([upper, whole]))

    def shows_lower_garment(self, lower: list[float] | np.ndarray, whole: list[float] | np.ndarray) -> bool:
        return self.lower is None or self.lower.passes(np.concatenate([lower, whole]))

    def shows_person(self, upper: list[float] | np.ndarray, whole: list[float] | np.ndarray) -> bool:
        return self.product is None or self.product.passes(np.concatenate([upper, whole]))


def load_upper_body_check(fingerprint: str, path: Path | None = None) -> UpperBodyCheck | None:
    """The check fitted for the garment model with this fingerprint; None when there is none (a
    model being evaluated before its check is fitted: every crop then counts as an upper body)."""
    path = path or model_dir() / TORSO_CHECK_FILE
    if not path.is_file():
        return None
    check = UpperBodyCheck.model_validate_json(path.read_text())
    return check if check.garment_model == fingerprint else None


class GarmentReading(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: str
    score: float
    embedding: list[float]
    colour: Colour


# Where in the crop the garment's colour is read, as margins (colour.CENTRE), for the labels that
# do not go with the part the caller passes. Skirts and shorts fill the top of the lower crop (hip
# to ankle); below them are legs and the ground between them.
TOP_BAND = (0.25, 0.02, 0.25, 0.6)
COLOUR_MARGINS = {"skirt": TOP_BAND, "shorts": TOP_BAND}


def to_model_input(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize an (H, W, 3) uint8 crop to (size, size, 3) uint8, aspect NOT kept.

    Stretched, not letterboxed: a whole-body crop is about three times taller than wide, and
    letterboxing left the person ~35 px wide in a 160 px input (measured: much worse on val).
    Training caches exactly this (training/cache_crops.py), so training matches inference.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise ValueError(f"expected an RGB crop (H, W, 3), got shape {rgb.shape}")
    shrink = rgb.shape[0] * rgb.shape[1] > size * size
    return cv2.resize(np.ascontiguousarray(rgb), (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class GarmentModel:
    """Loads the garment model once; every method takes an RGB uint8 crop."""

    def __init__(self, filename: str = MODEL_FILE, num_threads: int = 1, upper_body_check: bool = True):
        self.model = TFLiteModel(filename, num_threads=num_threads)
        sizes = {int(out["shape"][-1]): i for i, out in enumerate(self.model.outputs)}
        wanted = {len(c): head for head, c in HEAD_CLASSES.items()} | {EMBEDDING_SIZE: "embedding"}
        if set(sizes) != set(wanted) or self.model.input_shape != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{self.model.path} is not a garment model: input {self.model.input_shape}, "
                             f"output sizes {sorted(sizes)} (expected {sorted(wanted)})")
        self._index = {wanted[size]: i for size, i in sizes.items()}
        # Which model made an embedding: embeddings of two models live in different spaces, so the
        # inventory's (made at import) and a photo's (made now) compare only under the same one.
        self.fingerprint = hashlib.sha256(self.model.path.read_bytes()).hexdigest()[:16]
        self.upper_body_check = load_upper_body_check(self.fingerprint) if upper_body_check else None

    def shows_upper_body(self, upper: GarmentReading, whole: GarmentReading) -> bool:
        """Do the upper-body and whole-body readings of one person show an upper body (True when
        the model has no check)?"""
        return self.upper_body_check is None or self.upper_body_check.shows_upper_body(upper.embedding, whole.embedding)

    def shows_legs(self, upper: GarmentReading, whole: GarmentReading) -> bool:
        """Of readings without an upper body: are the crops legs, not no one at all (False when the
        model has no check)?"""
        return self.upper_body_check is not None and self.upper_body_check.shows_legs(upper.embedding, whole.embedding)

    def shows_person(self, upper: GarmentReading, whole: GarmentReading) -> bool:
        """Do the upper-body and whole-body readings of a person found without the detector show a
        person, not a garment laid flat or hung up (True when the model has no check)?"""
        return self.upper_body_check is None or self.upper_body_check.shows_person(upper.embedding, whole.embedding)

    def shows_lower_garment(self, lower: GarmentReading, whole: GarmentReading) -> bool:
        """Do one person's lower-body and whole-body readings show a lower garment (True when the
        model has no check)?"""
        return (self.upper_body_check is None
                or self.upper_body_check.shows_lower_garment(lower.embedding, whole.embedding))

    def outputs(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        """All heads for one crop: class probabilities per head, and the unit-length embedding."""
        x = to_model_input(rgb).astype(np.float32)[None]
        raw = self.model(x)
        out = {head: softmax(raw[i][0].astype(np.float32)) for head, i in self._index.items() if head != "embedding"}
        emb = raw[self._index["embedding"]][0].astype(np.float32)
        out["embedding"] = emb / max(float(np.linalg.norm(emb)), 1e-12)  # int8 rounding: renormalise
        return out

    def read(self, crop_rgb: np.ndarray, region: str, colour_part: np.ndarray | None = None) -> GarmentReading:
        """The garment of one body region ("upper", "lower" or "whole") in its crop; its colour is
        read where the boolean mask `colour_part` is true (regions.colour_part), by default (None)
        in the crop's centre."""
        if region not in GARMENT_LABELS:
            raise ValueError(f"unknown region {region!r}; expected one of {tuple(GARMENT_LABELS)}")
        return self.reading_from(self.outputs(crop_rgb), crop_rgb, region, colour_part)

    def body_gender(self, whole_rgb: np.ndarray) -> Labelled:
        """Gender from the whole-body crop (the fallback when no face is found: less sure than a face)."""
        return self.gender_from(self.outputs(whole_rgb))

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        """L2-normalised embedding of any garment picture (inventory product photos, crops)."""
        return self.outputs(rgb)["embedding"]

    @staticmethod
    def gender_from(out: dict[str, np.ndarray]) -> Labelled:
        """The body-based gender in a whole-body crop's `outputs`."""
        return _labelled(out["gender"], GENDERS)

    @staticmethod
    def reading_from(out: dict[str, np.ndarray], rgb: np.ndarray, region: str,
                     colour_part: np.ndarray | None = None) -> GarmentReading:
        """The garment of `region` in the `outputs` of the crop `rgb` (as `read`): one run of the
        model serves every head of a crop, e.g. the whole-body crop's whole-body garment, body-based
        gender and, in a photo of the legs only, lower garment."""
        best = _labelled(out[region], GARMENT_LABELS[region])
        if best.label in COLOUR_MARGINS:
            colour_part = margins_part(rgb.shape, COLOUR_MARGINS[best.label])
        return GarmentReading(label=best.label, score=best.score,
                              embedding=[round(float(v), 5) for v in out["embedding"]],
                              colour=dominant_colour(rgb, colour_part))


def _labelled(probs: np.ndarray, classes: tuple[str, ...]) -> Labelled:
    i = int(probs.argmax())
    return Labelled(label=classes[i], score=round(float(probs[i]), 4))


@lru_cache(maxsize=1)
def garment_model() -> GarmentModel:
    """One model per process (in Lambda: loaded at import of the handler)."""
    return GarmentModel()
