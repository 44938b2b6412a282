"""The stage handlers (functions/*/app.py) called directly with the state machine's events, against
moto (the local stack's bucket and tables, built from the template); the aws.py adapters; and the
stage glue of lookmatch.stages with in-memory fakes."""
from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from PIL import Image
from pydantic import ValidationError

from lookmatch import stages
from lookmatch.aws import InventoryTable, ResultsTable, S3Store, Settings, embedding_from_bytes
from lookmatch.config import REPO_ROOT
from lookmatch.contract import Colour
from lookmatch.inventory import InventoryItem
from lookmatch.local_stack import LocalStack
from lookmatch.pipeline import PoseReading


@pytest.fixture(scope="module")
def stack():
    import boto3

    with LocalStack() as s:
        # Here the handlers are called directly: keep uploads from also starting the workflow.
        boto3.client("events").disable_rule(Name=s.resources["WorkflowPhotoUploaded"])
        yield s


def load_event(name: str) -> dict:
    """An event fixture of events/ (the payloads the state machine sends each function)."""
    return json.loads((REPO_ROOT / "events" / f"{name}.json").read_text())


def state_input(parameters: dict, document: dict) -> dict:
    """Step Functions' Parameters with "key.$": "$.a.b" paths, applied to a state's input."""
    out = {}
    for key, value in parameters.items():
        if key.endswith(".$"):
            node = document
            for part in value.removeprefix("$.").split("."):
                node = node[part]
            out[key[:-2]] = node
        else:
            out[key] = value
    return out


def test_event_fixtures_are_what_the_state_machine_sends():
    states = json.loads((REPO_ROOT / "infra" / "statemachine.asl.json").read_text())["States"]
    upload = load_event("s3_object_created")  # EventBridge's S3 event, the execution's input
    assert stages.PoseEvent.model_validate(state_input(states["Pose"]["Parameters"]["Payload"], upload)) == \
        stages.PoseEvent.model_validate(load_event("pose"))
    caught = {**upload, "error": load_event("record_failure")["error"]}
    assert state_input(states["RecordFailure"]["Parameters"]["Payload"], caught) == load_event("record_failure")
    after_pose = {**upload, "pose": {"photo_id": "eventsample", "pose_key": "derived/eventsample/pose.json",
                                     "people_count": 1, "annotated_key": "derived/eventsample/annotated.jpg"},
                  "classify": {"reading_key": "derived/eventsample/reading.json"}}
    assert state_input(states["Classify"]["Parameters"]["Payload"], after_pose) == load_event("classify")
    assert state_input(states["Recommend"]["Parameters"]["Payload"], after_pose) == load_event("recommend")


def test_pose_handler_writes_pose_and_annotated_picture(stack, sample_photos):
    event = load_event("pose")
    S3Store(stack.bucket).put_bytes(event["key"], sample_photos[0].read_bytes(), "image/jpeg")
    out = stack.function("PoseFunction")(event)
    assert out == {"photo_id": "eventsample", "person": True, "people_count": out["people_count"],
                   "pose_key": "derived/eventsample/pose.json",
                   "annotated_key": "derived/eventsample/annotated.jpg"}
    pose = PoseReading.model_validate_json(stack.get_bytes(out["pose_key"]))
    assert pose.person and pose.boxes["upper"] is not None
    assert Image.open(io.BytesIO(stack.get_bytes(out["annotated_key"]))).size == (pose.width, pose.height)
    record = stack.record("eventsample")
    assert record["status"] == "PROCESSING" and record["image_key"] == event["key"]  # created without the API
    assert record["stage"] == "classify"  # progress for the page: pose done, classifying next


def test_pose_handler_refuses_a_malformed_event_and_key(stack):
    with pytest.raises(ValidationError):
        stack.function("PoseFunction")({"size": 10})
    with pytest.raises(stages.BadUpload, match="unexpected upload key"):
        stack.function("PoseFunction")({"key": "uploads/../../etc/passwd", "size": 10})


def test_record_failure_handler_writes_failed_with_the_function_error_message(stack):
    out = stack.function("RecordFailureFunction")(load_event("record_failure"))
    assert out["recorded"] is True
    record = stack.record("eventsample")
    assert record["status"] == "FAILED" and record["error"] == "BadImage"
    assert record["message"] == "BadImage: not an image: unrecognised format (19 bytes)"


def test_results_update_keeps_created_at_and_converts_numbers(stack):
    results = ResultsTable(stack.results_table)
    results.update("numbers", status="PROCESSING")
    first = results.get("numbers")
    results.update("numbers", status="DONE", predictions={"gender": {"label": "male", "score": 0.75}},
                   people_count=2)
    record = results.get("numbers")
    assert record["created_at"] == first["created_at"] and record["ttl"] == first["ttl"]
    assert record["predictions"]["gender"]["score"] == 0.75 and record["people_count"] == 2
    assert results.get("no-such-photo") is None


def test_inventory_in_stock_by_gender_and_unisex_without_scan(stack):
    table = InventoryTable(stack.inventory_table)

    def item(sku, gender, stock, category="skirt"):
        return InventoryItem(sku=sku, name=sku, category=category, gender=gender, price="19.99", currency="EUR",
                             stock=stock, image_key=f"inventory/{sku}.jpg", embedding=[0.6, 0.8, 0.0],
                             colour=Colour(name="red", hex="#c0392b"), embedding_model="garments-a")

    for it in (item("F1", "female", 2), item("U1", "unisex", 1), item("M1", "male", 5),
               item("F0", "female", 0), item("F2", "female", 4, "dress")):
        table.put_item(it)
    found = {i.sku: i for i in table.in_stock("female", "skirt")}
    assert set(found) == {"F1", "U1"}
    assert found["F1"].embedding == pytest.approx([0.6, 0.8, 0.0]) and found["F1"].colour.hex == "#c0392b"
    assert found["F1"].embedding_model == "garments-a"
    assert {i.sku for i in table.in_stock(None, "skirt")} == {"F1", "U1", "M1"}
    raw = table.table.get_item(Key={"sku": "F1"})["Item"]
    assert raw["gender_category"] == "female#skirt"  # the GSI key
    assert embedding_from_bytes(raw["embedding"].value) == pytest.approx([0.6, 0.8, 0.0])


def test_throttling_becomes_transient_error_other_errors_do_not():
    class Client:
        def __init__(self, code, status):
            self.error = ClientError({"Error": {"Code": code, "Message": "x"},
                                      "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")

        def get_object(self, **kwargs):
            raise self.error

    with pytest.raises(stages.TransientError):
        S3Store("b", client=Client("SlowDown", 503)).get_bytes("k")
    with pytest.raises(ClientError):
        S3Store("b", client=Client("NoSuchKey", 404)).get_bytes("k")


def test_settings_from_env_say_what_is_missing():
    with pytest.raises(RuntimeError, match="INVENTORY_TABLE, RESULTS_TABLE"):
        Settings.from_env({"UPLOADS_BUCKET": "bucket"})
    s = Settings.from_env({"UPLOADS_BUCKET": "b-1", "INVENTORY_TABLE": "inv", "RESULTS_TABLE": "res"})
    assert (s.uploads_bucket, s.service_name, s.metrics_namespace) == ("b-1", "lookmatch", "LookMatch")


# --- stage glue with in-memory fakes --------------------------------------------------------------
class MemoryStore(dict):
    def get_bytes(self, key):
        return self[key]

    def put_bytes(self, key, data, content_type):
        self[key] = data


class MemoryResults(dict):
    def update(self, photo_id, **fields):
        self.setdefault(photo_id, {}).update(fields)


def test_photo_id_from_key():
    assert stages.photo_id_from_key("uploads/abc-123_X.webp") == "abc-123_X"
    for bad in ("derived/abc.jpg", "uploads/abc.gif", "uploads/a/b.jpg", "uploads/.jpg"):
        with pytest.raises(stages.BadUpload):
            stages.photo_id_from_key(bad)


def test_failure_message_from_lambda_cause_or_plain_cause():
    lam = {"Error": "ValueError", "Cause": json.dumps({"errorType": "ValueError", "errorMessage": "boom"})}
    assert stages.failure_message(lam) == "ValueError: boom"
    assert stages.failure_message({"Error": "States.Timeout", "Cause": "Task timed out"}) == \
        "States.Timeout: Task timed out"
    assert stages.failure_message({"Error": "States.Runtime"}) == "States.Runtime"
    assert len(stages.failure_message({"Error": "E", "Cause": "x" * 2000})) == 500


def test_record_failure_without_a_photo_id_records_nothing():
    results = MemoryResults()
    out = stages.record_failure("uploads/bad name!.jpg", {"Error": "BadUpload"}, results)
    assert out["recorded"] is False and results == {}


def test_pose_stage_refuses_too_large_before_download():
    store, results = MemoryStore(), MemoryResults()  # nothing in the store: it must not be read
    with pytest.raises(stages.BadUpload, match="file too large"):
        stages.run_pose_stage("uploads/big.jpg", stages.MAX_UPLOAD_BYTES + 1, store, results,
                              read_pose=lambda rgb: pytest.fail("decoded a file over the limit"))
    assert results["big"]["status"] == "PROCESSING"  # then RecordFailure makes it FAILED


def test_api_and_record_failure_run_on_the_core_dependencies_layer():
    """Their layer (CoreDependenciesLayer) has no OpenCV, LiteRT or Pillow: importing the handlers
    must not need them (the template gives the other functions the full layer)."""
    import subprocess
    import sys

    code = """
import importlib.util, sys
for blocked in ("cv2", "ai_edge_litert", "tflite_runtime", "PIL"):
    sys.modules[blocked] = None  # import fails, as in the layer
for name in ("api", "record_failure"):
    spec = importlib.util.spec_from_file_location(name, f"functions/{name}/app.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""
    env = {"UPLOADS_BUCKET": "bucket", "INVENTORY_TABLE": "inventory", "RESULTS_TABLE": "results",
           "AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_classify_stage_writes_the_reading_and_redraws_the_picture_with_labels():
    from lookmatch.pipeline import PoseReading

    def labelled(label, score):
        return SimpleNamespace(label=label, score=score)

    class Reading(SimpleNamespace):
        def model_dump_json(self):
            return '{"reading": true}'

    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(buffer, format="JPEG")
    pose = PoseReading(person=True, people_count=1, width=40, height=60, boxes={}, landmarks=[], score=0.9)
    store = MemoryStore({"uploads/p.jpg": buffer.getvalue(), "derived/p/pose.json": pose.model_dump_json().encode()})
    drawn = {}

    def annotate(rgb, pose_reading, labels):
        drawn.update(labels)
        return rgb

    reading = Reading(person=True, gender=labelled("male", 0.875), upper=labelled("shirt", 0.6), lower=None,
                      whole=labelled("separates", 0.7))
    out = stages.run_classify_stage("p", "uploads/p.jpg", "derived/p/pose.json", store,
                                    classify=lambda rgb, p: reading, annotate=annotate)
    assert out == {"reading_key": "derived/p/reading.json"} and store["derived/p/reading.json"] == b'{"reading": true}'
    assert drawn == {"head": "male 0.88", "upper": "shirt 0.60", "whole": "separates 0.70"}
    assert Image.open(io.BytesIO(store["derived/p/annotated.jpg"])).size == (40, 60)


def test_recommend_stage_says_when_the_catalog_was_embedded_by_another_model():
    from lookmatch.garments import GarmentReading
    from lookmatch.pipeline import Reading

    skirt = GarmentReading(label="skirt", score=0.8, embedding=[1.0, 0.0], colour=Colour(name="red", hex="#c0392b"))
    reading = Reading(person=True, people_count=1, lower=skirt, garment_model="garments-new")

    def inventory_of(model):
        item = InventoryItem(sku="S1", name="S1", category="skirt", gender="female", price="19.99", currency="EUR",
                             stock=2, image_key="inventory/S1.jpg", embedding=[1.0, 0.0],
                             colour=Colour(name="red", hex="#c0392b"), embedding_model=model)
        return SimpleNamespace(in_stock=lambda gender, category: [item] if category == "skirt" else [])

    for model, stale in (("garments-old", 1), ("garments-new", 0)):
        store, results = MemoryStore({"derived/p/reading.json": reading.model_dump_json().encode()}), MemoryResults()
        out = stages.run_recommend_stage("p", "uploads/p.jpg", "derived/p/reading.json", store, results,
                                         inventory_of(model))
        assert out == {"status": "DONE", "recommended": 1, "stale_items": stale}
        message = results["p"]["message"]
        assert message.startswith("1 matching item(s) found")
        assert ("import the catalog again" in message) == bool(stale)


def test_a_person_classify_finds_made_up_ends_as_no_person_with_a_picture_without_the_skeleton():
    """Classify can find the pose's person made up (a skeleton in a photo of the legs only:
    GarmentModel.shows_upper_body): the picture is redrawn without it and the record ends
    NO_PERSON, as when Pose finds nobody, not DONE with nothing in it."""
    from lookmatch.pipeline import Reading
    from lookmatch.regions import Box

    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(buffer, format="JPEG")
    pose = PoseReading(person=True, people_count=1, width=40, height=60, boxes={"upper": Box(x0=1, y0=1, x1=9, y1=9)},
                       landmarks=[[5.0, 5.0, 0.9, 0.9]] * 33, score=0.6)
    store = MemoryStore({"uploads/legs.jpg": buffer.getvalue(), "derived/legs/pose.json": pose.model_dump_json().encode()})
    drawn = []
    out = stages.run_classify_stage("legs", "uploads/legs.jpg", "derived/legs/pose.json", store,
                                    classify=lambda rgb, p: Reading(person=False, people_count=0),
                                    annotate=lambda rgb, p, labels=None: drawn.append(p) or rgb)
    assert [(p.person, p.landmarks, p.boxes["upper"]) for p in drawn] == [(False, [], None)]

    results = MemoryResults()
    done = stages.run_recommend_stage("legs", "uploads/legs.jpg", out["reading_key"], store, results,
                                      inventory=SimpleNamespace(in_stock=lambda gender, category: []),
                                      annotated_key="derived/legs/annotated.jpg")
    assert done == {"status": "NO_PERSON", "recommended": 0, "stale_items": 0}
    record = results["legs"]
    assert record["status"] == "NO_PERSON" and record["message"] == stages.NO_PERSON_MESSAGE
    assert record["predictions"]["person"] is False and record["annotated_key"] == "derived/legs/annotated.jpg"


def test_a_photo_of_the_legs_only_ends_done_with_the_lower_garment_alone():
    """Classify can read a made-up skeleton's whole-body box as legs (pipeline.read_legs_only):
    the picture is redrawn with that box as the lower body and no skeleton, and the lower garment
    is recommended for, with no gender to go by (items of every gender)."""
    from lookmatch.garments import GarmentReading
    from lookmatch.pipeline import Reading
    from lookmatch.regions import Box

    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(buffer, format="JPEG")
    whole = Box(x0=2, y0=3, x1=38, y1=58)
    pose = PoseReading(person=True, people_count=1, width=40, height=60,
                       boxes={"upper": Box(x0=1, y0=1, x1=9, y1=9), "whole": whole},
                       landmarks=[[5.0, 5.0, 0.9, 0.9]] * 33, score=0.6)
    store = MemoryStore({"uploads/legs.jpg": buffer.getvalue(), "derived/legs/pose.json": pose.model_dump_json().encode()})
    jeans = GarmentReading(label="jeans", score=0.9, embedding=[1.0, 0.0], colour=Colour(name="blue", hex="#2a4a7a"))
    drawn = []
    out = stages.run_classify_stage("legs", "uploads/legs.jpg", "derived/legs/pose.json", store,
                                    classify=lambda rgb, p: Reading(person=True, people_count=1, legs_only=True,
                                                                    lower=jeans, garment_model="fp"),
                                    annotate=lambda rgb, p, labels=None: drawn.append((p, labels)) or rgb)
    [(picture, labels)] = drawn
    assert picture.landmarks == [] and picture.boxes["upper"] is None and picture.boxes["lower"] == whole
    assert labels == {"lower": "jeans 0.90"}

    asked = []
    item = InventoryItem(sku="J1", name="J1", category="jeans", gender="male", price="49.99", currency="EUR", stock=3,
                         image_key="inventory/J1.jpg", embedding=[1.0, 0.0], colour=Colour(name="blue", hex="#2a4a7a"),
                         embedding_model="fp")
    results = MemoryResults()
    done = stages.run_recommend_stage("legs", "uploads/legs.jpg", out["reading_key"], store, results,
                                      inventory=SimpleNamespace(in_stock=lambda gender, category: asked.append(
                                          (gender, category)) or [item]),
                                      annotated_key="derived/legs/annotated.jpg")
    assert asked == [(None, "jeans")] and done["status"] == "DONE" and done["recommended"] == 1
    record = results["legs"]
    assert record["predictions"] == {"image": "legs.jpg", "person": True, "gender": None, "upper": None,
                                     "lower": {"label": "jeans", "score": 0.9}, "whole": None}
    assert [r["sku"] for r in record["recommendations"]["lower"]] == ["J1"]


def test_a_lower_body_box_with_no_garment_read_in_it_is_not_drawn():
    """The lower-garment check (GarmentModel.shows_lower_garment) drops the lower garment of a
    photo cut at the waist: the annotated picture then shows no lower-body box, and the other
    boxes stay."""
    from lookmatch.garments import GarmentReading
    from lookmatch.pipeline import Reading
    from lookmatch.regions import Box

    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), "white").save(buffer, format="JPEG")
    boxes = {"upper": Box(x0=1, y0=1, x1=30, y1=40), "lower": Box(x0=2, y0=38, x1=30, y1=60),
             "whole": Box(x0=0, y0=0, x1=40, y1=60)}
    pose = PoseReading(person=True, people_count=1, width=40, height=60, boxes=boxes,
                       landmarks=[[5.0, 5.0, 0.9, 0.9]] * 33, score=0.9)
    store = MemoryStore({"uploads/w.jpg": buffer.getvalue(), "derived/w/pose.json": pose.model_dump_json().encode()})
    top = GarmentReading(label="shirt", score=0.8, embedding=[1.0, 0.0], colour=Colour(name="white", hex="#ffffff"))
    drawn = []
    stages.run_classify_stage("w", "uploads/w.jpg", "derived/w/pose.json", store,
                              classify=lambda rgb, p: Reading(person=True, people_count=1, upper=top, garment_model="fp"),
                              annotate=lambda rgb, p, labels=None: drawn.append((p, labels)) or rgb)
    [(picture, labels)] = drawn
    assert picture.boxes["lower"] is None and picture.boxes["upper"] == boxes["upper"] and len(picture.landmarks) == 33
    assert labels == {"upper": "shirt 0.80"}


class NobodyDressed:
    """A Reading with no garment and no gender."""

    person = True
    gender = upper = lower = whole = None

    def model_dump_json(self):
        return "{}"


def test_pose_and_classify_stages_read_a_phone_photo_at_the_same_working_size():
    """pose.json's boxes are in the pixels Pose saw: Classify must crop the same-size picture."""
    from lookmatch.images import WORK_SIDE

    buffer = io.BytesIO()
    Image.new("RGB", (3000, 4000), "white").save(buffer, format="JPEG")  # a portrait phone photo
    store, results = MemoryStore({"uploads/big.jpg": buffer.getvalue()}), MemoryResults()
    seen = []
    pose = PoseReading(person=True, people_count=1, width=750, height=1000, boxes={}, landmarks=[], score=0.9)

    def read_pose(rgb):
        seen.append(rgb.shape)
        return pose

    out = stages.run_pose_stage("uploads/big.jpg", len(buffer.getvalue()), store, results, read_pose=read_pose,
                                annotate=lambda rgb, p, labels=None: rgb)
    stages.run_classify_stage("big", "uploads/big.jpg", out["pose_key"], store,
                              classify=lambda rgb, p: seen.append(rgb.shape) or NobodyDressed(),
                              annotate=lambda rgb, p, labels=None: rgb)
    assert seen == [(WORK_SIDE, 750, 3), (WORK_SIDE, 750, 3)]


def test_classify_stage_crops_a_person_far_away_from_a_larger_decode():
    """A person 250 px tall in the working picture: Classify gets the photo decoded twice as big
    (pipeline.detail_side), and the annotated picture stays at the working size, as pose.json."""
    from lookmatch.images import WORK_SIDE
    from lookmatch.regions import Box

    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), "white").save(buffer, format="JPEG")  # a landscape phone photo
    whole = Box(x0=450, y0=400, x1=530, y1=650)
    pose = PoseReading(person=True, people_count=1, width=WORK_SIDE, height=750,
                       boxes={"whole": whole}, landmarks=[], score=0.9)
    store = MemoryStore({"uploads/far.jpg": buffer.getvalue(), "derived/far/pose.json": pose.model_dump_json().encode()})
    classified, annotated = [], []

    stages.run_classify_stage("far", "uploads/far.jpg", "derived/far/pose.json", store,
                              classify=lambda rgb, p: classified.append(rgb.shape) or NobodyDressed(),
                              annotate=lambda rgb, p, labels=None: annotated.append(rgb.shape) or rgb)
    assert classified == [(1500, 2000, 3)] and annotated == [(750, WORK_SIDE, 3)]
