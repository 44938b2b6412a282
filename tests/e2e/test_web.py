"""The shoppers' page (web/) in a real headless Chromium against `lookmatch serve` (issue 4).

Starts `lookmatch serve` on a free loopback port (the embedded local stack: moto, the real
handlers and models, the demo catalog), then runs tests/e2e/drive.mjs (playwright-core driving
Debian's /usr/bin/chromium; no browser is downloaded) which uploads a sample photo through the
page and reports what the page showed. Needs: `apt-get install -y chromium` and
`npm ci --prefix tests/e2e` (.ci/run does both). Skips only when Chromium is absent.
The screenshot of the run lands in out/e2e/ (git-ignored).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
E2E = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PHOTO = ROOT / "samples" / "photos" / "ccp_1065.jpg"
OUT = ROOT / "out" / "e2e"
SERVE_START_SECONDS = 120
REGION_TITLES = {"upper": "Upper body", "lower": "Lower body", "whole": "Whole body"}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Base URL of a running `lookmatch serve`; stopped (with its children) after the module."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    lookmatch = Path(sys.executable).with_name("lookmatch")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(lookmatch), "serve", "--port", str(port)], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc, log_path)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until_up(base: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVE_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`lookmatch serve` exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base}/", timeout=2) as response:
                if b"LookMatch" in response.read():
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"`lookmatch serve` did not serve web/ within {SERVE_START_SECONDS} s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def drive(base: str) -> dict:
    """Run the browser script; returns what the page showed (see drive.mjs)."""
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is not installed: run `npm ci --prefix tests/e2e`")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Debian: apt-get install -y nodejs npm)")
    OUT.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [node, str(E2E / "drive.mjs"), "--base", base, "--photo", str(PHOTO), "--chromium", CHROMIUM,
         "--screenshot", str(OUT / "screenshot.png"), "--phone-screenshot", str(OUT / "phone.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    if done.returncode != 0:
        pytest.fail(f"drive.mjs failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def expected_regions(predictions: dict) -> dict[str, str]:
    """Region -> category the cards must have (issue 3: a dress or jumpsuit -> whole only)."""
    whole = predictions.get("whole")
    if whole and whole["label"] in ("dress", "jumpsuit"):
        return {"whole": whole["label"]}
    return {region: predictions[region]["label"] for region in ("upper", "lower") if predictions.get(region)}


def test_page_reads_a_photo_and_reports_every_error(served):
    seen = drive(served)
    (OUT / "seen.json").write_text(json.dumps(seen, indent=1))  # what the page showed, for a look

    # Run 1: the sample photo through the whole stack.
    assert seen["error"] is None, f"the page showed an error for {PHOTO.name}: {seen['error']}"
    assert seen["console_errors_run1"] == []
    record = seen["record_run1"]
    assert record["status"] == "DONE"
    assert seen["annotated_loaded"], "the annotated picture did not load"
    predictions = record["predictions"]
    wanted = expected_regions(predictions)
    assert wanted, f"no garment region predicted for {PHOTO.name}: {predictions}"
    shown = {region["title"]: region["cards"] for region in seen["regions"]}
    for region, category in wanted.items():
        title = f"{REGION_TITLES[region]}: {category}"
        assert shown.get(title), f"no cards under {title!r}; the page showed {list(shown)}"
        for card in shown[title]:
            assert card["meta"].startswith(f"{category} ·"), card
            assert card["image_loaded"] and card["alt"] == card["name"], card
            assert card["match"].startswith("Match score ") and card["price"], card
    assert set(shown) == {f"{REGION_TITLES[r]}: {c}" for r, c in wanted.items()}
    gender = predictions.get("gender")
    if gender:
        assert seen["reading"]["Gender"][0] == gender["label"]
    assert seen["focused"] == "results-title"
    assert seen["phone_overflow"] is False, "the page scrolls sideways on a 390 px wide screen"
    assert (OUT / "screenshot.png").stat().st_size > 10_000

    # Run 2: "Try another photo" by keyboard, then a text file named .jpg: refused on the page.
    assert seen["again_focus"] == "choose"
    assert "is not an image we can read" in seen["bad_file_error"]
    # Run 3: a real image with nobody in it: the workflow's NO_PERSON message.
    assert seen["nobody_error"] and "Nobody was found" in seen["nobody_error"]
    # Run 4: a corrupt JPEG gets through the page's check; the workflow records FAILED and why.
    assert seen["failed_error"] and seen["failed_error"].startswith("We could not read this photo: "), \
        seen["failed_error"]
    # Run 5: too large, refused before uploading.
    assert "is too large (10.1 MB): the limit is 10 MB" in seen["too_large_error"]
    # Run 6: the API cannot be reached.
    assert "cannot be reached" in seen["unreachable_error"]
