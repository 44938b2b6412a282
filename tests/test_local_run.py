"""`lookmatch run` and `lookmatch serve` on the embedded local stack."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
import requests

from lookmatch import cli
from lookmatch.commands.run import summary
from lookmatch.commands.serve import make_handler, rest_proxy_event
from lookmatch.config import REPO_ROOT
from lookmatch.local_stack import FINAL_STATUSES, LocalStack

SAMPLE = REPO_ROOT / "samples" / "photos" / "ccp_1065.jpg"


def test_summary_is_readable():
    record = {
        "photo_id": "p1", "status": "DONE", "message": "2 matching item(s) found", "people_count": 1,
        "predictions": {"image": "p1.jpg", "person": True, "gender": {"label": "female", "score": 0.97},
                        "upper": {"label": "outerwear", "score": 0.81}, "lower": None,
                        "whole": {"label": "separates", "score": 0.9}},
        "colours": {"upper": {"name": "navy", "hex": "#1f2a44"}},
        "recommendations": {"upper": [{"sku": "OUT-1", "name": "Wool coat", "category": "outerwear",
                                       "gender": "female", "price": 89.0, "currency": "EUR",
                                       "image_key": "inventory/OUT-1.jpg", "score": 0.8123}],
                            "lower": [], "whole": []},
    }
    text = summary(SAMPLE, record, REPO_ROOT / "out" / "p1-annotated.jpg")
    assert "Status     DONE: 2 matching item(s) found" in text
    assert "Upper      outerwear (0.81), colour navy #1f2a44" in text
    assert "Lower      not in the picture" in text
    assert "OUT-1" in text and "89.00 EUR" in text and "p1-annotated.jpg" in text


def test_run_refuses_a_missing_or_unsupported_photo(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "nope.jpg")]) == 2
    gif = tmp_path / "x.gif"
    gif.write_bytes(b"GIF89a")
    assert cli.main(["run", str(gif), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "no such file" in captured.err and "expected a .jpg" in captured.err


def test_rest_proxy_event_is_what_api_gateway_sends():
    event = rest_proxy_event("GET", "/recommendations/abc?x=1&x=2", {"Origin": "http://a"}, None)
    assert event["httpMethod"] == "GET" and event["path"] == "/recommendations/abc"
    assert event["queryStringParameters"] == {"x": "2"} and event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["stage"] == "local" and event["body"] is None
    assert rest_proxy_event("POST", "/uploads", {}, b'{"a": 1}')["body"] == '{"a": 1}'


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The local stack and the serve HTTP server (port 0) in front of the real API handler."""
    web = tmp_path_factory.mktemp("web")
    (web / "index.html").write_text("<!doctype html><title>LookMatch</title>")
    with LocalStack() as stack:
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(stack.function("ApiFunction"), web))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield stack, f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def test_serve_static_page_and_unknown_paths(served):
    _, url = served
    assert "LookMatch" in requests.get(f"{url}/", timeout=10).text
    assert requests.get(f"{url}/index.html", timeout=10).headers["Content-Type"] == "text/html"
    assert requests.get(f"{url}/../../etc/passwd", timeout=10).status_code == 404
    assert requests.get(f"{url}/nothing.js", timeout=10).status_code == 404


def test_serve_api_upload_through_presigned_post_starts_the_workflow(served):
    stack, url = served
    assert requests.get(f"{url}/recommendations/unknown-photo", timeout=10).status_code == 404
    preflight = requests.options(f"{url}/uploads", timeout=10, headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert preflight.headers.get("Access-Control-Allow-Origin")
    bad = requests.post(f"{url}/uploads", json={"content_type": "image/gif"}, timeout=10)
    assert bad.status_code == 422
    slot = requests.post(f"{url}/uploads", json={"content_type": "image/jpeg"}, timeout=10)
    assert slot.status_code == 201, slot.text
    slot = slot.json()
    assert requests.get(f"{url}/recommendations/{slot['photo_id']}", timeout=10).json()["status"] == "PENDING"
    # The browser's step: the file straight to S3 (here moto on loopback), with the policy's fields.
    upload = requests.post(slot["upload"]["url"], data=slot["upload"]["fields"], timeout=30,
                           files={"file": ("photo.jpg", SAMPLE.read_bytes(), "image/jpeg")})
    assert upload.status_code in (200, 201, 204), upload.text
    assert upload.headers.get("Access-Control-Allow-Origin") == "*"  # CORS for the page's origin
    deadline, status = time.monotonic() + 90, "PENDING"
    while time.monotonic() < deadline and status not in FINAL_STATUSES:
        time.sleep(0.2)
        status = requests.get(f"{url}/recommendations/{slot['photo_id']}", timeout=10).json()["status"]
    # S3 -> EventBridge -> Step Functions ran the stages on the uploaded photo.
    assert status in FINAL_STATUSES
    assert stack.get_bytes(f"derived/{slot['photo_id']}/pose.json")


@pytest.mark.slow
def test_lookmatch_run_json_on_a_sample_photo_in_under_a_minute():
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "lookmatch.cli", "run", str(SAMPLE), "--json"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(done.stdout)  # exactly one JSON document, nothing else on stdout
    assert record["status"] == "DONE", record
    assert record["predictions"]["person"] is True
    assert set(record["recommendations"]) == {"upper", "lower", "whole"}
    assert any(record["recommendations"].values())
    assert elapsed < 60, f"lookmatch run took {elapsed:.0f} s"
