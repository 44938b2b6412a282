"""The API function through API Gateway REST proxy events (events/*.json), against a moto server.

moto accepts any presigned POST without checking its policy, so `s3_enforces_post_policy` makes
the moto server apply S3's POST policy rules (expiration, exact fields, content-length-range):
what the uploads below prove is that the policy we sign is what S3 needs to refuse bad uploads.
"""
from __future__ import annotations

import base64
import importlib.util
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import requests
from moto.s3.responses import S3Response
from moto.server import ThreadedMotoServer
from PIL import Image

from lookmatch.api import MAX_UPLOAD_BYTES

ROOT = Path(__file__).resolve().parents[1]
BUCKET, RESULTS, INVENTORY = "lookmatch-uploads-test", "lookmatch-results-test", "lookmatch-inventory-test"


def api_event(name: str, body: dict | str | None = None, photo_id: str | None = None) -> dict:
    """An API Gateway REST proxy event from events/{name}.json, with another body or photo id."""
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if photo_id is not None:
        event["path"] = f"/recommendations/{photo_id}"
        event["pathParameters"] = {"photo_id": photo_id}
    return event


@pytest.fixture(scope="module")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def handler(moto_server, monkeypatch, create_table_from_template):
    """functions/api/app.py's handler, imported fresh against an empty bucket and Results table."""
    for name, value in {"AWS_ENDPOINT_URL": moto_server, "AWS_DEFAULT_REGION": "eu-west-1",
                        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "UPLOADS_BUCKET": BUCKET, "RESULTS_TABLE": RESULTS, "INVENTORY_TABLE": INVENTORY,
                        "POWERTOOLS_SERVICE_NAME": "lookmatch",
                        "POWERTOOLS_METRICS_NAMESPACE": "LookMatch"}.items():
        monkeypatch.setenv(name, value)
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    boto3.client("s3").create_bucket(Bucket=BUCKET,
                                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    create_table_from_template("ResultsTable", RESULTS)
    from lookmatch import aws

    aws.settings.cache_clear()
    spec = importlib.util.spec_from_file_location("api_app", ROOT / "functions" / "api" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


class Context:
    function_name = "lookmatch-api"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:lookmatch-api"
    aws_request_id = "5b4a1f3e-0000-4000-8000-000000000000"


def call(handler, event) -> tuple[int, dict, dict]:
    response = handler(event, Context())
    return response["statusCode"], json.loads(response["body"]), response.get("multiValueHeaders") or {}


def results_record(photo_id: str) -> dict | None:
    return boto3.resource("dynamodb").Table(RESULTS).get_item(Key={"photo_id": photo_id}).get("Item")


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


# --- POST /uploads --------------------------------------------------------------------------------
@pytest.mark.parametrize("content_type, ext", [("image/jpeg", "jpg"), ("image/png", "png"),
                                               ("image/webp", "webp")])
def test_upload_gives_a_presigned_post_and_a_pending_record(handler, content_type, ext):
    status, body, headers = call(handler, api_event("api_post_uploads", {"content_type": content_type}))
    assert status == 201
    photo_id = body["photo_id"]
    assert len(photo_id) == 32 and body["key"] == f"uploads/{photo_id}.{ext}"
    fields = body["upload"]["fields"]
    assert body["upload"]["url"].endswith(BUCKET) or BUCKET in body["upload"]["url"]
    assert fields["key"] == body["key"] and fields["Content-Type"] == content_type
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"Content-Type": content_type} in policy["conditions"]
    assert {"key": body["key"]} in policy["conditions"]
    assert ["content-length-range", 1, 10 * 1024 * 1024] in policy["conditions"]
    assert body["max_bytes"] == MAX_UPLOAD_BYTES
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= body["expires_in"] + 5
    record = results_record(photo_id)
    assert record["status"] == "PENDING" and record["image_key"] == body["key"]
    assert record["created_at"].endswith("Z") and int(record["ttl"]) > datetime.now(UTC).timestamp()
    assert headers["Access-Control-Allow-Origin"] == ["*"]


@pytest.mark.parametrize("body, where", [
    ({"content_type": "image/gif"}, "content_type"),
    ({"content_type": "image/jpeg", "extra": 1}, "extra"),
    ({}, "content_type"),
])
def test_upload_request_validation(handler, body, where):
    status, answer, _ = call(handler, api_event("api_post_uploads", body))
    assert status == 422
    assert answer["message"].startswith("invalid request:") and where in answer["message"]


def test_upload_request_that_is_not_json(handler):
    status, answer, _ = call(handler, api_event("api_post_uploads", "content_type=image/jpeg"))
    assert (status, answer["message"]) == (422, "invalid request: the body is not valid JSON")
    event = api_event("api_post_uploads")
    event["body"] = None
    status, answer, _ = call(handler, event)
    assert (status, answer["message"]) == (422, "invalid request: a JSON body is required")


# --- the presigned POST itself, against the moto server -------------------------------------------
@pytest.fixture
def s3_enforces_post_policy(monkeypatch):
    """Make moto's S3 check a POST against its signed policy, as S3 does (moto does not)."""
    original = S3Response._bucket_response_post

    def checked(self, request, bucket_name):
        form = {k.lower(): v[0] for k, v in self.querystring.items()}
        if "policy" in form:
            refusal = post_policy_refusal(form, len(self.raw_body or b""), bucket_name)
            if refusal:
                status, code, message = refusal
                return status, {"Content-Type": "application/xml"}, (
                    f"<Error><Code>{code}</Code><Message>{message}</Message></Error>")
        return original(self, request, bucket_name)

    monkeypatch.setattr(S3Response, "_bucket_response_post", checked)


def post_policy_refusal(form: dict, size: int, bucket: str) -> tuple[int, str, str] | None:
    """S3's POST policy rules: (status, code, message) when the upload must be refused."""
    policy = json.loads(base64.b64decode(form["policy"]))
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) < datetime.now(UTC):
        return 403, "AccessDenied", "Invalid according to Policy: Policy expired."
    form = {**form, "bucket": bucket}
    # Not covered by the policy: the signature fields, the file; `bucketname` is moto's own.
    checked = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file", "bucket", "bucketname"}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            (field, value), = condition.items()
            condition = ["eq", f"${field}", value]
        op, *args = condition
        if op == "content-length-range":
            if not args[0] <= size <= args[1]:
                code = "EntityTooLarge" if size > args[1] else "EntityTooSmall"
                return 400, code, f"Your proposed upload size {size} is outside {args[0]}..{args[1]}"
            continue
        field, value = args[0].lstrip("$").lower(), args[1]
        checked.add(field)
        got = form.get(field)
        if got is None or (got != value if op == "eq" else not got.startswith(value)):
            return 403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
    extra = set(form) - checked
    if extra:
        return 403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {sorted(extra)}"
    return None


def presigned_upload(handler, content_type="image/jpeg") -> dict:
    status, body, _ = call(handler, api_event("api_post_uploads", {"content_type": content_type}))
    assert status == 201
    return body


def post_file(upload: dict, data: bytes, fields: dict | None = None) -> requests.Response:
    return requests.post(upload["url"], data=fields or upload["fields"],
                         files={"file": ("photo", data)}, timeout=30)


def test_presigned_post_upload_is_accepted(handler, s3_enforces_post_policy):
    body = presigned_upload(handler)
    data = jpeg_bytes()
    answer = post_file(body["upload"], data)
    assert answer.status_code == 204, answer.text
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=body["key"])
    assert stored["Body"].read() == data


def test_presigned_post_refuses_an_oversize_file(handler, s3_enforces_post_policy):
    body = presigned_upload(handler)
    answer = post_file(body["upload"], b"\xff\xd8\xff" + b"0" * MAX_UPLOAD_BYTES)
    assert answer.status_code == 400 and "EntityTooLarge" in answer.text
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)


def test_presigned_post_refuses_another_type_or_key(handler, s3_enforces_post_policy):
    body = presigned_upload(handler)
    for change in ({"Content-Type": "text/html"}, {"key": "uploads/someone-else.jpg"}):
        answer = post_file(body["upload"], jpeg_bytes(), {**body["upload"]["fields"], **change})
        assert answer.status_code == 403 and "Policy Condition failed" in answer.text
    assert post_file(body["upload"], b"").status_code == 400
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)


# --- GET /recommendations/{photo_id} --------------------------------------------------------------
def test_unknown_photo_is_404(handler):
    status, answer, _ = call(handler, api_event("api_get_recommendations"))
    assert status == 404 and "0123456789abcdef0123456789abcdef" in answer["message"]


def test_malformed_photo_id_is_400(handler):
    status, answer, _ = call(handler, api_event("api_get_recommendations", photo_id="..%2F..%2Fetc"))
    assert status == 400 and "photo_id" in answer["message"]


def test_pending_record_after_upload(handler):
    photo_id = presigned_upload(handler)["photo_id"]
    status, answer, _ = call(handler, api_event("api_get_recommendations", photo_id=photo_id))
    assert status == 200
    assert answer["status"] == "PENDING" and answer["photo_id"] == photo_id
    assert answer["recommendations"] == {"upper": [], "lower": [], "whole": []}
    assert "ttl" not in answer


def test_done_record_with_predictions_recommendations_and_urls(handler):
    from lookmatch.aws import ResultsTable

    item = {"sku": "LM-0001", "name": "Red skirt", "category": "skirt", "gender": "female",
            "price": 29.9, "currency": "EUR", "image_key": "inventory/LM-0001.jpg", "score": 0.8731}
    predictions = {"image": "x.jpg", "person": True, "gender": {"label": "female", "score": 0.97},
                   "upper": {"label": "top", "score": 0.7}, "lower": {"label": "skirt", "score": 0.66},
                   "whole": {"label": "separates", "score": 0.9}}
    ResultsTable().update("done1", status="DONE", stage="done", message="ok", predictions=predictions, people_count=1,
                          annotated_key="derived/done1/annotated.jpg",
                          colours={"lower": {"name": "red", "hex": "#c02020"}},
                          recommendations={"upper": [], "lower": [item], "whole": []})
    status, answer, _ = call(handler, api_event("api_get_recommendations", photo_id="done1"))
    assert status == 200 and (answer["status"], answer["stage"]) == ("DONE", "done")
    assert answer["predictions"] == predictions and answer["people_count"] == 1
    got = answer["recommendations"]["lower"][0]
    assert {k: got[k] for k in item} == item
    assert "inventory/LM-0001.jpg" in got["image_url"] and "Signature" in got["image_url"]
    assert "derived/done1/annotated.jpg" in answer["annotated_url"]


def test_unknown_route_is_404(handler):
    event = api_event("api_get_recommendations")
    event["path"] = event["resource"] = "/nothing"
    status, _, _ = call(handler, event)
    assert status == 404


def test_cors_preflight(handler):
    event = api_event("api_post_uploads")
    event["httpMethod"] = "OPTIONS"
    event["body"] = None
    response = handler(event, Context())
    assert response["statusCode"] == 204
    headers = response["multiValueHeaders"]
    assert headers["Access-Control-Allow-Origin"] == ["*"]
    assert "POST" in headers["Access-Control-Allow-Methods"][0]


def test_each_response_publishes_a_metric(handler, capsys):
    capsys.readouterr()
    call(handler, api_event("api_post_uploads"))
    call(handler, api_event("api_post_uploads", {"content_type": "text/plain"}))
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    names = [m["Name"] for doc in emf for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert names == ["UploadsRequested", "ClientErrors"]
    assert all(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LookMatch" for doc in emf)


def test_throttled_storage_is_a_503_to_retry():
    from lookmatch.api import build_app
    from lookmatch.stages import TransientError

    class Busy:
        def get(self, photo_id):
            raise TransientError("ProvisionedThroughputExceededException")

    response = build_app(store=None, results=Busy()).resolve(api_event("api_get_recommendations"), Context())
    assert response["statusCode"] == 503 and response["multiValueHeaders"]["Retry-After"] == ["2"]
    assert "try again" in json.loads(response["body"])["message"]


def test_failed_record_says_why(handler):
    from lookmatch.aws import ResultsTable

    ResultsTable().update("bad1", status="FAILED", stage="done", error="BadImage",
                          message="not an image: unrecognised format (12 bytes)")
    status, answer, _ = call(handler, api_event("api_get_recommendations", photo_id="bad1"))
    assert status == 200
    assert (answer["status"], answer["error"], answer["message"]) == (
        "FAILED", "BadImage", "not an image: unrecognised format (12 bytes)")
    assert answer["annotated_url"] is None and answer["recommendations"]["upper"] == []
