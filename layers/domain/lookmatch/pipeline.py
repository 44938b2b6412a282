"""The stages shared by the Lambdas and the command line.

`read_pose` (the Pose stage): an RGB photo -> `PoseReading`, which round-trips through JSON (the
Pose Lambda writes it to S3 next to the photo, Classify reads it back).
`classify` (the Classify stage): photo + PoseReading -> `Reading` (gender, garments with
embeddings and colours), from a sharper decode of the photo when the person is small in it
(`detail_side`). `predict_file`: both, for one file, as the contract's Prediction.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from .contract import GARMENT_REGIONS, Labelled, Prediction
from .face import face_detector
from .garments import GarmentModel, GarmentReading, garment_model
from .gender import GenderModel, gender_model
from .images import WORK_SIDE, BadImage, brightened, load_image
from .pose import Person, PoseEstimator
from .regions import (REGIONS, Box, body_regions, colour_part, hips_in_frame, landmark_box, main_person,
                      upright_turns)


class PoseReading(BaseModel):
    """What the Pose stage saw in one photo.

    person: somebody was found. people_count: how many distinct people the landmark model
    confirmed (at most PoseEstimator.max_people are examined). boxes: head / upper / lower /
    whole / feet of the main person in pixels (None when that part is not in the picture).
    landmarks: the main person's 33 BlazePose landmarks as [x, y, visibility, presence] in image
    pixels. score: the pose detector's confidence for the main person (0 when nobody, or when
    the person was found without the detector: pose.PoseEstimator.detect_framed).
    turns: quarter turns counterclockwise (np.rot90) the photo was given to stand the person
    upright (a photo turned without its EXIF tag); width, height, boxes and landmarks are those of
    the turned photo (`upright` gives it).
    """

    person: bool
    people_count: int
    width: int
    height: int
    boxes: dict[str, Box | None]
    landmarks: list[list[float]]
    score: float
    turns: int = 0

    @property
    def found_without_detector(self) -> bool:
        """The person was found by the framed try (pose.PoseEstimator.detect_framed)."""
        return self.person and self.score == 0.0


# A person small in the working image (a shot from across the street) leaves garment crops and a
# face of a few dozen pixels, enlarged blurry to the models' inputs. Classify then cuts them from a
# sharper decode of the same photo, one where the person is DETAIL_PERSON_HEIGHT px tall (about
# as in the ccp street photos the garment model was trained on, 512 px high), at most
# MAX_DETAIL_SIDE px a side.
DETAIL_PERSON_HEIGHT = 500
MAX_DETAIL_SIDE = 4032


@lru_cache(maxsize=1)
def pose_estimator() -> PoseEstimator:
    """One estimator per process (models load once; in Lambda, at import of the handler)."""
    return PoseEstimator()


def read_pose(rgb: np.ndarray, estimator: PoseEstimator | None = None) -> PoseReading:
    """Find the people in an (H, W, 3) uint8 RGB photo and box the main person's body parts.

    The main person is the one with the largest landmark box weighted by centrality
    (regions.main_person). BlazePose finds a person lying on their side too, but the garment
    model reads people standing: when the main person's shoulders are not above their hips, the
    photo may have been turned without its EXIF tag (`stood_up` decides).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        raise ValueError(f"read_pose needs an (H, W, 3) uint8 RGB array (images.decode_image gives "
                         f"one), got {rgb.dtype} {rgb.shape}")
    estimator = estimator or pose_estimator()
    pose = _reading(estimator.detect(rgb), rgb)
    turns = upright_turns(np.array(pose.landmarks), pose.width, pose.height) if pose.person else 0
    return stood_up(rgb, pose, turns, estimator) if turns else pose


def stood_up(rgb: np.ndarray, pose: PoseReading, turns: int, estimator: PoseEstimator) -> PoseReading:
    """The reading of a photo whose main person does not stand upright in `pose`.

    Either the photo was turned (no EXIF tag) or the landmark model stood an upright person on
    their head: on small pedestrians it can, when the detector points the ROI down (PETA train:
    38 of 1,963 upright photos). The photo turned by `turns` is read again; the turn is kept when
    the person stands in it with a face in their head box (every ccp train photo turned by hand,
    450 of 450, but also 2 of the 38 pedestrians). Otherwise the framed try on the photo as it
    came (`PoseEstimator.detect_framed`) may stand the person up where they are (34 of the other
    36); failing that, the turn is kept if the person stands in it (a back view), else `pose`.
    """
    picture = upright(rgb, turns)
    turned = _reading(estimator.detect(picture), picture)
    stands = turned.person and upright_turns(np.array(turned.landmarks), turned.width, turned.height) == 0
    if stands and turned.boxes["head"] is not None and face_detector().detect_in_box(picture, turned.boxes["head"]):
        return turned.model_copy(update={"turns": turns})
    framed = _reading(estimator.detect_framed(rgb), rgb)
    if framed.person:
        return framed
    return turned.model_copy(update={"turns": turns}) if stands else pose


def _reading(people: list[Person], rgb: np.ndarray) -> PoseReading:
    """The PoseReading of the people found in a picture (PoseEstimator.detect's answer)."""
    height, width = rgb.shape[:2]
    bodies = [landmark_box(p.landmarks, width, height) for p in people]
    main = main_person(bodies, width, height)
    if main is None:
        return PoseReading(person=False, people_count=0, width=width, height=height,
                           boxes=dict.fromkeys(REGIONS), landmarks=[], score=0.0)
    chosen = people[main]
    lm = chosen.landmarks[:, [0, 1, 3, 4]]  # x, y, visibility, presence
    return PoseReading(
        person=True,
        people_count=sum(b is not None for b in bodies),
        width=width,
        height=height,
        boxes=body_regions(lm, width, height),
        landmarks=[[round(float(v), 2) if i < 2 else round(float(v), 4) for i, v in enumerate(row)]
                   for row in lm],
        score=round(chosen.score, 4),
    )


def detail_side(pose: PoseReading) -> int | None:
    """The longer side to decode the photo at for `classify`, or None when the working image
    (the one the pose was read on) will do: the person is big enough in it, or it is the photo
    at full size already (decode_image only shrinks, to at most WORK_SIDE)."""
    body = pose.boxes.get("whole")
    side = max(pose.width, pose.height)
    if not pose.person or body is None or body.height >= DETAIL_PERSON_HEIGHT or side < WORK_SIDE:
        return None
    return min(MAX_DETAIL_SIDE, round(side * DETAIL_PERSON_HEIGHT / body.height))


def upright(rgb: np.ndarray, turns: int) -> np.ndarray:
    """The photo (or a larger decode of it) given `turns` quarter turns counterclockwise; with a
    PoseReading's `turns`, the picture its boxes and landmarks belong to."""
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns % 4 else rgb


def picture_to_classify(rgb: np.ndarray, pose: PoseReading, decode: Callable[[int], np.ndarray]) -> np.ndarray:
    """`rgb` (the working image the pose was read on), or `decode(side)`, the same photo decoded
    at that longer side, when the person is small in it (`detail_side`); turned upright as the
    pose was read (`upright`)."""
    side = detail_side(pose)
    return upright(rgb if side is None else decode(side), pose.turns)


def scaled_boxes(pose: PoseReading, rgb: np.ndarray) -> dict[str, Box | None]:
    """The pose's boxes in `rgb`: the picture the pose was read on, or a larger decode of it."""
    height, width = rgb.shape[:2]
    if (width, height) == (pose.width, pose.height):
        return dict(pose.boxes)
    return {region: None if box is None else box.scaled(width / pose.width, height / pose.height, width, height)
            for region, box in pose.boxes.items()}


# --- Classify ------------------------------------------------------------------------------------
class GenderOut(BaseModel):
    label: str
    score: float
    source: str  # "face" | "face+body" | "body" (a body reading alone is less sure: its score is shrunk)


class Reading(BaseModel):
    """What the Classify stage read off the main person; round-trips through JSON (reading.json).

    Each garment region is None when the pose found no box for it (not in the picture).
    legs_only: the photo shows the legs only (`read_legs_only`): the lower garment was read in the
    pose's whole-body box, and nothing else is in the picture.
    garment_model: the fingerprint of the garment model that made the embeddings
    (GarmentModel.fingerprint).
    """

    person: bool
    people_count: int
    gender: GenderOut | None = None
    upper: GarmentReading | None = None
    lower: GarmentReading | None = None
    whole: GarmentReading | None = None
    garment_model: str | None = None
    legs_only: bool = False  # a photo of the legs only: the lower garment read in the whole-body box

    def prediction(self, image: str) -> Prediction:
        """The label contract of DESIGN.md (no embeddings, colours or sources)."""
        def labelled(x: GenderOut | GarmentReading | None) -> Labelled | None:
            return None if x is None else Labelled(label=x.label, score=x.score)

        return Prediction(image=image, person=self.person, gender=labelled(self.gender),
                          upper=labelled(self.upper), lower=labelled(self.lower), whole=labelled(self.whole))


def classify(rgb: np.ndarray, pose: PoseReading, garments: GarmentModel | None = None,
             gender: GenderModel | None = None) -> Reading:
    """Gender and garments of the main person found by `read_pose` in the same photo; the lower
    garment alone, or nobody (person False), when the crops show no upper body (`read_legs_only`);
    nobody when a person found without the detector (PoseReading.found_without_detector) has crops
    that show a garment hung up or laid flat (GarmentModel.shows_person); no
    lower garment when the lower-body crop shows none (GarmentModel.shows_lower_garment); no
    whole-body garment when the picture stops above the hips (regions.hips_in_frame).

    `rgb` is the picture the pose was read on, or a larger decode of the same photo
    (`detail_side`): the pose's boxes are scaled to it. A dark picture is brightened first
    (images.brightened).
    The models default to the process-wide ones (benchmarks pass others: float, more threads).
    """
    if not pose.person:
        return Reading(person=False, people_count=0)
    garments = garments or garment_model()
    rgb, boxes, crops = garment_crops(rgb, pose)
    readings: dict[str, GarmentReading] = {}
    body_gender = whole_outputs = None
    if "whole" in crops:  # one run gives the whole-body garment and the body-based gender
        whole_outputs = garments.outputs(crops["whole"])
        readings["whole"] = garments.reading_from(whole_outputs, crops["whole"], "whole")
        body_gender = garments.gender_from(whole_outputs)
    height, width = rgb.shape[:2]
    landmarks = np.array(pose.landmarks) * (width / pose.width, height / pose.height, 1, 1)
    for region in ("upper", "lower"):
        if region in crops:
            part = colour_part(landmarks, width, height, boxes[region], region)
            readings[region] = garments.read(crops[region], region, part)
    if (pose.found_without_detector and "upper" in readings
            and not garments.shows_person(readings["upper"], readings["whole"])):
        return Reading(person=False, people_count=0)  # a garment laid flat or hung up
    if "upper" in readings and not garments.shows_upper_body(readings["upper"], readings["whole"]):
        # (the same run also gives the lower garment in the whole-body box: the legs, if any)
        legs = garments.reading_from(whole_outputs, crops["whole"], "lower")
        return read_legs_only(readings["upper"], readings["whole"], legs, pose.people_count, garments)
    if ("lower" in readings and "whole" in readings
            and not garments.shows_lower_garment(readings["lower"], readings["whole"])):
        # A photo cut at the waist: BlazePose squeezes the skeleton into it, knees and all, and the
        # lower-body box is a sliver of waistband, not a garment to name (model card, "The
        # lower-garment check").
        del readings["lower"]
    if "whole" in readings and not hips_in_frame(landmarks, height):
        # A picture cut above the hips: the whole-body box still gives the body-based gender, but
        # whether the person wears a dress or a top and a skirt is not in it.
        del readings["whole"]
    sex = (gender or gender_model()).predict(rgb, boxes.get("head"), body_gender)
    return Reading(person=True, people_count=pose.people_count, garment_model=garments.fingerprint,
                   gender=None if sex is None else GenderOut(label=sex.label, score=round(sex.score, 4),
                                                             source=sex.source),
                   **readings)


def garment_crops(rgb: np.ndarray, pose: PoseReading) -> tuple[np.ndarray, dict[str, Box | None], dict[str, np.ndarray]]:
    """What `classify` reads garments from: the picture (brightened when dark), the pose's boxes
    scaled to it, and the crops of the garment regions that have a box."""
    rgb = brightened(rgb)
    boxes = scaled_boxes(pose, rgb)
    return rgb, boxes, {region: box.crop(rgb) for region in GARMENT_REGIONS if (box := boxes.get(region)) is not None}


# The lower garment read in a photo of the legs only is kept when its model score reaches this
# (chosen on a val study: ccp val photos cut below the hips read 96% right at it, 87% with no bar;
# model card, "The legs check").
LEGS_MIN_SCORE = 0.7


def read_legs_only(upper: GarmentReading, whole: GarmentReading, lower: GarmentReading, people_count: int,
                   garments: GarmentModel) -> Reading:
    """The reading of a skeleton BlazePose made up in a photo of the legs only (its crops show no
    upper body): its head, upper body and gender are not in the picture and its joints are
    guesses, but its whole-body box holds the legs. When the crops are legs, not no one at all
    (GarmentModel.shows_legs), and `lower`, the lower garment read in that box, is sure enough
    (LEGS_MIN_SCORE), that garment alone (`Reading.legs_only`); otherwise nobody, as for a photo
    with no one in it."""
    if garments.shows_legs(upper, whole) and lower.score >= LEGS_MIN_SCORE:
        return Reading(person=True, people_count=people_count, legs_only=True, lower=lower,
                       garment_model=garments.fingerprint)
    return Reading(person=False, people_count=0)


def read_file(path: str | Path, garments: GarmentModel | None = None) -> Reading:
    """One photo file through pose and classify. Raises BadImage or OSError for a file that
    cannot be read as a photo."""
    return classify(*read_file_pose(path), garments)


def read_file_pose(path: str | Path) -> tuple[np.ndarray, PoseReading]:
    """One photo file through pose: the picture to classify (`picture_to_classify`) and its pose."""
    rgb = load_image(path)
    pose = read_pose(rgb)
    return picture_to_classify(rgb, pose, lambda side: load_image(path, max_side=side)), pose


def predict_file(path: str | Path) -> Prediction:
    """`lookmatch predict` for one file: the contract line, or a line that says why it failed."""
    name = str(path)
    try:
        reading = read_file(path)
    except (BadImage, OSError) as error:
        return Prediction(image=name, error=str(error))
    return reading.prediction(name)
