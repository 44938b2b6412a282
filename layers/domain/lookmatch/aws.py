"""The boto3 adapters: S3 uploads bucket, Results table, Inventory table, and the Settings.

The only module of the package that imports boto3. The endpoint comes from the standard AWS
environment (`AWS_ENDPOINT_URL`, region, credentials), so the same code talks to AWS or to the
embedded local stack (moto server) unchanged. Throttling and server-side errors are raised as
`TransientError` (the state machine retries those); everything else propagates as it is.
"""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, wraps
from typing import Any

import boto3
import numpy as np
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError
from pydantic import BaseModel, ConfigDict, Field

from .contract import Colour
from .inventory import InventoryItem, gender_category
from .stages import RESULT_TTL_SECONDS, TransientError

# Error codes that mean "try again later", not "this request is wrong".
TRANSIENT_CODES = {
    "ThrottlingException", "Throttling", "ProvisionedThroughputExceededException",
    "RequestLimitExceeded", "SlowDown", "InternalError", "InternalServerError",
    "ServiceUnavailable", "TransactionInProgressException",
}


class Settings(BaseModel):
    """The functions' environment, parsed once (see infra/template.yaml, Globals)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)
    uploads_bucket: str = Field(alias="UPLOADS_BUCKET", min_length=3)
    inventory_table: str = Field(alias="INVENTORY_TABLE", min_length=3)
    results_table: str = Field(alias="RESULTS_TABLE", min_length=3)
    service_name: str = Field("lookmatch", alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field("LookMatch", alias="POWERTOOLS_METRICS_NAMESPACE")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        missing = [name for name in ("UPLOADS_BUCKET", "INVENTORY_TABLE", "RESULTS_TABLE")
                   if not environ.get(name)]
        if missing:
            raise RuntimeError(f"environment variable(s) {', '.join(missing)} not set: "
                               "the stack's functions get them from infra/template.yaml")
        return cls.model_validate({k: v for k, v in environ.items() if k.isupper()})


@cache
def settings() -> Settings:
    return Settings.from_env()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _transient_on_throttle(method):
    """Re-raise throttling / 5xx / connection failures as TransientError (retried by the workflow)."""

    @wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in TRANSIENT_CODES or status >= 500:
                raise TransientError(f"{code or status}: {err}") from err
            raise
        except BotoConnectionError as err:
            raise TransientError(f"cannot reach AWS: {err}") from err

    return wrapper


def to_dynamo(value: Any) -> Any:
    """JSON-like data -> what DynamoDB accepts (floats as Decimal)."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """DynamoDB's Decimals back to int / float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


# --- S3 -------------------------------------------------------------------------------------------
class S3Store:
    """Objects of one bucket, by key."""

    def __init__(self, bucket: str | None = None, client: Any = None):
        self.bucket = bucket or settings().uploads_bucket
        # SigV4: presigned URLs and POST policies signed with SigV2 are refused by newer regions.
        self.client = client or boto3.client("s3", config=Config(signature_version="s3v4"))

    @_transient_on_throttle
    def get_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    @_transient_on_throttle
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    # The API's needs (lookmatch.api): presigned browser upload and download.
    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> dict:
        """{url, fields} of an S3 POST limited to this key, this exact type and 1..max_bytes."""
        return self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in)

    def presigned_url(self, key: str, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in)


# --- Results table --------------------------------------------------------------------------------
class ResultsTable:
    """One record per photo: status PENDING -> PROCESSING -> DONE / NO_PERSON / FAILED."""

    def __init__(self, name: str | None = None, resource: Any = None):
        self.table = (resource or boto3.resource("dynamodb")).Table(name or settings().results_table)

    @_transient_on_throttle
    def update(self, photo_id: str, **fields: Any) -> None:
        """Set `fields` (and updated_at); creates the record with created_at and ttl if absent."""
        now = now_iso()
        values = {"updated_at": now, **fields}
        names = {f"#{k}": k for k in values}
        names.update({"#created_at": "created_at", "#ttl": "ttl"})
        expr_values = {f":{k}": to_dynamo(v) for k, v in values.items()}
        expr_values.update({":created_at": now, ":ttl": int(time.time()) + RESULT_TTL_SECONDS})
        sets = [f"#{k} = :{k}" for k in values]
        sets += ["#created_at = if_not_exists(#created_at, :created_at)",
                 "#ttl = if_not_exists(#ttl, :ttl)"]
        self.table.update_item(Key={"photo_id": photo_id}, UpdateExpression="SET " + ", ".join(sets),
                               ExpressionAttributeNames=names, ExpressionAttributeValues=expr_values)

    @_transient_on_throttle
    def get(self, photo_id: str) -> dict | None:
        item = self.table.get_item(Key={"photo_id": photo_id}, ConsistentRead=True).get("Item")
        return from_dynamo(item) if item else None


# --- Inventory table ------------------------------------------------------------------------------
INVENTORY_INDEX = "ByGenderCategory"


def embedding_to_bytes(embedding: list[float] | np.ndarray) -> bytes:
    return np.asarray(embedding, dtype="<f4").tobytes()


def embedding_from_bytes(data: bytes) -> list[float]:
    return np.frombuffer(bytes(data), dtype="<f4").astype(float).tolist()


class InventoryTable:
    """Items by sku; the GSI ByGenderCategory answers "in-stock items of this gender and category"."""

    def __init__(self, name: str | None = None, resource: Any = None):
        self.table = (resource or boto3.resource("dynamodb")).Table(name or settings().inventory_table)

    @_transient_on_throttle
    def put_item(self, item: InventoryItem) -> None:
        self.table.put_item(Item=_record(item))

    @_transient_on_throttle
    def put_items(self, items: list[InventoryItem]) -> None:
        """Many items in 25-item batches (the catalog import; unprocessed items are retried)."""
        with self.table.batch_writer(overwrite_by_pkeys=["sku"]) as batch:
            for item in items:
                batch.put_item(Item=_record(item))

    @_transient_on_throttle
    def in_stock(self, gender: str | None, category: str) -> list[InventoryItem]:
        """Items of `category` for `gender` or unisex (any gender when None), stock > 0."""
        genders = ("female", "male", "unisex") if gender is None else (gender, "unisex")
        items = []
        for g in genders:
            kwargs = {"IndexName": INVENTORY_INDEX,
                      "KeyConditionExpression": Key("gender_category").eq(gender_category(g, category)),
                      "FilterExpression": Attr("stock").gt(0)}
            while True:
                page = self.table.query(**kwargs)
                items += [_item(raw) for raw in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items


def _record(item: InventoryItem) -> dict:
    return {"sku": item.sku, "name": item.name, "category": item.category, "gender": item.gender,
            "price": item.price, "currency": item.currency, "stock": item.stock,
            "image_key": item.image_key, "embedding": embedding_to_bytes(item.embedding),
            "colour_hex": item.colour.hex, "colour_name": item.colour.name,
            "gender_category": item.gender_category,
            **({"embedding_model": item.embedding_model} if item.embedding_model else {})}


def _item(raw: dict) -> InventoryItem:
    embedding = raw["embedding"]
    return InventoryItem(
        sku=raw["sku"], name=raw["name"], category=raw["category"], gender=raw["gender"],
        price=raw["price"], currency=raw["currency"], stock=int(raw["stock"]),
        image_key=raw["image_key"],
        embedding=embedding_from_bytes(getattr(embedding, "value", embedding)),
        colour=Colour(name=raw["colour_name"], hex=raw["colour_hex"]),
        embedding_model=raw.get("embedding_model"),
    )
