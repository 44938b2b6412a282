"""The state machine of infra/statemachine.asl.json, executed by moto's interpreter, on the local
stack built from infra/template.yaml: S3 upload -> EventBridge -> Step Functions -> the real
handlers (Pose with the real BlazePose models) -> the Results table.

Until `lookmatch.pipeline.classify` / `Reading` exist, Classify and Recommend run the real stage
code with a fake classifier (FakeReading below) injected where the model would be.
"""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from PIL import Image
from pydantic import BaseModel

from lookmatch import pipeline, stages
from lookmatch.config import REPO_ROOT
from lookmatch.contract import Labelled, Prediction
from lookmatch.contract import Colour
from lookmatch.inventory import InventoryItem
from lookmatch.local_stack import LocalStack



def _real_classifier() -> bool:
    """pipeline.classify exists and its models are on disk."""
    from lookmatch.runtime import ModelMissing

    try:
        from lookmatch.garments import garment_model
        from lookmatch.gender import gender_model

        pipeline.classify, pipeline.Reading  # noqa: B018
        garment_model(), gender_model()
    except (ImportError, AttributeError, ModelMissing):
        return False
    return True


REAL_CLASSIFY = _real_classifier()
EMBED = 8  # size of the fake embeddings
FAKE_MODEL = "fake-garments"  # the fake classifier's garment model fingerprint


class FakeGarment(BaseModel):
    label: str
    score: float
    embedding: list[float]
    colour: dict


class FakeReading(BaseModel):
    """The interface of pipeline.Reading that the stages and recommend() use."""

    gender: Labelled | None
    upper: FakeGarment | None
    lower: FakeGarment | None
    whole: FakeGarment | None
    garment_model: str | None = FAKE_MODEL

    def prediction(self, image: str) -> Prediction:
        def plain(g):
            return None if g is None else Labelled(label=g.label, score=g.score)

        return Prediction(image=image, person=True, gender=self.gender, upper=plain(self.upper),
                          lower=plain(self.lower), whole=plain(self.whole))


def unit(i: int) -> list[float]:
    v = np.zeros(EMBED, dtype=np.float32)
    v[i] = 1.0
    return v.tolist()


def fake_classify(rgb, pose) -> FakeReading:
    assert pose.person and rgb.ndim == 3  # it gets the decoded photo and the pose read back
    return FakeReading(
        gender=Labelled(label="female", score=0.9),
        upper=FakeGarment(label="outerwear", score=0.8, embedding=unit(0), colour={"name": "navy", "hex": "#1f2a44"}),
        lower=FakeGarment(label="skirt", score=0.7, embedding=unit(1), colour={"name": "black", "hex": "#111111"}),
        whole=FakeGarment(label="separates", score=0.9, embedding=unit(2), colour={"name": "navy", "hex": "#1f2a44"}),
    )


def item(sku, category, gender, embedding, stock=3) -> InventoryItem:
    return InventoryItem(sku=sku, name=f"Item {sku}", category=category, gender=gender, price="29.90",
                         currency="EUR", stock=stock, image_key=f"inventory/{sku}.jpg", embedding=embedding,
                         colour=Colour(name="navy", hex="#1f2a44"), embedding_model=FAKE_MODEL)


class Calls:
    """Wraps a stack function: counts its invocations, optionally fails first, runs `body`."""

    def __init__(self, body=None, fail_first: Exception | None = None, fail_always: Exception | None = None):
        self.count, self.body, self.fail_first, self.fail_always = 0, body, fail_first, fail_always
        self.lock = threading.Lock()

    def __call__(self, event, context, real):
        with self.lock:
            self.count += 1
            first = self.count == 1
        if self.fail_always is not None:
            raise self.fail_always
        if first and self.fail_first is not None:
            raise self.fail_first
        return (self.body or (lambda e, c: real()(e, c)))(event, context)


def fake_classify_handler(event, context):
    e = stages.ClassifyEvent.model_validate(event)
    from lookmatch.aws import S3Store

    return stages.run_classify_stage(e.photo_id, e.image_key, e.pose_key, S3Store(), classify=fake_classify)


def fake_recommend_handler(event, context):
    e = stages.RecommendEvent.model_validate(event)
    from lookmatch.aws import InventoryTable, ResultsTable, S3Store

    return stages.run_recommend_stage(e.photo_id, e.image_key, e.reading_key, S3Store(), ResultsTable(),
                                      InventoryTable(), people_count=e.people_count,
                                      annotated_key=e.annotated_key, load_reading=FakeReading.model_validate_json)


@pytest.fixture(scope="module")
def stack():
    """The local stack with an inventory: the demo catalog (real embeddings) when the real
    classifier runs, else hand-made items whose embeddings match FakeReading's."""
    with LocalStack() as s:
        from lookmatch.aws import InventoryTable

        if REAL_CLASSIFY:
            catalog = REPO_ROOT / "samples" / "catalog"
            s.import_catalog(catalog / "catalog.csv", catalog / "images", progress=False)
        else:
            table = InventoryTable(s.inventory_table)
            for it in [item("UP-NEAR", "outerwear", "female", unit(0)), item("UP-FAR", "outerwear", "unisex", unit(3)),
                       item("UP-MEN", "outerwear", "male", unit(0)),
                       item("UP-NOSTOCK", "outerwear", "female", unit(0), 0),
                       item("SK-1", "skirt", "female", unit(1)), item("DR-1", "dress", "female", unit(2))]:
                table.put_item(it)
        yield s


@pytest.fixture
def functions(stack):
    """Per test: Classify / Recommend on the fake classifier unless the real one exists; reset after."""
    names = ("PoseFunction", "ClassifyFunction", "RecommendFunction", "RecordFailureFunction")
    for name in names:
        stack.function(name).override = None
    if not REAL_CLASSIFY:
        stack.function("ClassifyFunction").override = lambda e, c, real: fake_classify_handler(e, c)
        stack.function("RecommendFunction").override = lambda e, c, real: fake_recommend_handler(e, c)
    yield {name: stack.function(name) for name in names}
    for name in names:
        stack.function(name).override = None


def wrap(function, calls: Calls) -> Calls:
    """Put `calls` in front of whatever the function runs now (real handler or fake)."""
    inner = function.override
    if inner is not None:
        calls.body = calls.body or (lambda e, c: inner(e, c, None))
    function.override = calls
    return calls


def jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG")
    return out.getvalue()


def test_happy_path_records_done_with_predictions_and_recommendations(stack, functions, sample_photos):
    photo = next(p for p in sample_photos if p.name == "ccp_1065.jpg")
    photo_id = stack.upload(photo)
    record = stack.wait(photo_id, timeout=90)
    assert record["status"] == "DONE", record
    assert record["image_key"] == f"uploads/{photo_id}.jpg" and record["stage"] == "done"
    assert record["people_count"] >= 1 and record["ttl"] > 0 and record["created_at"] <= record["updated_at"]
    Prediction.model_validate(record["predictions"])  # the contract of DESIGN.md
    assert record["predictions"]["person"] is True and record["predictions"]["image"] == f"{photo_id}.jpg"
    assert set(record["recommendations"]) == {"upper", "lower", "whole"}
    # Derived files: the pose (JSON round trip) and a real annotated JPEG of the photo's size.
    pose = pipeline.PoseReading.model_validate_json(stack.get_bytes(f"derived/{photo_id}/pose.json"))
    annotated = Image.open(io.BytesIO(stack.get_bytes(record["annotated_key"])))
    assert pose.person and annotated.format == "JPEG" and annotated.size == (pose.width, pose.height)
    recs = record["recommendations"]
    if REAL_CLASSIFY:
        # The demo catalog has items of every category for every gender: each predicted region gets some.
        pred = record["predictions"]
        wanted = ["whole"] if pred["whole"] and pred["whole"]["label"] in ("dress", "jumpsuit") else \
            [r for r in ("upper", "lower") if pred[r]]
        assert wanted and all(recs[r] for r in wanted)
        assert all(item["category"] == pred[r]["label"] for r in wanted for item in recs[r])
    else:
        # female + unisex, in stock, ranked by cosine: the near one first; no male, no stock-0 item.
        assert [r["sku"] for r in recs["upper"]] == ["UP-NEAR", "UP-FAR"]
        assert [r["sku"] for r in recs["lower"]] == ["SK-1"] and recs["whole"] == []
        assert record["colours"]["upper"] == {"name": "navy", "hex": "#1f2a44"}
        assert recs["upper"][0]["price"] == 29.9 and recs["upper"][0]["currency"] == "EUR"


def test_transient_error_is_retried(stack, functions, sample_photos):
    calls = wrap(functions["ClassifyFunction"], Calls(fail_first=stages.TransientError("throttled, try again")))
    record = stack.wait(stack.upload(sample_photos[0]), timeout=90)
    assert record["status"] == "DONE", record
    assert calls.count == 2


def test_permanent_error_is_recorded_failed_without_retry(stack, functions, sample_photos):
    calls = wrap(functions["RecommendFunction"], Calls(fail_always=ValueError("inventory item without a price")))
    record = stack.wait(stack.upload(sample_photos[1]), timeout=90)
    assert record["status"] == "FAILED"
    assert record["message"] == "ValueError: inventory item without a price" and record["error"] == "ValueError"
    assert calls.count == 1


def test_nobody_in_the_photo_is_no_person_not_a_failure(stack, functions):
    classify = wrap(functions["ClassifyFunction"], Calls())
    # A real photo-sized picture with nobody in it: a smooth sky-to-grass gradient.
    rows = np.linspace(0, 1, 480)[:, None, None]
    rgb = ((1 - rows) * np.array([135, 180, 235]) + rows * np.array([60, 130, 60])).repeat(640, axis=1)
    record = stack.wait(stack.upload(jpeg(rgb.astype(np.uint8)), ".jpg"), timeout=90)
    assert record["status"] == "NO_PERSON"
    assert record["message"] == stages.NO_PERSON_MESSAGE and record["predictions"]["person"] is False
    assert record["recommendations"] == {"upper": [], "lower": [], "whole": []}
    assert classify.count == 0


@pytest.mark.skipif(not REAL_CLASSIFY, reason="needs the real garment model and its upper-body check")
@pytest.mark.parametrize("photo, lower", [("ccp_1065 thighs down", "jeans"), ("LM-PA-024", None)])
def test_a_skeleton_without_an_upper_body_gives_the_lower_garment_alone_or_no_person(stack, functions, sample_photos,
                                                                                   photo, lower):
    """BlazePose makes up a skeleton in the legs of ccp_1065 cut below the thighs, and in a product
    photo of trousers (demo catalog); Classify's upper-body check finds both made up. In the legs
    the lower garment reads surely: the record is DONE with the jeans alone and items for them,
    of any gender. The product photo shows no one: NO_PERSON, with its message and no
    recommendations."""
    from lookmatch.evaluation import framed
    from lookmatch.images import load_image

    if lower is None:
        upload = (REPO_ROOT / "samples" / "catalog" / "images" / f"{photo}.jpg").read_bytes()
    else:
        rgb = load_image(next(p for p in sample_photos if p.stem == photo.split()[0]))
        upload = jpeg(framed(rgb, np.array(pipeline.read_pose(rgb).landmarks), photo.split(" ", 1)[1]))
    photo_id = stack.upload(upload, ".jpg")
    record = stack.wait(photo_id, timeout=90)
    pose = pipeline.PoseReading.model_validate_json(stack.get_bytes(f"derived/{photo_id}/pose.json"))
    assert pose.person, "the pose found nobody: no made-up skeleton to catch"
    predictions = record["predictions"]
    assert [predictions[k] for k in ("gender", "upper", "whole")] == [None] * 3
    if lower is None:
        assert record["status"] == "NO_PERSON" and record["message"] == stages.NO_PERSON_MESSAGE
        assert predictions["person"] is False and predictions["lower"] is None
        assert record["recommendations"] == {"upper": [], "lower": [], "whole": []}
    else:
        assert record["status"] == "DONE" and predictions["person"] is True
        assert predictions["lower"]["label"] == lower
        recommended = record["recommendations"]
        assert recommended["upper"] == recommended["whole"] == [] and recommended["lower"]
        assert {item["category"] for item in recommended["lower"]} == {lower}


@pytest.mark.parametrize("data, reason", [
    (b"GIF89a this is not a photo at all", "BadImage: not an image"),
    (b"\xff\xd8\xff" + bytes(stages.MAX_UPLOAD_BYTES), "BadUpload: file too large"),
], ids=["not-an-image", "too-large"])
def test_bad_file_is_failed_with_a_clear_reason_and_not_retried(stack, functions, data, reason):
    pose = wrap(functions["PoseFunction"], Calls())
    record = stack.wait(stack.upload(data, ".jpg"), timeout=60)
    assert record["status"] == "FAILED"
    assert record["message"].startswith(reason), record["message"]
    assert pose.count == 1


def test_nothing_is_left_processing(stack):
    import boto3

    # Runs after the others (file order): every photo reached a final status, every execution ended.
    items = boto3.resource("dynamodb").Table(stack.results_table).scan()["Items"]
    assert len(items) >= 5
    assert {i["status"] for i in items} <= {"DONE", "NO_PERSON", "FAILED"}
    # The record is final before the execution's last state (Succeed / Fail) is reached: give it a moment.
    deadline = time.monotonic() + 20
    while any(e["status"] == "RUNNING" for e in stack.executions()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(e["status"] in ("SUCCEEDED", "FAILED") for e in stack.executions())


def test_every_aws_call_of_every_function_is_allowed_by_its_own_role(stack):
    """Least privilege, checked on what the functions really did: each AWS call recorded during
    the runs above (and two API requests) must be allowed by that function's role in the template,
    and no role grants wildcards (test_template.py)."""
    import fnmatch

    import boto3

    from lookmatch.commands.serve import rest_proxy_event
    from lookmatch.local_stack import AWS_CALLS, REGION

    api = stack.function("ApiFunction")
    created = api(rest_proxy_event("POST", "/uploads", {"Content-Type": "application/json"},
                                   b'{"content_type": "image/png"}'))
    assert created["statusCode"] == 201
    photo_id = __import__("json").loads(created["body"])["photo_id"]
    assert api(rest_proxy_event("GET", f"/recommendations/{photo_id}", {}, None))["statusCode"] == 200
    # A finished record: the API presigns GET URLs (annotated picture, item photos) with its role.
    done = next(i["photo_id"] for i in boto3.resource("dynamodb").Table(stack.results_table).scan()["Items"]
                if i["status"] == "DONE")
    assert api(rest_proxy_event("GET", f"/recommendations/{done}", {}, None))["statusCode"] == 200

    account = boto3.client("sts").get_caller_identity()["Account"]
    refs = dict(stack.resources)
    arns = {"UploadsBucket": f"arn:aws:s3:::{stack.bucket}"}
    for logical in ("InventoryTable", "ResultsTable"):
        arns[logical] = f"arn:aws:dynamodb:{REGION}:{account}:table/{refs[logical]}"

    def resolve(value):
        if isinstance(value, str):
            return value
        if "Fn::GetAtt" in value:
            return arns[value["Fn::GetAtt"][0]]
        if "Ref" in value:
            return refs[value["Ref"]]
        text = value["Fn::Sub"]
        for logical, arn in arns.items():
            text = text.replace(f"${{{logical}.Arn}}", arn)
        return text

    def resource_arn(action, params):
        if action.startswith("s3:"):
            return f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if "Key" in params else "")
        arn = f"arn:aws:dynamodb:{REGION}:{account}:table/{params['TableName']}"
        return arn + (f"/index/{params['IndexName']}" if "IndexName" in params else "")

    logical_of = {physical: logical for logical, physical in refs.items()}
    seen = set()
    for physical, action, params in AWS_CALLS:
        function = logical_of[physical]
        seen.add(function)
        role = stack.cfn["Resources"][f"{function}Role"]["Properties"]
        statements = [st for policy in role.get("Policies", []) for st in policy["PolicyDocument"]["Statement"]]
        arn = resource_arn(action, params)
        allowed = any(
            st["Effect"] == "Allow"
            and any(fnmatch.fnmatch(action, a) for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))
            and any(fnmatch.fnmatch(arn, resolve(r)) for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]))
            for st in statements)
        assert allowed, f"{function} called {action} on {arn}, which its role does not allow"
    assert seen == {"PoseFunction", "ClassifyFunction", "RecommendFunction", "RecordFailureFunction", "ApiFunction"}
