"""`lookmatch serve [--port 8000]`: the local stack behind a local HTTP server.

- `POST /uploads`, `GET /recommendations/{photo_id}` (and their CORS preflights) become API
  Gateway REST proxy events for the API function's real handler (functions/api/app.py), as
  API Gateway would send them; its response is written back.
- The browser then POSTs the photo straight to the presigned URL: the moto S3 endpoint on
  loopback (moto answers CORS), and S3 -> EventBridge -> Step Functions runs the workflow.
- Any other GET serves the static page folder `web/` (issue 4) when it exists.
"""
from __future__ import annotations

import mimetypes
import signal
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..config import REPO_ROOT
from .run import add_catalog_arguments, start_stack_with_catalog

WEB_DIR = REPO_ROOT / "web"
API_PREFIXES = ("/uploads", "/recommendations/")


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="the local stack and its API (and web/) on a local port")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add_catalog_arguments(p)
    p.set_defaults(func=serve)


def rest_proxy_event(method: str, raw_path: str, headers: dict[str, str], body: bytes | None,
                     stage: str = "local") -> dict:
    """An API Gateway REST (v1) proxy event, as API Gateway sends it to a Lambda proxy integration."""
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    text = body.decode("utf-8", errors="replace") if body else None
    return {
        "resource": split.path, "path": split.path, "httpMethod": method,
        "headers": dict(headers), "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "resourcePath": split.path, "httpMethod": method, "path": f"/{stage}{split.path}",
            "stage": stage, "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
        },
        "body": text, "isBase64Encoded": False,
    }


def make_handler(api, web_dir: Path):
    """The request handler class: `api(event) -> proxy response dict`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "lookmatch-serve"

        def log_message(self, fmt, *args):  # to stderr, one line per request
            print(f"[serve] {self.address_string()} {fmt % args}", file=sys.stderr)

        def _api(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            event = rest_proxy_event(self.command, self.path, dict(self.headers.items()), body)
            try:
                response = api(event)
            except Exception as exc:  # noqa: BLE001 - API Gateway answers 502 when the function fails
                self._send(502, {"Content-Type": "application/json"},
                           f'{{"message": "the API function failed: {type(exc).__name__}"}}'.encode())
                return
            headers = dict(response.get("headers") or {})
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            payload = response.get("body") or ""
            if response.get("isBase64Encoded"):
                import base64

                data = base64.b64decode(payload)
            else:
                data = payload.encode()
            self._send(int(response.get("statusCode", 200)), headers, data)

        def _static(self) -> None:
            path = urlsplit(self.path).path
            if not web_dir.is_dir():
                # The hook for issue 4: drop the page into web/ and it is served here.
                self._send(404, {"Content-Type": "text/plain"},
                           b"No web/ folder: the API is POST /uploads and GET /recommendations/{photo_id}\n")
                return
            target = (web_dir / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if web_dir.resolve() not in target.parents or not target.is_file():
                self._send(404, {"Content-Type": "text/plain"}, b"not found\n")
                return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(200, {"Content-Type": kind, "Cache-Control": "no-store"}, target.read_bytes())

        def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _route(self) -> None:
            if urlsplit(self.path).path.startswith(API_PREFIXES):
                self._api()
            elif self.command in ("GET", "HEAD"):
                self._static()
            else:
                self._send(405, {"Content-Type": "text/plain"}, b"method not allowed\n")

        do_GET = do_POST = do_OPTIONS = do_HEAD = do_PUT = do_DELETE = _route

    return Handler


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(args) -> int:
    from ..local_stack import log

    stack = start_stack_with_catalog(args)
    try:
        api_function = stack.function("ApiFunction")
        server = ThreadingHTTPServer((args.host, args.port), make_handler(api_function, WEB_DIR))
        host, port = server.server_address[:2]
        log(f"serving http://{host}:{port}/  (API: POST /uploads, GET /recommendations/{{photo_id}}; "
            f"S3 at {stack.endpoint}; web/: {'yes' if WEB_DIR.is_dir() else 'absent'}); Ctrl-C stops")
        # One machine-readable line on stdout for scripts and tests that start the server.
        print(f"LOOKMATCH_SERVE_URL=http://{host}:{port}/", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        stack.stop()
    return 0
