"""The three stages of the workflow (Pose, Classify, Recommend) and the failure record.

Pure glue: each stage takes its storage as ports (an object store, the Results table, the
inventory), so the Lambda handlers (functions/*/app.py) are a few lines and the tests can pass
in-memory fakes or the boto3 adapters of `lookmatch.aws` against moto. Only S3 keys travel between
the stages, never images (Step Functions state data is limited to 256 KB).

S3 keys: the photo `uploads/{photo_id}.{jpg|png|webp}`; derived files `derived/{photo_id}/...`.
Progress for the client: while PROCESSING the record's `stage` is "pose", then "classify", then
"recommend" (each with a short `message`); a final record has stage "done".
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, Protocol

from pydantic import BaseModel, Field

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # the API's presigned POST allows no more either
RESULT_TTL_SECONDS = 7 * 24 * 3600  # Results records expire with the photo (privacy)
UPLOAD_KEY = re.compile(r"^uploads/(?P<photo_id>[A-Za-z0-9_-]{1,64})\.(?P<ext>jpg|jpeg|png|webp)$")

NO_PERSON_MESSAGE = "Nobody was found in the photo: upload a photo showing one person, head to knees at least."


class TransientError(RuntimeError):
    """Worth retrying (throttling, a service hiccup): the state machine retries it with backoff."""


class BadUpload(ValueError):
    """The uploaded object cannot be processed (wrong key, too large); never retried."""


# --- ports ----------------------------------------------------------------------------------------
class ObjectStore(Protocol):
    def get_bytes(self, key: str) -> bytes: ...

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...


class ResultsPort(Protocol):
    def update(self, photo_id: str, **fields: Any) -> None:
        """Set fields of the photo's record (creating it if absent)."""


class InventoryPort(Protocol):
    def in_stock(self, gender: str | None, category: str) -> list: ...


# --- the events the state machine sends each function (infra/statemachine.asl.json) -------------
class PoseEvent(BaseModel):
    key: str
    size: int | None = None


class ClassifyEvent(BaseModel):
    photo_id: str
    image_key: str
    pose_key: str


class RecommendEvent(BaseModel):
    photo_id: str
    image_key: str
    reading_key: str
    people_count: int = 1
    annotated_key: str | None = None


class FailureEvent(BaseModel):
    key: str
    error: dict = Field(description="Step Functions' Catch output: {Error, Cause}")


# --- keys -----------------------------------------------------------------------------------------
def photo_id_from_key(key: str) -> str:
    match = UPLOAD_KEY.match(key)
    if not match:
        raise BadUpload(f"unexpected upload key {key!r}: expected uploads/{{photo_id}}.jpg|png|webp")
    return match["photo_id"]


def derived_key(photo_id: str, name: str) -> str:
    return f"derived/{photo_id}/{name}"


# --- stages ---------------------------------------------------------------------------------------
def run_pose_stage(key: str, size: int | None, store: ObjectStore, results: ResultsPort,
                   read_pose: Callable | None = None, annotate: Callable | None = None) -> dict:
    """Mark PROCESSING, decode the photo, find the person, write pose.json and annotated.jpg.

    Nobody in the photo: the record becomes NO_PERSON here (with a message) and `person` is False,
    so the state machine stops without classifying. A bad file raises BadUpload / BadImage.
    """
    from .images import decode_image, encode_jpeg

    if read_pose is None:
        from .pipeline import read_pose
    if annotate is None:
        from .annotate import annotate
    photo_id = photo_id_from_key(key)
    results.update(photo_id, status="PROCESSING", stage="pose", image_key=key, message="Looking for the person")
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise BadUpload(f"file too large: {size:,} bytes (limit {MAX_UPLOAD_BYTES:,})")
    data = store.get_bytes(key)
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadUpload(f"file too large: {len(data):,} bytes (limit {MAX_UPLOAD_BYTES:,})")
    rgb = decode_image(data)
    pose = read_pose(rgb)
    pose_key, annotated_key = derived_key(photo_id, "pose.json"), derived_key(photo_id, "annotated.jpg")
    store.put_bytes(pose_key, pose.model_dump_json().encode(), "application/json")
    store.put_bytes(annotated_key, encode_jpeg(annotate(rgb, pose)), "image/jpeg")
    out = {"photo_id": photo_id, "person": bool(pose.person), "people_count": int(pose.people_count),
           "pose_key": pose_key, "annotated_key": annotated_key}
    if pose.person:
        results.update(photo_id, stage="classify", message="Reading the clothes")
    else:
        record_no_person(photo_id, key, annotated_key, results)
    return out


def record_no_person(photo_id: str, image_key: str, annotated_key: str | None, results: ResultsPort) -> None:
    """The final NO_PERSON record: Pose found nobody, or Classify found the person made up and no
    legs to read in it (pipeline.read_legs_only)."""
    from .contract import Prediction

    results.update(photo_id, status="NO_PERSON", stage="done", message=NO_PERSON_MESSAGE, people_count=0,
                   annotated_key=annotated_key,
                   predictions=json.loads(Prediction(image=image_name(image_key)).to_json_line()),
                   recommendations={"upper": [], "lower": [], "whole": []})


def run_classify_stage(photo_id: str, image_key: str, pose_key: str, store: ObjectStore,
                       classify: Callable | None = None, annotate: Callable | None = None) -> dict:
    """Read the photo and its pose back, classify the regions (from a sharper decode when the
    person is small in the photo: pipeline.picture_to_classify), write reading.json, and redraw
    annotated.jpg with the labels (the Pose stage's picture has the boxes only)."""
    from .images import decode_image, encode_jpeg
    from .pipeline import PoseReading, picture_to_classify

    if classify is None:
        from .pipeline import classify
    if annotate is None:
        from .annotate import annotate
    data = store.get_bytes(image_key)
    rgb = decode_image(data)
    pose = PoseReading.model_validate_json(store.get_bytes(pose_key))
    reading = classify(picture_to_classify(rgb, pose, lambda side: decode_image(data, max_side=side)), pose)
    reading_key = derived_key(photo_id, "reading.json")
    store.put_bytes(reading_key, reading.model_dump_json().encode(), "application/json")
    labels = {region: f"{g.label} {g.score:.2f}" for region in ("upper", "lower", "whole")
              if (g := getattr(reading, region, None)) is not None}
    if getattr(reading, "gender", None) is not None:
        labels["head"] = f"{reading.gender.label} {reading.gender.score:.2f}"
    if not reading.person:  # made up (no upper body, no legs to read) or a garment hung up: no skeleton
        pose = pose.model_copy(update={"person": False, "landmarks": [], "boxes": dict.fromkeys(pose.boxes)})
    elif getattr(reading, "legs_only", False):  # made up too, but its whole-body box holds the legs read
        boxes = dict.fromkeys(pose.boxes) | {"lower": pose.boxes.get("whole")}
        pose = pose.model_copy(update={"landmarks": [], "boxes": boxes})
    elif getattr(reading, "lower", None) is None and pose.boxes.get("lower") is not None:
        # the lower-garment check found no garment in that box (a photo cut at the waist): not drawn
        pose = pose.model_copy(update={"boxes": pose.boxes | {"lower": None}})
    store.put_bytes(derived_key(photo_id, "annotated.jpg"), encode_jpeg(annotate(rgb, pose, labels)), "image/jpeg")
    return {"reading_key": reading_key}


def run_recommend_stage(photo_id: str, image_key: str, reading_key: str, store: ObjectStore,
                        results: ResultsPort, inventory: InventoryPort, *,
                        people_count: int = 1, annotated_key: str | None = None,
                        load_reading: Callable[[bytes], Any] | None = None,
                        recommend: Callable | None = None, top_k: int = 3) -> dict:
    """Rank in-stock items for what the person wears and write the DONE record in one update."""
    if load_reading is None:
        from .pipeline import Reading

        load_reading = Reading.model_validate_json
    from .recommend import stale_items

    if recommend is None:
        from .recommend import recommend
    reading = load_reading(store.get_bytes(reading_key))
    if not reading.person:
        record_no_person(photo_id, image_key, annotated_key, results)
        return {"status": "NO_PERSON", "recommended": 0, "stale_items": 0}
    results.update(photo_id, stage="recommend", message="Finding matching items")
    gender = reading.gender.label if reading.gender is not None else None
    categories = {g.label for g in (reading.upper, reading.lower, reading.whole) if g is not None}
    candidates = {category: inventory.in_stock(gender, category) for category in sorted(categories)}
    recommendations = recommend(reading, candidates, top_k=top_k)
    colours = {region: _plain(g.colour) for region in ("upper", "lower", "whole")
               if (g := getattr(reading, region)) is not None and getattr(g, "colour", None) is not None}
    prediction = reading.prediction(image_name(image_key))
    found = sum(len(v) for v in recommendations.values())
    message = f"{found} matching item(s) found"
    if stale := stale_items(reading, candidates):
        message += (f"; {stale} item(s) were embedded by another garment model and ranked by colour "
                    "only: import the catalog again (lookmatch inventory import)")
    results.update(photo_id, status="DONE", stage="done", message=message,
                   predictions=json.loads(prediction.to_json_line()), colours=colours,
                   recommendations=recommendations, people_count=people_count,
                   annotated_key=annotated_key)
    return {"status": "DONE", "recommended": found, "stale_items": stale}


def record_failure(key: str, error: dict, results: ResultsPort) -> dict:
    """The Catch of every task lands here: the record says FAILED and why.

    `error` is Step Functions' {"Error": name, "Cause": text}; for a Lambda error the cause is the
    function's JSON error (errorType, errorMessage, stackTrace), reduced here to one clear line.
    """
    stem = PurePosixPath(key).stem
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", stem):
        return {"recorded": False, "reason": f"no photo id in key {key!r}"}
    message = failure_message(error)
    results.update(stem, status="FAILED", stage="done", message=message, error=str(error.get("Error", "Unknown")))
    return {"recorded": True, "photo_id": stem, "message": message}


def failure_message(error: dict) -> str:
    name, cause = str(error.get("Error", "Unknown")), error.get("Cause") or ""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        name, cause = parsed.get("errorType", name), parsed["errorMessage"]
    text = f"{name}: {cause}" if cause else name
    return text if len(text) <= 500 else text[:497] + "..."


# --- small helpers --------------------------------------------------------------------------------
def image_name(key: str) -> str:
    return PurePosixPath(key).name


def _plain(colour: Any) -> dict:
    return dict(colour) if isinstance(colour, dict) else {"name": colour.name, "hex": colour.hex}
