"""The shoppers' API: ask for an upload, then read the photo's status and recommendations.

- `POST /uploads` {"content_type": "image/jpeg" | "image/png" | "image/webp"} -> 201
  {photo_id, key, upload: {url, fields}, expires_in, max_bytes}: a presigned S3 POST whose policy
  pins the exact key `uploads/{photo_id}.{ext}`, the exact Content-Type and a size of 1 byte to
  10 MB (S3 itself refuses anything else), and the photo's record is written as PENDING.
  The client POSTs `fields` plus the file (last) as multipart/form-data to `url`.
- `GET /recommendations/{photo_id}` -> 200 the Results record (status, predictions, colours,
  recommendations, ...) with short-lived GET URLs for the annotated picture and item photos;
  404 when the id is unknown.
Errors are JSON {"statusCode": ..., "message": ...}: 400 for a malformed id, 422 for a body that
does not validate, 503 (with Retry-After) when storage is throttled or unreachable.

The resolver is built here over two ports (the boto3 adapters of `lookmatch.aws` in the Lambda,
fakes or moto in tests), so `functions/api/app.py` stays a few lines and `lookmatch serve` can
feed the same handler.
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Literal, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from .stages import MAX_UPLOAD_BYTES, TransientError

UPLOAD_EXPIRES_SECONDS = 300
DOWNLOAD_EXPIRES_SECONDS = 900
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# Photo ids are ours (uuid4 hex) or, for photos dropped straight into the bucket, the key's stem
# (stages.UPLOAD_KEY accepts the same).
PHOTO_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: Literal["image/jpeg", "image/png", "image/webp"]


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class UploadResponse(BaseModel):
    photo_id: str
    key: str
    upload: PresignedPost
    expires_in: int
    max_bytes: int


class RecommendedItem(BaseModel):
    sku: str
    name: str
    category: str
    gender: str
    price: float
    currency: str
    image_key: str
    image_url: str | None = None
    score: float


class RecommendationsResponse(BaseModel):
    """The Results record as the shopper sees it (internal fields such as ttl left out)."""

    photo_id: str
    status: Literal["PENDING", "PROCESSING", "DONE", "NO_PERSON", "FAILED"]
    stage: str | None = None  # where the workflow is: pose, classify, recommend, done
    message: str | None = None
    error: str | None = None  # FAILED: the error's name (the message says why)
    created_at: str | None = None
    updated_at: str | None = None
    image_key: str | None = None
    annotated_key: str | None = None
    annotated_url: str | None = None
    people_count: int | None = None
    predictions: dict[str, Any] | None = None
    colours: dict[str, Any] | None = None
    recommendations: dict[str, list[RecommendedItem]] = Field(
        default_factory=lambda: {"upper": [], "lower": [], "whole": []})


class UploadSigner(Protocol):
    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict: ...

    def presigned_url(self, key: str, expires_in: int) -> str: ...


class ResultsStore(Protocol):
    def update(self, photo_id: str, **fields: Any) -> None: ...

    def get(self, photo_id: str) -> dict | None: ...


def upload_key(photo_id: str, content_type: str) -> str:
    return f"uploads/{photo_id}.{EXTENSIONS[content_type]}"


def create_upload(request: UploadRequest, store: UploadSigner, results: ResultsStore) -> UploadResponse:
    photo_id = uuid.uuid4().hex
    key = upload_key(photo_id, request.content_type)
    post = store.presigned_post(key, request.content_type, MAX_UPLOAD_BYTES, UPLOAD_EXPIRES_SECONDS)
    # PENDING before the client can upload, so the workflow always finds the record.
    results.update(photo_id, status="PENDING", message="waiting for the upload", image_key=key)
    return UploadResponse(photo_id=photo_id, key=key, upload=PresignedPost(**post),
                          expires_in=UPLOAD_EXPIRES_SECONDS, max_bytes=MAX_UPLOAD_BYTES)


def get_recommendations(photo_id: str, store: UploadSigner, results: ResultsStore) -> RecommendationsResponse:
    if not PHOTO_ID.match(photo_id):
        raise BadRequestError("photo_id must be 1-64 letters, digits, '-' or '_'")
    record = results.get(photo_id)
    if record is None:
        raise NotFoundError(f"no photo with id {photo_id}")
    record = {k: v for k, v in record.items() if k in RecommendationsResponse.model_fields}
    record["photo_id"] = photo_id
    if record.get("annotated_key"):
        record["annotated_url"] = store.presigned_url(record["annotated_key"], DOWNLOAD_EXPIRES_SECONDS)
    for items in (record.get("recommendations") or {}).values():
        for item in items:
            item["image_url"] = store.presigned_url(item["image_key"], DOWNLOAD_EXPIRES_SECONDS)
    return RecommendationsResponse.model_validate(record)


def build_app(store: UploadSigner, results: ResultsStore, allow_origin: str = "*") -> APIGatewayRestResolver:
    """The API's resolver over these ports (routes, CORS, validation, JSON errors)."""
    app = APIGatewayRestResolver(cors=CORSConfig(allow_origin=allow_origin, max_age=300),
                                 enable_validation=True)

    @app.post("/uploads")
    def post_upload(request: UploadRequest) -> Response[UploadResponse]:
        return Response(status_code=201, content_type="application/json",
                        body=create_upload(request, store, results))

    @app.get("/recommendations/<photo_id>")
    def get_record(photo_id: str) -> RecommendationsResponse:
        return get_recommendations(photo_id, store, results)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        problems = "; ".join(_problem(e) for e in error.errors())
        return Response(status_code=422, content_type="application/json",
                        body={"statusCode": 422, "message": f"invalid request: {problems}"})

    @app.exception_handler(TransientError)
    def busy(error: TransientError) -> Response:
        # Throttled or unreachable storage: the client may retry (the workflow itself is unaffected).
        return Response(status_code=503, content_type="application/json", headers={"Retry-After": "2"},
                        body={"statusCode": 503, "message": "the service is busy, try again in a moment"})

    return app


def _problem(error: dict) -> str:
    # Powertools locates body errors as ("body", field...); a bad or missing body has no field.
    where = ".".join(str(p) for p in error.get("loc", ())[1:])
    if error.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if not where:
        return "a JSON body is required" if error.get("type") == "missing" else str(error.get("msg"))
    return f"{where}: {error.get('msg')}"
